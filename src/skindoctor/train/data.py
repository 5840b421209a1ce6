"""Datasets users bring: a folder per class, or a CSV of image + label (HAM10000 metadata format).

Also the lesion-grouped stratified split (written to a CSV so results are reproducible) and an
in-memory cache of decoded images: on two CPU cores, decoding every epoch would cost more than
the augmentations.
"""

from __future__ import annotations

import csv
import logging
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from pathlib import Path

import cv2
import numpy as np
from sklearn.model_selection import StratifiedGroupKFold

log = logging.getLogger(__name__)

IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".webp", ".tif", ".tiff"}
CACHE_MAX_SIDE = 320  # decoded images are shrunk to this longest side before caching


@dataclass(frozen=True)
class Sample:
    """One labelled image; ``group`` keeps images of one lesion (or patient) together; ``box`` is
    (x0, y0, x1, y1) as fractions of width/height, when known; ``domain`` names the kind of picture
    (dermoscopic, phone, nonlesion…) for sampling and per-domain metrics."""

    path: Path
    label: str
    group: str
    box: tuple[float, float, float, float] | None = None
    domain: str = ""


def read_folder(root: str | Path) -> list[Sample]:
    """``root/<class>/<image>``: every image is its own group (no lesion ids are known)."""
    root = Path(root)
    if not root.is_dir():
        raise FileNotFoundError(f"dataset folder not found: {root}")
    samples = [
        Sample(path=p, label=d.name, group=f"{d.name}/{p.stem}")
        for d in sorted(root.iterdir()) if d.is_dir()
        for p in sorted(d.iterdir()) if p.suffix.lower() in IMAGE_SUFFIXES
    ]
    if not samples:
        raise ValueError(f"no images in class sub-folders of {root}")
    return samples


def read_csv(csv_path: str | Path, images_dir: str | Path | None = None,
             image_col: str = "image_id", label_col: str = "dx", group_col: str = "lesion_id",
             image_size: tuple[int, int] | None = None) -> list[Sample]:
    """A CSV with one row per image (HAM10000 ``metadata.csv`` columns by default).

    ``image_col`` holds a file name, with or without suffix, relative to ``images_dir`` (default:
    ``images/`` beside the CSV). Optional ``top, bottom, left, right`` pixel boxes (as in
    ``metadata_with_boxes.csv``) are kept when ``image_size`` (width, height) is given.
    """
    csv_path = Path(csv_path)
    images_dir = Path(images_dir) if images_dir else csv_path.parent / "images"
    if not csv_path.is_file():
        raise FileNotFoundError(f"label CSV not found: {csv_path}")
    samples = []
    with csv_path.open(newline="") as f:
        for row in csv.DictReader(f):
            name = row[image_col]
            path = images_dir / name
            if not path.suffix:
                path = path.with_suffix(".jpg")
            box = None
            if image_size and all(row.get(k) for k in ("top", "bottom", "left", "right")):
                w, h = image_size
                box = (float(row["left"]) / w, float(row["top"]) / h,
                       float(row["right"]) / w, float(row["bottom"]) / h)
            samples.append(Sample(path=path, label=row[label_col],
                                  group=row.get(group_col) or name, box=box))
    if not samples:
        raise ValueError(f"no rows in {csv_path}")
    return samples


def read_ham10000(root: str | Path) -> list[Sample]:
    """The shared HAM10000 copy: ``metadata_with_boxes.csv`` + ``images/`` (200 × 150)."""
    root = Path(root)
    boxed = root / "metadata_with_boxes.csv"
    if boxed.is_file():
        samples = read_csv(boxed, root / "images", image_size=(200, 150))
    else:
        samples = read_csv(root / "metadata.csv", root / "images")
    return [replace(s, domain="dermoscopic") for s in samples]


def split_by_group(samples: list[Sample], val: float = 0.15, test: float = 0.15,
                   seed: int = 0) -> dict[str, str]:
    """Stratified split with every group (lesion) in exactly one split; returns path → split."""
    labels = np.array([s.label for s in samples])
    groups = np.array([s.group for s in samples])
    index = np.arange(len(samples))

    def carve(idx: np.ndarray, share: float) -> tuple[np.ndarray, np.ndarray]:
        folds = StratifiedGroupKFold(n_splits=round(1 / share), shuffle=True, random_state=seed)
        rest, held = next(folds.split(idx, labels[idx], groups[idx]))
        return idx[rest], idx[held]

    rest, test_idx = carve(index, test)
    train_idx, val_idx = carve(rest, val / (1 - test))
    split = {}
    for name, idx in (("train", train_idx), ("val", val_idx), ("test", test_idx)):
        for i in idx:
            split[str(samples[i].path)] = name
    return split


def write_split(samples: list[Sample], split: dict[str, str], path: str | Path) -> None:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["image", "label", "group", "split", "domain"])
        for s in samples:
            w.writerow([s.path.name, s.label, s.group, split[str(s.path)], s.domain])


def append_split(samples: list[Sample], split: dict[str, str], path: str | Path) -> None:
    """Add rows for ``samples`` (not yet listed) to a split file."""
    with Path(path).open("a", newline="") as f:
        w = csv.writer(f)
        for s in samples:
            w.writerow([s.path.name, s.label, s.group, split[str(s.path)], s.domain])


def split_names(path: str | Path) -> dict[str, str]:
    """A split file's image file name → part."""
    with Path(path).open(newline="") as f:
        return {row["image"]: row["split"] for row in csv.DictReader(f)}


def read_split(samples: list[Sample], path: str | Path) -> dict[str, str]:
    """Re-apply a split file (matched by image file name)."""
    by_name = split_names(path)
    missing = [s.path.name for s in samples if s.path.name not in by_name]
    if missing:
        raise ValueError(f"{len(missing)} images are not in split file {path}, e.g. {missing[0]}")
    return {str(s.path): by_name[s.path.name] for s in samples}


def load_rgb(path: str | Path, max_side: int = CACHE_MAX_SIDE) -> np.ndarray:
    """Decode an image file to RGB uint8, shrunk so its longest side is at most ``max_side``."""
    bgr = cv2.imread(str(path), cv2.IMREAD_COLOR)
    if bgr is None:
        raise ValueError(f"cannot decode image: {path}")
    h, w = bgr.shape[:2]
    if max(h, w) > max_side:
        f = max_side / max(h, w)
        bgr = cv2.resize(bgr, (round(w * f), round(h * f)), interpolation=cv2.INTER_AREA)
    return cv2.cvtColor(bgr, cv2.COLOR_BGR2RGB)


def load_images(samples: list[Sample], workers: int = 2, max_side: int = CACHE_MAX_SIDE) -> list[np.ndarray]:
    """Decode all images once (kept in memory for the whole training run)."""
    with ThreadPoolExecutor(workers) as pool:
        return list(pool.map(lambda s: load_rgb(s.path, max_side), samples))
