"""Export a trained checkpoint to ONNX fp32 (dynamic batch) and int8 (static, QDQ, per-channel).

Both files are checked against the torch model on real images (top-1 agreement, largest
probability difference), and the model card is written beside them.
"""

from __future__ import annotations

import hashlib
import logging
from pathlib import Path

import numpy as np
import onnx
import torch

from ..i18n import LANGUAGES
from ..labels import CATALOGUE
from ..model_card import InputSpec, ModelCard
from ..vision.classifier import DOMAIN_OUTPUT, OUTPUT_NAME, SKIN_OUTPUT, OnnxClassifier, softmax
from ..vision.preprocess import center_batch
from .cam import add_cam_output
from .collection import NONLESION
from .data import Sample, load_rgb
from .heads import MISSED_SKIN, Photos, add_linear_output, fit_domain_calibration, fit_skin_head
from .quantize import INPUT_NAME, quantize_int8
from .train import load_checkpoint

log = logging.getLogger(__name__)


def export_fp32(model: torch.nn.Module, size: int, path: Path) -> None:
    """ONNX with a dynamic batch axis; one self-contained file."""
    dummy = torch.zeros(1, 3, size, size)
    torch.onnx.export(model, (dummy,), str(path), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME],
                      dynamic_axes={INPUT_NAME: {0: "batch"}, OUTPUT_NAME: {0: "batch"}},
                      dynamo=False, opset_version=17)
    onnx.checker.check_model(str(path))


def compare(model: torch.nn.Module, clf: OnnxClassifier, images: list[np.ndarray], temperature: float) -> dict:
    """Top-1 agreement and largest probability difference between torch and an ONNX file."""
    x = center_batch(images, clf.spec)
    with torch.no_grad():
        p_torch = softmax(model(torch.from_numpy(x)).numpy(), temperature)
    p_onnx = np.concatenate([softmax(clf.logits(x[i:i + 64]), temperature) for i in range(0, len(x), 64)])
    return {"images": len(images),
            "top1_agreement": float((p_torch.argmax(1) == p_onnx.argmax(1)).mean()),
            "max_prob_diff": float(np.abs(p_torch - p_onnx).max())}


def card_classes(codes: list[str]) -> list[str | dict]:
    """Catalogue codes (and the reject class) stay codes; a user's own classes get an entry to edit
    (names, malignancy)."""
    return [c if c in CATALOGUE or c == NONLESION else
            {"code": c, "can_be_malignant": False, "names": dict.fromkeys(LANGUAGES, c)} for c in codes]


def sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()


def export_images(samples: list[Sample], split: dict[str, str], calibration_images: int = 300,
                  check_images: int = 1000) -> tuple[list[Sample], list[Sample], list[Sample]]:
    """(int8 calibration images, validation images for the export check, images to check quantisation on).

    Calibration takes every n-th training image; agreement while choosing which layers stay float is
    checked on *other* training images, never on validation or test images."""
    train = [s for s in samples if split[str(s.path)] == "train"]
    val = [s for s in samples if split[str(s.path)] == "val"]
    calibration = train[::max(1, len(train) // calibration_images)][:calibration_images]
    chosen = set(calibration)
    quant_check = [s for s in train if s not in chosen][1::max(1, len(train) // check_images)][:check_images]
    return calibration, val, quant_check


def export(checkpoint: str | Path, out_dir: str | Path, calibration: list[Sample], check: list[Sample],
           name: str = "skindoctor-mnv2", card_extra: dict | None = None,
           quant_check: list[Sample] | None = None,
           photos: tuple[list[Sample], list[Sample]] | None = None) -> ModelCard:
    """Checkpoint → ``{name}.onnx``, ``{name}-int8.onnx`` and ``model_card.json`` in ``out_dir``. With
    ``photos`` (training and validation photos of several domains, everyday ones among them) both files also answer
    "is this skin?" and "is this a dermatoscope's picture?", the latter choosing the calibration (``heads.py``)."""
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    model, meta = load_checkpoint(checkpoint)
    spec = InputSpec(**meta["input"])
    temperature = float(meta.get("temperature", 1.0))
    fp32, int8 = out_dir / f"{name}.onnx", out_dir / f"{name}-int8.onnx"
    weights = out_dir / f"{name}.pt"
    torch.save({"model": model.state_dict(), **{k: meta[k] for k in ("classes", "input", "temperature", "epoch")
                                                 if k in meta}}, weights)
    export_fp32(model, spec.size, fp32)
    log.info("wrote %s", fp32)
    quant = quantize_int8(fp32, int8, [load_rgb(s.path) for s in calibration], spec,
                          check=[load_rgb(s.path) for s in quant_check] if quant_check else None)
    log.info("wrote %s", int8)
    heads = {}
    if photos:
        train, val = (Photos(model, spec, part) for part in photos)
        heads = {SKIN_OUTPUT: fit_skin_head(train, val),
                 DOMAIN_OUTPUT: fit_domain_calibration(train, val, meta["classes"])}
    for path in (fp32, int8):  # after quantisation, so the maps do not change what is quantised
        add_cam_output(path)
        for output, head in heads.items():
            add_linear_output(path, output, head["weights"], head["bias"])

    card = ModelCard(name=name, files={"fp32": fp32.name, "int8": int8.name}, torch_weights=weights.name,
                     classes=card_classes(meta["classes"]),
                     reject_class=NONLESION if NONLESION in meta["classes"] else None,
                     input=spec, temperature=temperature,
                     temperatures=heads[DOMAIN_OUTPUT]["temperatures"] if heads else None,
                     not_skin_threshold=heads[SKIN_OUTPUT]["threshold"] if heads else None,
                     training={"checkpoint_epoch": meta.get("epoch"), "config": meta.get("config"),
                               "history": meta.get("history")},
                     **(card_extra or {}))
    card.save(out_dir)
    check_images = [load_rgb(s.path) for s in check]
    checks = {}
    for variant, path in (("fp32", fp32), ("int8", int8)):
        clf = OnnxClassifier(out_dir, variant=variant, card=card)
        checks[variant] = {**compare(model, clf, check_images, temperature),
                           "bytes": path.stat().st_size, "sha256": sha256(path)}
        log.info("%s vs torch: %s", variant, checks[variant])
    card.metrics = {**card.metrics, "export_check": checks, "quantization": quant}
    if heads:
        card.metrics["heads"] = {"max_skin_told_no_skin": MISSED_SKIN,
                                 "validation_told_no_skin": heads[SKIN_OUTPUT]["validation_told_no_skin"],
                                 "validation_told_dermoscopic": heads[DOMAIN_OUTPUT]["validation_told_dermoscopic"]}
    card.save(out_dir)
    return card
