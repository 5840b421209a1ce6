"""Two more answers from the classifier's own features, each a logistic regression on the network's pooled features
(the 1 280 numbers its last layer reads), appended to the fp32 and int8 (QDQ) ONNX files as one more output computed
from the same pooled tensor, so each costs one dot product:

- ``skin`` — is there skin in the picture at all? The "not a lesion" output is trained on everyday photos and on bare
  skin alike, so it cannot tell a skin-coloured coffee mug from a patch of skin, and both would hear "no skin spot
  found". Lesion photos of every domain and bare skin are learned against everyday photos; the product asks it
  only about a picture it already turns away, to say why. P(no skin) = sigmoid(-skin).
- ``dermoscopic`` — does the crop look like a dermatoscope's picture or an ordinary camera's? The network is more
  sure of itself than it should be on camera photos: one temperature fitted on the mixed validation set left
  phone photos badly calibrated. Each kind gets its own temperature (fitted on its validation photos), and a crop's
  temperature is the two mixed by P(dermoscopic), so a picture between the two kinds is not switched abruptly.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from sklearn.linear_model import LogisticRegression

from ..model_card import InputSpec
from ..vision.classifier import OUTPUT_NAME
from ..vision.preprocess import center_batch
from .cam import _producer
from .collection import EVERYDAY, NONLESION, PLAIN_SKIN
from .data import Sample, load_rgb

log = logging.getLogger(__name__)

MISSED_SKIN = 0.01  # at most this share of any validation domain's skin photos may be told "no skin"
DERMOSCOPIC = {"dermoscopic", "dermoscopic-extra", PLAIN_SKIN}  # domains of dermatoscope pictures


@torch.no_grad()
def pooled_features(model: torch.nn.Module, images: list[np.ndarray], spec: InputSpec) -> tuple[np.ndarray, np.ndarray]:
    """The centre square of each picture → (the network's pooled features N × 1280, its logits N × K)."""
    model.eval()
    feats, logits = [], []
    for i in range(0, len(images), 64):
        f = model.features(torch.from_numpy(center_batch(images[i:i + 64], spec))).mean(dim=(2, 3))
        feats.append(f.numpy())
        logits.append(model.classifier(f).numpy())
    return np.concatenate(feats), np.concatenate(logits)


class Photos:
    """Up to ``per_domain`` photos of each domain of a split part, decoded once, with their features and logits."""

    def __init__(self, model: torch.nn.Module, spec: InputSpec, samples: list[Sample], per_domain: int = 800):
        domains: dict[str, list[Sample]] = {}
        for s in samples:
            domains.setdefault(s.domain, []).append(s)
        self.samples = {d: part[::max(1, len(part) // per_domain)][:per_domain] for d, part in domains.items()}
        self.features, self.logits = {}, {}
        for d, part in self.samples.items():
            self.features[d], self.logits[d] = pooled_features(model, [load_rgb(s.path) for s in part], spec)

    def stacked(self, label) -> tuple[np.ndarray, np.ndarray]:
        """All features, and ``label(domain)`` for each."""
        x = np.concatenate(list(self.features.values()))
        return x, np.concatenate([np.full(len(f), label(d)) for d, f in self.features.items()])


def _fit(x: np.ndarray, y: np.ndarray) -> tuple[np.ndarray, float]:
    fit = LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced").fit(x, y)
    return fit.coef_[0].astype(np.float32), float(fit.intercept_[0])


def fit_skin_head(train: Photos, val: Photos) -> dict:
    """Everyday training photos against every other domain's; the P(no skin) threshold is the lowest that tells at
    most ``MISSED_SKIN`` of any validation skin domain "no skin"."""
    w, b = _fit(*train.stacked(lambda d: int(d != EVERYDAY)))
    not_skin = {d: 1 / (1 + np.exp(f @ w + b)) for d, f in val.features.items()}
    threshold = max(float(np.quantile(p, 1 - MISSED_SKIN)) for d, p in not_skin.items() if d != EVERYDAY)
    threshold = min(max(threshold, 0.5), 0.999)
    figures = {d: float((p >= threshold).mean()) for d, p in not_skin.items()}
    log.info("skin output: threshold %.3f, validation share told 'no skin' %s", threshold, figures)
    return {"weights": w, "bias": b, "threshold": threshold, "validation_told_no_skin": figures}


def fit_domain_calibration(train: Photos, val: Photos, classes: list[str]) -> dict:
    """Dermatoscope against camera training photos; then one temperature per kind, fitted on the logits of its
    validation lesion photos (the "not a lesion" thresholds are chosen afterwards, through the product)."""
    from .train import fit_temperature

    w, b = _fit(*train.stacked(lambda d: int(d in DERMOSCOPIC)))
    temperatures = {}
    for kind, member in (("dermoscopic", lambda d: d in DERMOSCOPIC), ("camera", lambda d: d not in DERMOSCOPIC)):
        rows = [(z, classes.index(s.label)) for d in val.samples if member(d)
                for z, s in zip(val.logits[d], val.samples[d]) if s.label != NONLESION]  # the lesions people read
        temperatures[kind] = fit_temperature(np.stack([z for z, _ in rows]), np.array([y for _, y in rows]))
    told = {d: float((f @ w + b > 0).mean()) for d, f in val.features.items()}
    log.info("dermoscopic output: validation share taken for dermoscopic %s; temperatures %s", told, temperatures)
    return {"weights": w, "bias": b, "temperatures": temperatures, "validation_told_dermoscopic": told}


def add_linear_output(path: str | Path, name: str, weights: np.ndarray, bias: float, logits: str = OUTPUT_NAME) -> bool:
    """Append the output ``name`` (N × 1 logit) in place, from the tensor the classifier's final Gemm reads; False
    (file unchanged) when the graph does not end in one Gemm."""
    model = onnx.load(str(path))
    graph = model.graph
    if any(o.name == name for o in graph.output):
        return True
    gemm = _producer(graph, logits)
    if gemm is None or gemm.op_type != "Gemm":
        return False
    graph.initializer.extend([numpy_helper.from_array(weights.reshape(1, -1).astype(np.float32), f"{name}_weight"),
                              numpy_helper.from_array(np.array([bias], np.float32), f"{name}_bias")])
    graph.node.append(helper.make_node("Gemm", [gemm.input[0], f"{name}_weight", f"{name}_bias"], [name],
                                       transB=1, name=name))
    graph.output.append(helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, ["batch", 1]))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return True

