"""Does the heat map point at the lesion? A pointing game on held-out photos with hand-drawn masks → docs/heatmap.md.

Each photo goes through the product's photo path; on the analysed square, a map "points" where it is hottest, and
it scores when that point lies inside the lesion's mask. Maps: the classifier's class activation map for its top
class (5×5 cells, as one view and averaged over its four mirror views), the localiser's own
lesion map, and two baselines that know nothing of the picture: the centre of the square, and an even map (its
score: the share of the square the lesion covers). HAM10000 test split (ISIC masks) and PAD-UFES-20 test split (the
primary hand-drawn mask).

    python bench/heatmap.py [--data ../shared/data] [--limit 300]
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

import skindoctor
from skindoctor.train.collection import read_pad_masks, read_pad_ufes
from skindoctor.train.data import load_rgb, read_ham10000, read_split
from skindoctor.train.localizer import mask_path, read_mask
from skindoctor.vision.classifier import VIEW_AXES
from skindoctor.vision.localize import working_copy
from skindoctor.vision.preprocess import resize_square

MAPS = ("class activation map, one view", "class activation map, averaged over 4 mirror views",
        "localiser's lesion map", "centre of the square (baseline)", "even map (baseline)")


def photos(data: Path, split_csv: Path, limit: int) -> dict[str, list[tuple[np.ndarray, np.ndarray]]]:
    """(photo, mask) pairs of each test split."""
    ham = read_ham10000(data / "ham10000")
    split = read_split(ham, split_csv)
    out = {"HAM10000 test": []}
    for s in [s for s in ham if split[str(s.path)] == "test"][:limit]:
        image = load_rgb(s.path, 10_000)
        mask = read_mask(mask_path(s), image.shape[:2])
        if mask is not None and mask.any():
            out["HAM10000 test"].append((image, mask))
    pad = [s for name in ("pad_ufes_20_partial", "pad_ufes_20_more") for s in read_pad_ufes(data / name)]
    pad_split, masks = read_split(pad, split_csv), read_pad_masks(data / "pad_ufes_20_masks")
    out["PAD-UFES-20 test"] = []
    for s in [s for s in pad if pad_split[str(s.path)] == "test" and s.path.stem in masks][:limit]:
        image = load_rgb(s.path, 10_000)
        mask = read_mask(masks[s.path.stem][0], image.shape[:2])
        if mask is not None and mask.any():
            out["PAD-UFES-20 test"].append((image, mask))
    return out


def hits(pipeline, image: np.ndarray, mask: np.ndarray) -> dict[str, float] | None:
    """Per map, 1 when its hottest point on the analysed square is inside the lesion (even map: the lesion's share)."""
    a = pipeline.analyse(image)
    if a.prediction is None or a.crop_box is None:
        return None
    b, clf = a.crop_box, pipeline.classifier
    square_mask = cv2.resize(mask[b.y0:b.y1, b.x0:b.x1], (160, 160), interpolation=cv2.INTER_NEAREST) > 127
    square = resize_square(image[b.y0:b.y1, b.x0:b.x1], clf.spec.size)
    top = a.prediction.top_index
    maps = {MAPS[0]: clf.predict(square).heatmap(top), MAPS[1]: clf.predict(square, len(VIEW_AXES)).heatmap(top)}
    _, prob = pipeline.localizer.heatmap(image, working_copy(image))
    maps[MAPS[2]] = cv2.resize(prob, image.shape[1::-1], interpolation=cv2.INTER_LINEAR)[b.y0:b.y1, b.x0:b.x1]
    out = {}
    for name, m in maps.items():
        y, x = np.unravel_index(np.argmax(m), m.shape)
        out[name] = float(square_mask[int((y + 0.5) / m.shape[0] * 160), int((x + 0.5) / m.shape[1] * 160)])
    out[MAPS[3]] = float(square_mask[80, 80])
    out[MAPS[4]] = float(square_mask.mean())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--models", default="models")
    ap.add_argument("--limit", type=int, default=300)
    ap.add_argument("--out", default="docs/heatmap.md")
    args = ap.parse_args()
    pipeline = skindoctor.load(args.models)
    sets = photos(Path(args.data), Path(args.models) / "split.csv", args.limit)
    scores = {}
    for name, pairs in sets.items():
        rows = [r for image, mask in pairs if (r := hits(pipeline, image, mask)) is not None]
        scores[name] = {m: float(np.mean([r[m] for r in rows])) for m in MAPS} | {"n": len(rows)}
        print(name, scores[name])
    names = list(scores)
    lines = ["# Heat map: does it point at the lesion?", "",
             f"`python bench/heatmap.py --limit {args.limit}`: a pointing game on the test splits' photos with "
             "hand-drawn masks, through the product's photo path (the shipped models). A map scores when its hottest "
             "point on the analysed square lies inside the lesion's mask; the even map's score is the share of the "
             "square the lesion covers.", "",
             "| map | " + " | ".join(f"{n} ({scores[n]['n']} photos)" for n in names) + " |",
             "|---|" + "---|" * len(names)]
    lines += [f"| {m} | " + " | ".join(f"{scores[n][m]:.0%}" for n in names) + " |" for m in MAPS]
    beats = all(scores[n][MAPS[1]] > scores[n][MAPS[3]] for n in names)
    lines += ["", "The one-view map leans to one side of the square (its hottest cell is mostly outside the lesion); "
              "averaging over the four mirror views cancels that lean. "
              + ("It points at the lesion more often than the centre of the square does, so it tells more than the "
                 "crop's framing." if beats else
                 "Even so it never beats the centre of the analysed square, which knows nothing of the picture: the "
                 "square is centred on the lesion, so the map adds nothing a person can use and the page shows none "
                 "(the API still returns it as `heatmap`).")]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
