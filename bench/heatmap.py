"""Does the heat map point at the lesion? Class activation maps of the shipped model on the HAM10000 test split,
scored against the lesion boxes from the masks → docs/heatmap.md.

    python bench/heatmap.py [--data ../shared/data/ham10000] [--limit 300]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

import skindoctor
from skindoctor.stream.pipeline import Pipeline
from skindoctor.train.data import load_rgb, read_ham10000, read_split


def cells_in_box(crop_box, shape, box) -> np.ndarray:
    """Which cells of the map's grid (over the analysed square) have their centre inside the lesion box."""
    gh, gw = shape
    ys = crop_box.y0 + (np.arange(gh) + 0.5) / gh * crop_box.height
    xs = crop_box.x0 + (np.arange(gw) + 0.5) / gw * crop_box.width
    return ((ys >= box[1]) & (ys <= box[3]))[:, None] & ((xs >= box[0]) & (xs <= box[2]))[None, :]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data/ham10000")
    ap.add_argument("--models", default="models")
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--out", default="docs/heatmap.md")
    args = ap.parse_args()
    samples = read_ham10000(Path(args.data))
    split = read_split(samples, Path(args.models) / "split.csv")
    test = [s for s in samples if split[str(s.path)] == "test" and s.box is not None][:args.limit]
    pipeline = skindoctor.load(args.models)
    peak, mass, area = [], [], []
    for s in test:
        img = load_rgb(s.path)
        a = pipeline.analyse(img)
        if a.prediction is None:
            continue
        h, w = img.shape[:2]
        box = (s.box[0] * w, s.box[1] * h, s.box[2] * w, s.box[3] * h)
        heat = a.prediction.heatmap()
        inside = cells_in_box(a.crop_box, heat.shape, box)
        peak.append(inside[np.unravel_index(heat.argmax(), heat.shape)])
        mass.append((heat * inside).sum() / max(heat.sum(), 1e-9))
        area.append(inside.mean())
    lines = [
        "# Heat map: does it point at the lesion?", "",
        f"`python bench/heatmap.py --limit {args.limit}`: the shipped int8 model's class activation map for its top "
        f"class (the card's heat map) on {len(peak)} HAM10000 test-split photos through the product's photo path, "
        "against the lesion box from each photo's mask.", "",
        "| measure | value |", "|---|---|",
        f"| hottest cell inside the lesion box | {np.mean(peak):.0%} |",
        f"| share of the map's heat inside the lesion box | {np.mean(mass):.0%} |",
        f"| share of the map's cells inside the lesion box (what an even map would give) | {np.mean(area):.0%} |",
        "",
        f"The map is {heatmap_grid_size(pipeline)} cells over the analysed square "
        "(the network's last convolution), so it "
        f"is coarse, and it puts only {100 * (np.mean(mass) - np.mean(area)):.0f} percentage points more of its heat "
        "on the lesion than an even map "
        "would: the network also uses the skin around the lesion. The map shows what the network used, not where the "
        "lesion is, and the page words it that way (\"the parts of the picture that weighed most\").",
    ]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


def heatmap_grid_size(pipeline: Pipeline) -> str:
    side = pipeline.classifier.spec.size // 32
    return f"{side}×{side}"


if __name__ == "__main__":
    main()
