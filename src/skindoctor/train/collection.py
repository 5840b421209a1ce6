"""The shared data collection as one mixed-domain training set.

``../shared/data`` holds several labelled sets in one format (``labels.csv``: filename, label,
group): HAM10000 (dermoscopic), PAD-UFES-20 (smartphone photos), everyday non-lesion photos and
extra ISIC dermoscopic images. Each becomes ``Sample``s tagged with a domain; the split keeps
HAM10000's lesion-grouped split (so its test split stays comparable) and splits the phone photos
by PATIENT. ``isic2018_test224`` is an external test set and is never read here.
"""

from __future__ import annotations

import re
from dataclasses import replace
from pathlib import Path

from .data import Sample, read_csv, read_ham10000, read_split, split_by_group, split_names

NONLESION = "nolesion"  # the class for everyday photos and skin without a lesion
EVERYDAY = "nonlesion"  # the domain of everyday photos: no skin in view
PLAIN_SKIN = "plain_skin"  # the domain of skin cut beside the lesion in HAM10000 photos (bench/plain_skin.py)
TEST_ONLY = {"isic2018_test224"}


def read_labelled_set(root: str | Path, domain: str) -> list[Sample]:
    """A set in the shared ``labels.csv`` format (filename relative to ``root``, label, group)."""
    root = Path(root)
    samples = read_csv(root / "labels.csv", root, image_col="filename", label_col="label", group_col="group")
    return [replace(s, domain=domain) for s in samples]


def read_pad_ufes(root: str | Path) -> list[Sample]:
    """PAD-UFES-20 smartphone photos, grouped by patient (``PAT_<patient>_<lesion>_<image>``)."""
    samples = read_labelled_set(root, "phone")
    return [replace(s, group=f"patient_{m.group(1)}" if (m := re.match(r"PAT_(\d+)_", s.path.name)) else s.group)
            for s in samples]


def read_nonlesion(root: str | Path) -> list[Sample]:
    """Everyday photos: the ``nolesion`` class."""
    return [replace(s, label=NONLESION) for s in read_labelled_set(root, EVERYDAY)]


def read_isic_extra(root: str | Path) -> list[Sample]:
    """Extra ISIC dermoscopic images, only those whose label is ISIC 2019 ground truth (``|gt2019``)."""
    import csv

    root = Path(root)
    with (root / "labels.csv").open(newline="") as f:
        verified = {r["filename"] for r in csv.DictReader(f) if r["orig_label"].endswith("|gt2019")}
    samples = read_csv(root / "labels.csv", root, image_col="filename", label_col="label", group_col="filename")
    return [replace(s, domain="dermoscopic-extra") for s in samples if s.path.name in verified]


def read_isic2019(root: str | Path) -> list[Sample]:
    """ISIC 2019/2020 dermoscopic images outside HAM10000, isic9_180 and the ISIC 2018 test set (``isic2019_extra/``,
    official labels, grouped by lesion or patient; most are 84-px thumbnails): training only, as extra dermoscopy."""
    root = Path(root)
    samples = read_csv(root / "labels.csv", root / "images", image_col="filename", label_col="label", group_col="group")
    return [replace(s, domain="dermoscopic-extra") for s in samples]


def read_pad_masks(root: str | Path) -> dict[str, list[Path]]:
    """PAD-UFES-20 photo id → its hand-drawn masks (``pad_ufes_20_masks/``), the primary annotation first."""
    import csv

    root = Path(root)
    masks: dict[str, list[tuple[int, Path]]] = {}
    with (root / "labels.csv").open(newline="") as f:
        for r in csv.DictReader(f):
            masks.setdefault(r["id"], []).append((r["primary"] != "1", root / r["mask_file"]))
    return {k: [path for _, path in sorted(v)] for k, v in masks.items()}


def with_mask_boxes(samples: list[Sample], masks: dict[str, list[Path]]) -> list[Sample]:
    """Each photo with its primary mask's bounding box (fractions of the photo), so training can cut around the
    lesion at many scales as for a dermoscopic photo; photos without a readable mask keep no box."""
    import cv2

    from ..vision.localize import mask_box

    def box(s: Sample) -> tuple[float, float, float, float] | None:
        paths = masks.get(s.path.stem)
        mask = cv2.imread(str(paths[0]), cv2.IMREAD_GRAYSCALE) if paths else None
        b = mask_box(mask) if mask is not None else None
        if b is None:
            return None
        h, w = mask.shape
        return b.x0 / w, b.y0 / h, b.x1 / w, b.y1 / h

    return [replace(s, box=box(s)) for s in samples]


READERS = {
    "ham10000": read_ham10000,
    "pad_ufes_20_partial": read_pad_ufes,
    "pad_ufes_20_more": read_pad_ufes,
    "nonlesion": read_nonlesion,
    "isic9_180": read_isic_extra,
    "isic2019_extra": read_isic2019,
}


def is_collection(root: str | Path) -> bool:
    return (Path(root) / "ham10000").is_dir()


def read_collection(root: str | Path) -> list[Sample]:
    """Every known training set present under ``root`` (test-only sets are skipped); phone photos carry their
    hand-drawn mask's box when ``pad_ufes_20_masks/`` is there."""
    root = Path(root)
    samples: list[Sample] = []
    masks = read_pad_masks(root / "pad_ufes_20_masks") if (root / "pad_ufes_20_masks").is_dir() else {}
    for name, reader in READERS.items():
        if (root / name).is_dir():
            part = reader(root / name)
            samples += with_mask_boxes(part, masks) if reader is read_pad_ufes and masks else part
    return samples


def split_collection(samples: list[Sample], ham_split: str | Path | None = None,
                     seed: int = 0) -> dict[str, str]:
    """path → train/val/test. HAM10000 follows ``ham_split`` when given (else its own lesion-grouped
    70/15/15 split); phone photos and non-lesion photos are split 60/20/20 by group (patient);
    the extra ISIC images (noisy source) only ever train; plain skin cut beside a lesion goes where
    that lesion goes."""
    split: dict[str, str] = {}
    by_domain: dict[str, list[Sample]] = {}
    for s in samples:
        by_domain.setdefault(s.domain, []).append(s)
    for domain, part in sorted(by_domain.items(), key=lambda kv: kv[0] == PLAIN_SKIN):
        if domain == PLAIN_SKIN:  # skin cut beside a lesion follows that lesion's split
            lesion_split = {s.group: split[str(s.path)] for s in by_domain.get("dermoscopic", [])}
            split.update({str(s.path): lesion_split.get(s.group, "train") for s in part})
        elif domain == "dermoscopic-extra":
            split.update({str(s.path): "train" for s in part})
        elif domain == "dermoscopic":
            split.update(read_split(part, ham_split) if ham_split else split_by_group(part, seed=seed))
        else:
            split.update(split_by_group(part, val=0.2, test=0.2, seed=seed))
    return split


def extend_split(samples: list[Sample], known: dict[str, str], seed: int = 0) -> dict[str, str]:
    """path → part for ``samples`` given a split file's ``known`` image name → part: listed images keep their part,
    an unlisted image whose group (lesion, patient; in any domain, so skin cut from a patient's photo goes where the
    patient goes) is listed joins that group's part, and new groups are split as
    ``split_collection`` splits them, so a held-out patient stays held out when more of their photos arrive."""
    group_part = {}
    for s in samples:
        if s.path.name in known:
            group_part.setdefault(s.group, known[s.path.name])
    split = {str(s.path): known.get(s.path.name) or group_part.get(s.group) for s in samples}
    fresh = [s for s in samples if split[str(s.path)] is None]
    if fresh:
        split.update(split_collection(fresh, seed=seed))
    return split


def apply_split(samples: list[Sample], split_csv: str | Path, seed: int = 0) -> dict[str, str]:
    """path → part from a split file, as training applies it (``extend_split``): an image the file does not list (a
    regenerated set's new square) goes where its patient or lesion goes."""
    return extend_split(samples, split_names(split_csv), seed)
