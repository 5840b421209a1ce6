"""Train the learned lesion localiser on camera-like frames made from HAM10000 photos and masks.

``skindoctor train-localizer``: HAM10000's train split (by lesion, ``models/split.csv``) composed
into frames (``composite.scene``) with bare-skin and everyday-photo negatives, plus the train split's
smartphone photos (PAD-UFES-20) with the masks a teacher localiser is clear about (``pseudo``) and
their skin beside the lesion as extra background; BCE + soft Dice on the heat map; checkpoints every
``save_every`` steps and resumes. The best step on a fixed set of validation frames (mean box IoU
against HAM10000's real masks) is exported to ONNX (fp32 and int8), its presence threshold chosen on
the validation negatives, and written into the model card's ``localizer`` entry.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np
import torch
from torch import nn

from ..model_card import LocalizerSpec, load_card
from ..vision.localize import Box
from ..vision.segment import MIRROR_AXES, SegmentLocalizer, best_region, input_shape, lesion_region, to_input
from .composite import LesionPhoto, bare_skin, scene
from .data import Sample, load_rgb, read_ham10000, read_split
from .model import LesionSegmenter, freeze_batchnorm_statistics
from .pseudo import clear_skin, label_photos

log = logging.getLogger(__name__)

SHAPES = [(320, 240)] * 6 + [(240, 320), (320, 180), (256, 256)]  # composed frame sizes: mostly 4:3 landscape
NEGATIVE_SHARE = 0.3  # frames with no lesion (bare skin, everyday photos)
EVERYDAY_SHARE = 0.4  # of those, everyday photos
PHONE_SHARE = 0.3  # lesion frames made from a smartphone photo (when there are labelled ones)
PHONE_FILL = 0.6  # how often a phone photo fills the frame as taken (else it is placed on other skin)
PHONE_SIDE = 320  # phone photos are labelled and composed at this long side
CONFIRM_BELOW = 0.99  # boxes with a lower peak get a second look on the frame's mirror images (vision.segment)
INPUT_NAME, OUTPUT_NAME = "frame", "lesion_logits"


def mask_path(sample: Sample) -> Path:
    return sample.path.parent.parent / "masks" / f"{sample.path.stem}_segmentation.png"


def load_photos(samples: list[Sample]) -> list[LesionPhoto]:
    """HAM10000 photos with their masks (those without a readable mask are left out)."""
    photos = []
    for s in samples:
        mask = cv2.imread(str(mask_path(s)), cv2.IMREAD_GRAYSCALE)
        if mask is not None:
            image = load_rgb(s.path)
            photos.append(LesionPhoto(image, cv2.resize(mask, image.shape[1::-1], interpolation=cv2.INTER_NEAREST)))
    return photos


def mask_box(mask: np.ndarray) -> Box | None:
    """The bounding box of a mask's lesion pixels (>127), or None when it has none."""
    ys, xs = np.nonzero(mask > 127)
    return Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else None


@dataclass
class FrameSet:
    """Composed frames of one size with masks (255 = lesion) and what each shows: ``lesion``, ``skin``
    (bare skin) or ``everyday`` (an everyday photo)."""

    frames: list[np.ndarray]
    masks: list[np.ndarray]
    kinds: list[str]


def compose(photos, skins, everyday, n: int, rng: np.random.Generator, size=(320, 240),
            negative_share: float = NEGATIVE_SHARE, long_side: int = 128, phones=()) -> FrameSet:
    """``n`` frames: lesions from ``photos`` (or ``phones``, PHONE_SHARE of them), bare ``skins`` and ``everyday``."""
    out = input_shape(*size, long_side)
    frames, masks, kinds = [], [], []
    for _ in range(n):
        negative = rng.random() < negative_share
        phone = not negative and len(phones) > 0 and rng.random() < PHONE_SHARE
        pool = phones if phone else photos
        photo = None if negative else pool[int(rng.integers(len(pool)))]
        other = (everyday[int(rng.integers(len(everyday)))] if negative and everyday and rng.random() < EVERYDAY_SHARE
                 else None)
        frame, mask = scene(photo, skins, rng, everyday=other, size=size, out_size=out,
                            fill=PHONE_FILL if phone else 0.3)
        frames.append(frame)
        masks.append(mask)
        kinds.append("everyday" if other is not None else "lesion" if mask_box(mask) is not None else "skin")
    return FrameSet(frames, masks, kinds)


def heatmaps(model: nn.Module, frames: list[np.ndarray], spec: LocalizerSpec, axes: tuple = ()) -> list[np.ndarray]:
    """Lesion probability per input pixel, from the torch model (what the ONNX file will compute); ``axes``: of the
    frames mirrored over these axes (``MIRROR_AXES``), each map mirrored back."""
    model.eval()
    out = []
    with torch.no_grad():
        for i in range(0, len(frames), 32):
            x = torch.from_numpy(to_input(frames[i:i + 32], spec))
            logits = model(x.flip([a + 2 for a in axes]))  # picture axes → axes of the NCHW batch
            up = nn.functional.interpolate(logits, size=frames[0].shape[:2], mode="bilinear", align_corners=False)
            out += list(torch.sigmoid(up)[:, 0].flip([a + 1 for a in axes]).numpy())
    return out


def second_look(model: nn.Module, frames: list[np.ndarray], spec: LocalizerSpec) -> Callable[[int], list[np.ndarray]]:
    """Frame ``i`` → the torch model's maps of its mirror images (the product's second look,
    ``vision.segment.lesion_region``), computed only for the frames that ask."""
    return lambda i: [heatmaps(model, frames[i:i + 1], spec, axes)[0] for axes in MIRROR_AXES]


def score(probs: list[np.ndarray], masks: list[np.ndarray], spec: LocalizerSpec,
          mirrored: Callable[[int], list[np.ndarray]]) -> dict:
    """Mean box IoU on lesion frames (a missed lesion scores 0), misses, and false boxes on the others, each frame
    looked at as the product does (``mirrored(i)``: frame i's mirror images' maps, asked for when its box is
    unsure)."""
    ious, peaks_neg, missed = [], [], 0
    for i, (prob, mask) in enumerate(zip(probs, masks)):
        truth = mask_box(mask)
        region = lesion_region(prob, spec, lambda i=i: mirrored(i))
        found = region is not None and region.peak >= spec.present_threshold
        if truth is None:
            peaks_neg.append(region.peak if region else 0.0)
            continue
        missed += not found
        ious.append(region.box.iou(truth) if found else 0.0)
    false = float(np.mean([p >= spec.present_threshold for p in peaks_neg])) if peaks_neg else 0.0
    return {"mean_iou": float(np.mean(ious)) if ious else None, "miss": missed / max(1, len(ious)),
            "false_boxes": false, "lesion_frames": len(ious), "empty_frames": len(peaks_neg)}


def presence_threshold(probs: list[np.ndarray], kinds: list[str], spec: LocalizerSpec,
                       max_false: float = 0.03) -> float:
    """The lowest peak probability that keeps false boxes ≤ ``max_false`` on each kind of validation's
    lesion-free frames (bare skin and everyday photos each, so the commoner kind cannot hide the other), on the
    first look: the second look only takes boxes away."""
    quantiles = []
    for kind in ("skin", "everyday"):
        peaks = [r.peak if (r := best_region(p, spec.mask_threshold)) else 0.0
                 for p, k in zip(probs, kinds) if k == kind]
        if peaks:
            quantiles.append(np.quantile(peaks, 1 - max_false) + 1e-3)
    return float(min(0.99, max([spec.mask_threshold, *quantiles])))


def dice_bce(logits: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
    up = nn.functional.interpolate(logits, size=target.shape[-2:], mode="bilinear", align_corners=False)
    bce = nn.functional.binary_cross_entropy_with_logits(up, target)
    p = torch.sigmoid(up)
    inter, total = (p * target).sum((1, 2, 3)), (p + target).sum((1, 2, 3))
    has = (target.sum((1, 2, 3)) > 0).float()
    dice = ((1 - (2 * inter + 1) / (total + 1)) * has).sum() / has.sum().clamp_min(1)
    return bce + dice


def phone_photos(root: Path, split_csv: Path, teacher: SegmentLocalizer, limit: int | None = None) -> list[LesionPhoto]:
    """The train split's smartphone photos (by patient) that ``teacher`` gives a clear mask (``pseudo``)."""
    from .collection import read_pad_ufes

    items = read_pad_ufes(root)
    split = read_split(items, split_csv)
    images = [load_rgb(s.path, PHONE_SIDE) for s in items if split[str(s.path)] == "train"][:limit]
    photos = label_photos(teacher, images)
    log.info("phone photos: %d of %d train-split photos labelled by the teacher", len(photos), len(images))
    return photos


def load_sources(data: Path, split_csv: Path, nonlesion: Path | None, limit: int | None = None):
    """HAM10000 photos per split (train/val/test by lesion; at most ``limit`` each), painted-out skins and
    everyday photos per split."""
    samples = read_ham10000(data)
    split = read_split(samples, split_csv)
    parts = {name: [s for s in samples if split[str(s.path)] == name][:limit] for name in ("train", "val", "test")}
    photos = {name: load_photos(part) for name, part in parts.items()}
    skins = {name: [bare_skin(p) for p in photos[name][:1500]] for name in ("train", "val")}
    everyday = {name: [] for name in parts}
    if nonlesion is not None and nonlesion.is_dir():
        from .collection import read_nonlesion

        items = read_nonlesion(nonlesion)
        other_split = read_split(items, split_csv)
        for s in items:
            everyday[other_split[str(s.path)]].append(load_rgb(s.path))
    return photos, skins, everyday


@dataclass
class Trained:
    model: nn.Module
    spec: LocalizerSpec  # its metrics hold the chosen step's validation figures
    validation: FrameSet
    calibration: list[np.ndarray]  # training frames for int8 calibration


def train_localizer(data: Path, split_csv: Path, weights: Path, out_dir: Path, steps: int = 3000, batch: int = 24,
                    lr: float = 2e-3, val_frames: int = 600, save_every: int = 250, threads: int = 2,
                    nonlesion: Path | None = None, seed: int = 0, limit: int | None = None, long_side: int = 128,
                    phone: Path | None = None, teacher: SegmentLocalizer | None = None) -> Trained:
    """Train (resuming from ``out_dir/localizer-ckpt.pt``) and pick the best validated step; ``phone``
    (PAD-UFES-20) adds smartphone photos labelled by ``teacher`` (both needed)."""
    torch.set_num_threads(threads)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = LocalizerSpec(files={}, long_side=long_side, confirm_below=CONFIRM_BELOW)
    t0 = time.time()
    photos, skins, everyday = load_sources(data, split_csv, nonlesion, limit)
    phones = phone_photos(phone, split_csv, teacher, limit) if phone is not None and teacher is not None else []
    skins["train"] += [skin for p in phones if (skin := clear_skin(p)) is not None]
    log.info("sources: %s photos, %d phone photos, %s skins, %s everyday (%.0f s)",
             {k: len(v) for k, v in photos.items()}, len(phones), len(skins["train"]),
             {k: len(v) for k, v in everyday.items()}, time.time() - t0)
    val = compose(photos["val"], skins["val"], everyday["val"], val_frames, np.random.default_rng(1),
                  negative_share=0.3, long_side=long_side)
    model = LesionSegmenter().load_backbone(weights)
    opt = torch.optim.AdamW(model.parameters(), lr=lr, weight_decay=1e-4)
    sched = torch.optim.lr_scheduler.OneCycleLR(opt, max_lr=lr, total_steps=steps, pct_start=0.1)
    ckpt, best_path = out_dir / "localizer-ckpt.pt", out_dir / "localizer-best.pt"
    start, best = 0, {"mean_iou": -1.0}
    if ckpt.is_file():
        state = torch.load(ckpt, weights_only=False)
        model.load_state_dict(state["model"])
        opt.load_state_dict(state["opt"])
        sched.load_state_dict(state["sched"])
        start, best = state["step"], state["best"]
        log.info("resumed at step %d (best so far %s)", start, best)
    rng = np.random.default_rng(seed + start)
    for step in range(start, steps):
        model.train()
        freeze_batchnorm_statistics(model)
        size = SHAPES[int(rng.integers(len(SHAPES)))]
        part = compose(photos["train"], skins["train"], everyday["train"], batch, rng, size=size, long_side=long_side,
                       phones=phones)
        x = torch.from_numpy(to_input(part.frames, spec))
        y = torch.from_numpy(np.stack(part.masks).astype(np.float32)[:, None] / 255)
        loss = dice_bce(model(x), y)
        opt.zero_grad()
        loss.backward()
        opt.step()
        sched.step()
        if step % 25 == 0:
            log.info("step %d/%d loss %.4f lr %.2e (%.0f s)", step, steps, loss.item(), sched.get_last_lr()[0],
                     time.time() - t0)
        if (step + 1) % save_every == 0 or step + 1 == steps:
            result = score(heatmaps(model, val.frames, spec), val.masks, spec,
                           second_look(model, val.frames, spec)) | {"step": step + 1}
            log.info("validation at step %d: %s", step + 1, result)
            if result["mean_iou"] > best["mean_iou"]:
                best = result
                torch.save(model.state_dict(), best_path)
            torch.save({"model": model.state_dict(), "opt": opt.state_dict(), "sched": sched.state_dict(),
                        "step": step + 1, "best": best}, ckpt)
    model.load_state_dict(torch.load(best_path, weights_only=True))
    probs = heatmaps(model, val.frames, spec)
    spec = spec.model_copy(update={"present_threshold": presence_threshold(probs, val.kinds, spec)})
    best |= {"validation_after_threshold": score(probs, val.masks, spec, second_look(model, val.frames, spec))}
    log.info("best step %s; presence threshold %.3f", best, spec.present_threshold)
    calibration = compose(photos["train"], skins["train"], everyday["train"], 200, np.random.default_rng(2),
                          long_side=long_side, phones=phones).frames
    sources = {"phone_photos": len(phones), "ham10000_photos": len(photos["train"])}
    return Trained(model, spec.model_copy(update={"metrics": {"validation": best, "training": sources}}), val,
                   calibration)


def export_localizer(model: nn.Module, spec: LocalizerSpec, model_dir: Path, calibration: list[np.ndarray],
                     validation: FrameSet, name: str = "skindoctor-loc") -> LocalizerSpec:
    """fp32 and int8 ONNX beside the card; int8 is the default only if its validation IoU holds (≤ 0.01 lower)."""
    from onnxruntime.quantization import QuantFormat, QuantType, quantize_static
    from onnxruntime.quantization.shape_inference import quant_pre_process

    from .quantize import BatchCalibration

    fp32, int8 = model_dir / f"{name}.onnx", model_dir / f"{name}-int8.onnx"
    model.eval()
    dummy = torch.from_numpy(to_input(calibration[:1], spec))
    torch.onnx.export(model, dummy, str(fp32), input_names=[INPUT_NAME], output_names=[OUTPUT_NAME], opset_version=17,
                      dynamic_axes={INPUT_NAME: {0: "batch", 2: "height", 3: "width"},
                                    OUTPUT_NAME: {0: "batch", 2: "grid_height", 3: "grid_width"}}, dynamo=False)
    pre = model_dir / f"{name}-pre.onnx"
    quant_pre_process(str(fp32), str(pre))
    quantize_static(str(pre), str(int8), BatchCalibration(to_input(calibration, spec), INPUT_NAME),
                    quant_format=QuantFormat.QDQ, per_channel=True, activation_type=QuantType.QUInt8,
                    weight_type=QuantType.QInt8)
    pre.unlink()

    spec = spec.model_copy(update={"files": {"fp32": fp32.name, "int8": int8.name}})
    results = onnx_scores(model_dir, spec, validation)
    variant = "int8" if results["int8"]["mean_iou"] >= results["fp32"]["mean_iou"] - 0.01 else "fp32"
    log.info("ONNX validation: %s → default %s", results, variant)
    return spec.model_copy(update={"variant": variant, "metrics": {**spec.metrics, "onnx_validation": results}})


def onnx_scores(model_dir: Path, spec: LocalizerSpec, validation: FrameSet) -> dict:
    """Each exported variant scored on the validation frames through the product's own localiser code."""
    results = {}
    for variant in spec.files:
        runtime = SegmentLocalizer(model_dir, spec, variant=variant)
        looks = [runtime.heatmap(f) for f in validation.frames]
        results[variant] = score([prob for _, prob in looks], validation.masks, spec,
                                 lambda i, looks=looks, runtime=runtime: runtime.mirrored_heatmaps(looks[i][0]))
    return results


def attach_to_card(model_dir: Path, spec: LocalizerSpec) -> None:
    card = load_card(model_dir)
    card.localizer = spec
    card.save(model_dir)
