"""Lesion localisation on real smartphone photos and wide-field frames → docs/phone_localization.md.

Against the hand-drawn masks of PAD-UFES-20 (``pad_ufes_20_masks/``, the primary annotation), on one split part
(by patient; ``test`` by default, never used to train or choose): box IoU (the box against the primary mask's box;
a photo with no box scores 0), mask IoU (the localiser's region on the photo against the primary mask), the share
found (box IoU ≥ 0.5) and missed; the other annotators scored the same way against the primary are the human row.
Then wide-field frames (``skindoctor.dev.widefield``: the part's lesions pasted small into other patients'
painted-out photos) and lesion-free pictures (the part's phone photos with every annotated lesion painted out, and
everyday photos): boxes where there is nothing. Each localiser is run as the product runs it: the frame's search,
then, on a frame of skin with nothing found, the closer look (``look_wider``), shown with and without it.

    python bench/phone_localization.py [--data ../shared/data] [--models models runs/models-v2] [--part test]
"""

from __future__ import annotations

import argparse
import time
from pathlib import Path

import cv2
import numpy as np

from skindoctor.dev.widefield import FRAME_SIZE, phone_set, wide_frames
from skindoctor.model_card import load_card
from skindoctor.train.collection import read_nonlesion, read_pad_masks, read_pad_ufes
from skindoctor.train.data import load_rgb, read_split
from skindoctor.train.localizer import read_mask
from skindoctor.vision.localize import mask_box, working_copy
from skindoctor.vision.quality import QualityGate
from skindoctor.vision.segment import SegmentLocalizer, lesion_region

FOUND_IOU = 0.5


def mask_iou(a: np.ndarray, b: np.ndarray) -> float:
    a, b = a > 127, b > 127
    union = (a | b).sum()
    return float((a & b).sum() / union) if union else 0.0


def region_mask(localizer: SegmentLocalizer, image: np.ndarray) -> np.ndarray | None:
    """The frame search's lesion region at the photo's size (255 = lesion), or None when it finds none."""
    small, prob = localizer.heatmap(image, working_copy(image))
    region = lesion_region(prob, localizer.spec, lambda: localizer.mirrored_heatmaps(small))
    if region is None or region.peak < localizer.spec.present_threshold:
        return None
    return cv2.resize(region.mask.astype(np.uint8) * 255, image.shape[1::-1], interpolation=cv2.INTER_NEAREST)


class AsTheProductLooks:
    """``locate`` then, on a frame of skin with nothing found, ``look_wider`` (``analysis.analyse``'s order)."""

    def __init__(self, localizer: SegmentLocalizer, wider: bool):
        self.localizer, self.wider, self.gate = localizer, wider, QualityGate()
        self.closer = 0

    def box(self, image: np.ndarray):
        small = working_copy(image)
        found = self.localizer.locate(image, small)
        if found.box is None and self.wider and self.gate.check_frame(small).ok:
            self.closer += 1
            found = self.localizer.look_wider(image, self.gate.skin_part(small, image.shape[1], image.shape[0]))
        return found.box


def score_lesions(looker: AsTheProductLooks, images, masks) -> dict:
    ious, ms = [], []
    for image, mask in zip(images, masks):
        t = time.perf_counter()
        box = looker.box(image)
        ms.append(1000 * (time.perf_counter() - t))
        ious.append(box.iou(mask_box(mask)) if box is not None else 0.0)
    ious = np.array(ious)
    return {"n": len(ious), "box_iou": float(ious.mean()), "found": float((ious >= FOUND_IOU).mean()),
            "missed": float((ious == 0).mean()), "ms_p50": float(np.median(ms))}


def false_boxes(looker: AsTheProductLooks, images) -> float:
    return float(np.mean([looker.box(image) is not None for image in images]))


def human_row(photos) -> dict:
    """Every non-primary annotation against the primary, on the photos that have more than one."""
    boxes, masks = [], []
    for _, drawn in photos:
        for other in drawn[1:]:
            if mask_box(other) is not None:
                boxes.append(mask_box(other).iou(mask_box(drawn[0])))
                masks.append(mask_iou(other, drawn[0]))
    boxes = np.array(boxes)
    return {"n": len(boxes), "box_iou": float(boxes.mean()), "mask_iou": float(np.mean(masks)),
            "found": float((boxes >= FOUND_IOU).mean()), "missed": 0.0}


def load_part(data: Path, split_csv: Path, part: str):
    items = [s for name in ("pad_ufes_20_partial", "pad_ufes_20_more") for s in read_pad_ufes(data / name)]
    split = read_split(items, split_csv)
    masks = read_pad_masks(data / "pad_ufes_20_masks")
    photos = []
    for s in items:
        if split[str(s.path)] == part and s.path.stem in masks:
            image = load_rgb(s.path, 10_000)  # as stored: the product sees the photo as it is
            drawn = [m for p in masks[s.path.stem] if (m := read_mask(p, image.shape[:2])) is not None]
            if drawn and mask_box(drawn[0]) is not None:
                photos.append((image, drawn))
    nonlesion = read_nonlesion(data / "nonlesion")
    other = read_split(nonlesion, split_csv)
    everyday = [load_rgb(s.path, 10_000) for s in nonlesion if other[str(s.path)] == part]
    return photos, everyday


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--split", default="models/split.csv")
    ap.add_argument("--models", nargs="+", default=["models"], help="model folders whose learned localiser to score")
    ap.add_argument("--part", default="test")
    ap.add_argument("--wide", type=int, default=300, help="wide-field frames")
    ap.add_argument("--closer", type=float, nargs="*", default=[],
                    help="more rows: the closer look with these thresholds instead of the card's")
    ap.add_argument("--out", default="docs/phone_localization.md")
    args = ap.parse_args()
    data, split_csv = Path(args.data), Path(args.split)
    photos, everyday = load_part(data, split_csv, args.part)
    phones = phone_set(data, split_csv, args.part)
    wide = wide_frames(phones, args.wide)
    skins = [p.image for p in phones.skins]
    images, primaries = [p[0] for p in photos], [p[1][0] for p in photos]
    rows = []
    for folder in args.models:
        spec = load_card(Path(folder)).localizer
        localizer = SegmentLocalizer(Path(folder), spec)
        regions = [region_mask(localizer, im) for im in images]
        mask_ious = [mask_iou(r, m) if r is not None else 0.0 for r, m in zip(regions, primaries)]
        for wider, closer in [(False, None), (True, spec.closer_threshold)] + [(True, t) for t in args.closer]:
            localizer.spec = spec.model_copy(update={"look_closer": wider, "closer_threshold": closer})
            looker = AsTheProductLooks(localizer, wider)
            look = "frame only" if not wider else "frame, then closer on skin" + (
                f" (closer threshold {closer:.3f})" if closer else "")
            row = {"localiser": f"`{folder}` ({spec.files[spec.variant]})", "look": look,
                   "photos": score_lesions(looker, images, primaries) | {"mask_iou": float(np.mean(mask_ious))},
                   "wide": score_lesions(looker, [w.image for w in wide], [w.mask for w in wide])}
            looker.closer = 0
            row["skin_false"] = false_boxes(looker, skins)
            row["skin_closer"] = looker.closer / max(1, len(skins))
            row["everyday_false"] = false_boxes(looker, everyday)
            rows.append(row)
            print(row)
    write_report(Path(args.out), rows, human_row(photos), args.part, len(skins), len(everyday), FRAME_SIZE)


def _pct(v: float) -> str:
    return f"{v:.1%}"


def write_report(out: Path, rows, human, part, n_skins, n_everyday, frame_size) -> None:
    lines = ["# Finding the spot in smartphone photos and wide-field frames", "",
             f"Measured with `python bench/phone_localization.py` on PAD-UFES-20's **{part} split** (by patient, "
             "`models/split.csv`; never used to train or choose) against the hand-drawn masks "
             "(`pad_ufes_20_masks/`, the primary annotation). *Box IoU*: the localiser's box against the primary "
             "mask's box (no box scores 0); *found*: box IoU ≥ 0.5; *mask IoU*: the frame search's lesion region "
             "against the primary mask. The human row scores every other annotator's mask against the primary the "
             "same way.", "",
             "| localiser | look | photos | box IoU | mask IoU | found | missed | p50 ms |",
             "|---|---|---|---|---|---|---|---|",
             f"| other annotators (human) | – | {human['n']} annotations | {human['box_iou']:.3f} | "
             f"{human['mask_iou']:.3f} | {_pct(human['found'])} | – | – |"]
    for r in rows:
        p = r["photos"]
        lines.append(f"| {r['localiser']} | {r['look']} | {p['n']} | {p['box_iou']:.3f} | {p['mask_iou']:.3f} | "
                     f"{_pct(p['found'])} | {_pct(p['missed'])} | {p['ms_p50']:.2f} |")
    w, h = frame_size
    lines += ["", f"## Wide-field frames ({w}×{h}) and lesion-free pictures", "",
              f"Wide-field: each of the {part} split's lesions, with a ring of its own skin, pasted at 0.5–10 % of the "
              "frame's area anywhere in it (border included) into another patient's photo of the same split with "
              "every annotated lesion painted out, with camera effects (`skindoctor.dev.widefield`). Lesion-free: "
              f"the {n_skins} {part}-split phone photos with every annotated lesion painted out (their ink circles, "
              f"hair and wrinkles stay; a spot nobody annotated stays too), and {n_everyday} everyday photos of the "
              f"{part} split. *Closer looks*: share of the painted-out photos searched again closer up.", "",
              "| localiser | look | wide-field frames | box IoU | found | missed | p50 ms | painted-out phone photos "
              "boxed | closer looks | everyday photos boxed |", "|---|---|---|---|---|---|---|---|---|---|"]
    for r in rows:
        wd = r["wide"]
        lines.append(f"| {r['localiser']} | {r['look']} | {wd['n']} | {wd['box_iou']:.3f} | {_pct(wd['found'])} | "
                     f"{_pct(wd['missed'])} | {wd['ms_p50']:.2f} | {_pct(r['skin_false'])} | "
                     f"{_pct(r['skin_closer'])} | {_pct(r['everyday_false'])} |")
    lines += ["", "Times are p50 of single pictures on this machine in the run that wrote this file."]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
