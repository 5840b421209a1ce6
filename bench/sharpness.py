"""Where to judge a lesion crop's sharpness → docs/sharpness.md (validation photos only).

The gate refuses a blurred crop by the variance of its Laplacian. Judged at the model's input size, a photo smaller
than the camera and shown to it (so enlarged) reads as blurred where the same photo uploaded does not. For each side
the crop may be shrunk to before it is judged, this measures on validation photos (dermoscopic and phone): the
threshold that refuses 0.5 % of the uploaded lesion photos, the share of the same photos shown still to a 640×480
camera that it refuses, and the share of camera frames blurred as when focus is lost (σ = 4 px) that it lets through.

    python bench/sharpness.py [--data ../shared/data] [--per-domain 150] [--sides 48,64,96,128,160]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

import skindoctor
from skindoctor.dev.clips import Segment, frames, shown_to_camera
from skindoctor.dev.ondevice import split_photos
from skindoctor.vision.image_io import read_image
from skindoctor.vision.localize import square_crop, working_copy

ROOT = Path(__file__).resolve().parents[1]


def crop_of(pipeline, image: np.ndarray) -> np.ndarray | None:
    """The square the photo path would judge (None: no lesion found)."""
    loc = pipeline.localizer.locate(image, working_copy(image, pipeline.spec.work_side))
    return square_crop(image, loc.box, pipeline.spec.crop)[0] if loc.box is not None else None


def sharpness(crop: np.ndarray, side: int) -> float:
    """Variance of the Laplacian of the crop shrunk to ``side`` (judged at its own size if smaller)."""
    if min(crop.shape[:2]) > side:
        crop = cv2.resize(crop, (side, side), interpolation=cv2.INTER_AREA)
    return float(cv2.Laplacian(cv2.cvtColor(crop, cv2.COLOR_RGB2GRAY), cv2.CV_32F).var())


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--split", default=str(ROOT / "models" / "split.csv"))
    ap.add_argument("--per-domain", type=int, default=150)
    ap.add_argument("--sides", default="48,64,96,128,160")
    ap.add_argument("--out", default=str(ROOT / "docs" / "sharpness.md"))
    args = ap.parse_args()
    pipeline = skindoctor.load()
    sides = [int(s) for s in args.sides.split(",")]
    samples = split_photos(Path(args.data), Path(args.split),
                           {"dermoscopic": args.per_domain, "phone": args.per_domain}, part="val")
    upload, shown, blurred = ({s: [] for s in sides} for _ in range(3))
    for sample in samples:
        photo = read_image(sample.path)
        crops = [crop_of(pipeline, photo), crop_of(pipeline, shown_to_camera(photo))]
        focus_lost = next(frames([Segment(photo, 1 / 30, motion=0, blur=4.0)]))
        crops.append(crop_of(pipeline, focus_lost))
        for crop, into in zip(crops, (upload, shown, blurred)):
            if crop is not None:
                for side in sides:
                    into[side].append((sample.domain, sharpness(crop, side)))
    lines = ["# Where the gate judges sharpness", "",
             f"`python bench/sharpness.py --per-domain {args.per_domain}` on validation photos "
             f"({len(samples)}: dermoscopic and phone, split by lesion or patient; the test parts are not used). "
             "Each side is the size a lesion crop is shrunk to before the variance of its Laplacian is taken (a "
             "smaller crop is judged at its own size). The threshold refuses 0.5 % of the uploaded lesion photos; "
             "then: how many of the same photos shown still to a 640×480 camera (enlarged to fill it) it refuses, "
             "and how many camera frames of them with focus lost (σ = 4 px) it lets through.", "",
             "| side | threshold | uploads refused | shown to the camera: refused (dermoscopic / phone) | "
             "focus lost: let through |", "|---|---|---|---|---|"]
    for side in sides:
        values = np.array([v for _, v in upload[side]])
        threshold = float(np.quantile(values, 0.005))
        refused = {d: np.mean([v < threshold for dom, v in shown[side] if dom == d]) for d in ("dermoscopic", "phone")}
        through = np.mean([v >= threshold for _, v in blurred[side]])
        lines.append(f"| {side} | {threshold:.1f} | {np.mean(values < threshold):.1%} | "
                     f"{refused['dermoscopic']:.1%} / {refused['phone']:.1%} | {through:.1%} |")
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
