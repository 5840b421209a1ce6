"""Build a "skin without a lesion" set from HAM10000 or phone photos, for training and `skindoctor evaluate`.

From each photo of the chosen split parts it cuts the largest square that lies wholly outside the
lesion mask (with a margin; for phone photos outside every annotator's mask), if that square is at
least ``--min-side`` pixels, and enlarges it to a 320 × 320 camera-like frame. The result is a
labelled set (``labels.csv``: filename, label ``nolesion``, group = the source lesion or patient,
split = the source photo's split):

    python bench/plain_skin.py --parts train val test --out runs/plain_skin
    python bench/plain_skin.py --source phone --parts train val test --out runs/phone_skin
    skindoctor train --data ../shared/data --data runs/plain_skin --data runs/phone_skin …

The crops follow their lesion's (patient's) split. With ``--parts test`` only, the set shares no
lesion with training or validation and can be scored alone:
``skindoctor evaluate --data runs/plain_skin --name plain_skin_test``.
"""

from __future__ import annotations

import argparse
import csv
from pathlib import Path

import cv2
import numpy as np

from skindoctor.train.collection import NONLESION, read_pad_masks, read_pad_ufes
from skindoctor.train.data import Sample, read_ham10000, read_split

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


def ham_photos(data: Path) -> list[tuple[Sample, list[Path]]]:
    """HAM10000 photos (``--data`` is its folder) with their one mask."""
    return [(s, [data / "masks" / f"{s.path.stem}_segmentation.png"]) for s in read_ham10000(data)]


def phone_photos(data: Path) -> list[tuple[Sample, list[Path]]]:
    """PAD-UFES-20 photos (``--data`` is the shared folder) with every annotator's mask; photos without one are left
    out (their lesion's extent is unknown)."""
    masks = read_pad_masks(data / "pad_ufes_20_masks")
    samples = [s for name in ("pad_ufes_20_partial", "pad_ufes_20_more") if (data / name).is_dir()
               for s in read_pad_ufes(data / name)]
    return [(s, masks[s.path.stem]) for s in samples if s.path.stem in masks]


def lesion_mask(paths: list[Path]) -> np.ndarray | None:
    """The union of a photo's masks (255 = lesion), or None when one cannot be read."""
    masks = [cv2.imread(str(p), cv2.IMREAD_GRAYSCALE) for p in paths]
    if any(m is None for m in masks) or len({m.shape for m in masks}) != 1:
        return None
    return np.max(masks, axis=0)


SOURCES = {"ham": ham_photos, "phone": phone_photos}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--source", choices=sorted(SOURCES), default="ham")
    ap.add_argument("--data", help="HAM10000's folder (ham, default ../shared/data/ham10000) or the shared data "
                                   "folder (phone, default ../shared/data)")
    ap.add_argument("--split", default="models/split.csv")
    ap.add_argument("--out", default="runs/plain_skin")
    ap.add_argument("--min-side", type=int, default=40, help="smallest square cut, in the photo's pixels")
    ap.add_argument("--parts", nargs="+", default=["test"], help="which splits' photos to cut from")
    args = ap.parse_args()
    data = Path(args.data or ("../shared/data/ham10000" if args.source == "ham" else "../shared/data"))
    out = Path(args.out)
    photos = SOURCES[args.source](data)
    split = read_split([s for s, _ in photos], args.split)
    (out / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for s, mask_paths in photos:
        if split[str(s.path)] not in args.parts:
            continue
        mask = lesion_mask(mask_paths)
        found = plain_square(mask) if mask is not None else None
        if found is None or 2 * found[2] < args.min_side:
            continue
        x, y, half = found
        img = cv2.imread(str(s.path))
        if img is None or img.shape[:2] != mask.shape:
            continue
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
