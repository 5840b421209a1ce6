"""Train the learned lesion localiser on camera-like frames made from HAM10000 photos and masks.

``skindoctor train-localizer``: HAM10000's train split (by lesion, ``models/split.csv``) and the train
split's smartphone photos (PAD-UFES-20, by patient) with their hand-drawn masks, composed into frames
(``composite.scene``): lesions placed on skin, phone photos as taken, and wide-field frames with the lesion
pasted small into another patient's phone photo with its lesion painted out; negatives are bare skin
(painted-out HAM10000 and phone photos, with their ink circles, hair and wrinkles) and everyday photos.
BCE + soft Dice on the heat map; checkpoints every ``save_every`` steps and resumes. The best step on a
fixed set of validation frames composed the same way from the validation split (mean box IoU against
the real masks) is exported to ONNX (fp32 and int8), its presence threshold chosen on the validation
negatives, and written into the model card's ``localizer`` entry.
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
from ..vision.localize import mask_box
from ..vision.segment import MIRROR_AXES, SegmentLocalizer, best_region, input_shape, lesion_region, to_input
from .composite import LesionPhoto, bare_skin, scene
from .data import Sample, load_rgb, read_ham10000, read_split
from .model import LesionSegmenter, freeze_batchnorm_statistics

log = logging.getLogger(__name__)

SHAPES = [(320, 240)] * 6 + [(240, 320), (320, 180), (256, 256)]  # composed frame sizes: mostly 4:3 landscape
NEGATIVE_SHARE = 0.3  # frames with no lesion (bare skin, everyday photos)
EVERYDAY_SHARE = 0.4  # of those, everyday photos
PHONE_SKIN_SHARE = 0.5  # of the bare-skin ones, a painted-out phone photo (when there are some)
PHONE_SHARE = 0.35  # lesion frames made from a smartphone photo as taken or placed (when there are some)
WIDE_SHARE = 0.35  # lesion frames with the lesion pasted small into a wide field of phone skin
WIDE_FROM_PHONE = 0.6  # of those, a phone lesion (else a HAM10000 one)
PHONE_FILL = 0.6  # how often a phone photo fills the frame as taken (else it is placed on other skin)
PHONE_SIDE = 320  # phone photos are composed at this long side
MAX_PAINTED = 0.4  # a phone photo whose masks cover more than this share is not painted out for skin
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


@dataclass
class FrameSet:
    """Composed frames of one size with masks (255 = lesion) and what each shows: ``lesion``, ``skin``
    (bare skin) or ``everyday`` (an everyday photo)."""

    frames: list[np.ndarray]
    masks: list[np.ndarray]
    kinds: list[str]


@dataclass
class PhoneSet:
    """Smartphone photos of one split part with their primary masks, and the photos with every annotator's lesion
    painted out (bare phone skin, with the patient as ``group``)."""

    photos: list[LesionPhoto]
    skins: list[LesionPhoto]


def compose(photos, skins, everyday, n: int, rng: np.random.Generator, size=(320, 240),
            negative_share: float = NEGATIVE_SHARE, long_side: int = 128, phones: PhoneSet | None = None) -> FrameSet:
    """``n`` frames: lesions from HAM10000 ``photos`` or ``phones`` (placed, as taken or wide-field), bare ``skins``
    (and phone skins) and ``everyday`` photos."""
    out = input_shape(*size, long_side)
    phones = phones or PhoneSet([], [])
    phone_skins = [p.image for p in phones.skins]
    frames, masks, kinds = [], [], []
    for _ in range(n):
        pick = rng.random()
        photo, other, wide, fill, background = None, None, False, 0.3, skins
        if rng.random() < negative_share:
            if everyday and pick < EVERYDAY_SHARE:
                other = everyday[int(rng.integers(len(everyday)))]
            elif phone_skins and rng.random() < PHONE_SKIN_SHARE:
                background = phone_skins
        elif phones.photos and pick < PHONE_SHARE:
            photo, fill = phones.photos[int(rng.integers(len(phones.photos)))], PHONE_FILL
        elif pick < PHONE_SHARE + WIDE_SHARE:
            pool = phones.photos if phones.photos and rng.random() < WIDE_FROM_PHONE else photos
            photo, wide = pool[int(rng.integers(len(pool)))], True
            others = [p.image for p in phones.skins if p.group != photo.group] if photo.group else phone_skins
            background = others or skins
        else:
            photo = photos[int(rng.integers(len(photos)))]
        frame, mask = scene(photo, background, rng, everyday=other, size=size, out_size=out, fill=fill, wide=wide)
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


def read_mask(path: Path, shape: tuple[int, int]) -> np.ndarray | None:
    """A mask file (255 = lesion) at ``shape`` (height, width), or None when it cannot be read."""
    mask = cv2.imread(str(path), cv2.IMREAD_GRAYSCALE)
    if mask is None:
        return None
    return np.where(cv2.resize(mask, shape[::-1], interpolation=cv2.INTER_NEAREST) > 127, 255, 0).astype(np.uint8)


def phone_photos(data: Path, split_csv: Path, parts=("train", "val"), limit: int | None = None) -> dict[str, PhoneSet]:
    """Each split part's smartphone photos (PAD-UFES-20, both folders; split by patient) with their primary
    hand-drawn mask (``pad_ufes_20_masks/``), and as bare skin with every annotator's lesion painted out."""
    from .collection import read_pad_masks, read_pad_ufes

    items = [s for name in ("pad_ufes_20_partial", "pad_ufes_20_more") if (data / name).is_dir()
             for s in read_pad_ufes(data / name)]
    masks = read_pad_masks(data / "pad_ufes_20_masks") if (data / "pad_ufes_20_masks").is_dir() else {}
    split = read_split(items, split_csv) if items else {}
    sets = {part: PhoneSet([], []) for part in parts}
    for part in parts:
        for s in [s for s in items if split[str(s.path)] == part and s.path.stem in masks][:limit]:
            image = load_rgb(s.path, PHONE_SIDE)
            drawn = [m for path in masks[s.path.stem] if (m := read_mask(path, image.shape[:2])) is not None]
            if not drawn or mask_box(drawn[0]) is None:
                continue
            sets[part].photos.append(LesionPhoto(image, drawn[0], s.group, s.label))
            union = np.max(drawn, axis=0)
            if (union > 0).mean() <= MAX_PAINTED:
                sets[part].skins.append(LesionPhoto(bare_skin(LesionPhoto(image, union)), union, s.group))
    log.info("phone photos with masks: %s", {k: (len(v.photos), len(v.skins)) for k, v in sets.items()})
    return sets


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
                    phone: Path | None = None) -> Trained:
    """Train (resuming from ``out_dir/localizer-ckpt.pt``) and pick the best validated step; ``phone`` (the shared
    data folder with PAD-UFES-20 and its masks) adds smartphone photos, wide-field frames and phone skin."""
    torch.set_num_threads(threads)
    out_dir.mkdir(parents=True, exist_ok=True)
    spec = LocalizerSpec(files={}, long_side=long_side, confirm_below=CONFIRM_BELOW)
    t0 = time.time()
    photos, skins, everyday = load_sources(data, split_csv, nonlesion, limit)
    phones = phone_photos(phone, split_csv, limit=limit) if phone is not None else {}
    log.info("sources: %s photos, %s skins, %s everyday (%.0f s)", {k: len(v) for k, v in photos.items()},
             {k: len(v) for k, v in skins.items()}, {k: len(v) for k, v in everyday.items()}, time.time() - t0)
    val = compose(photos["val"], skins["val"], everyday["val"], val_frames, np.random.default_rng(1),
                  negative_share=0.3, long_side=long_side, phones=phones.get("val"))
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
                       phones=phones.get("train"))
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
                          long_side=long_side, phones=phones.get("train")).frames
    sources = {"phone_photos": len(phones["train"].photos) if phones else 0,
               "phone_skins": len(phones["train"].skins) if phones else 0, "ham10000_photos": len(photos["train"])}
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
