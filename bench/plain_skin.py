"""Build a "skin without a lesion" set from HAM10000 photos, for training and `skindoctor evaluate`.

From each test-split photo it cuts the largest square that lies wholly outside the lesion mask
(with a margin), if that square is at least ``--min-side`` pixels, and enlarges it to a 320 × 320
camera-like frame. The result is a labelled set (``labels.csv``: filename, label ``nolesion``,
group = the source lesion, split = the source photo's split):

    python bench/plain_skin.py --parts train val test --out runs/plain_skin
    skindoctor train --data ../shared/data --data runs/plain_skin …   # the crops follow their lesion's split

With ``--parts test`` only, the set shares no lesion with training or validation and can be scored
alone: ``skindoctor evaluate --data runs/plain_skin --name plain_skin_test``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from skindoctor.train.collection import NONLESION
from skindoctor.train.data import read_ham10000, read_split

FRAME = 320


def plain_square(mask: np.ndarray, margin: int = 4) -> tuple[int, int, int] | None:
    """(x, y, half-side) of the largest square free of lesion pixels (plus ``margin``), or None."""
    free = (mask <= 127).astype(np.uint8)
    free = cv2.erode(free, np.ones((2 * margin + 1, 2 * margin + 1), np.uint8))
    free[0, :] = free[-1, :] = free[:, 0] = free[:, -1] = 0  # the border counts as an edge too
    dist = cv2.distanceTransform(free, cv2.DIST_C, 3)  # chessboard distance: square neighbourhoods
    y, x = np.unravel_index(int(dist.argmax()), dist.shape)
    half = int(dist[y, x]) - 1  # every pixel of the square strictly nearer than the nearest lesion pixel
    return (int(x), int(y), half) if half > 0 else None


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--data", default="../shared/data/ham10000")
    ap.add_argument("--split", default="models/split.csv")
    ap.add_argument("--out", default="runs/plain_skin")
    ap.add_argument("--min-side", type=int, default=40, help="smallest square cut, in 200 × 150 photo pixels")
    ap.add_argument("--parts", nargs="+", default=["test"], help="which splits' photos to cut from")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    samples = read_ham10000(data)
    split = read_split(samples, args.split)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for s in samples:
        if split[str(s.path)] not in args.parts:
            continue
        mask = cv2.imread(str(data / "masks" / f"{s.path.stem}_segmentation.png"), cv2.IMREAD_GRAYSCALE)
        found = plain_square(mask) if mask is not None else None
        if found is None or 2 * found[2] < args.min_side:
            continue
        x, y, half = found
        img = cv2.imread(str(s.path))
        patch = cv2.resize(img[y - half:y + half, x - half:x + half], (FRAME, FRAME), interpolation=cv2.INTER_CUBIC)
        name = f"{s.path.stem}_skin.jpg"
        cv2.imwrite(str(out / "images" / name), patch, [cv2.IMWRITE_JPEG_QUALITY, 90])
        rows.append([f"images/{name}", NONLESION, s.group, split[str(s.path)]])
    with (out / "labels.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "label", "group", "split"])
        w.writerows(rows)
    print(f"wrote {len(rows)} plain-skin frames to {out}")


if __name__ == "__main__":
    main()
