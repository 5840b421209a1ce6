"""Wide-field test frames: a phone held at arm's length, the spot small somewhere in the picture.

Each frame takes one held-out smartphone lesion (PAD-UFES-20, one split part, by patient) with its primary
hand-drawn mask and pastes it, with a ring of its own skin, at 0.5–10 % of the frame's area anywhere in the
frame (border included) into another patient's photo of the same part with every annotator's lesion painted
out, then applies camera effects (``train.composite.scene`` with ``wide``). Frames, masks and a ``labels.csv``
in the shared sets' format are written to a folder, so ``skindoctor evaluate --data`` scores it like any set.
"""

from __future__ import annotations

import csv
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

FRAME_SIZE = (1280, 960)  # a phone photo's framing at a size the composed skin still carries detail for


@dataclass(frozen=True)
class WideFrame:
    image: np.ndarray  # RGB uint8
    mask: np.ndarray  # 255 = lesion
    label: str
    group: str  # the lesion's patient


def phone_set(data: Path, split_csv: Path, part: str = "test"):
    """``part``'s phone photos with their masks and painted out (``train.localizer.phone_photos``), loaded once for
    both kinds of frame."""
    from ..train.localizer import phone_photos

    return phone_photos(data, split_csv, parts=(part,))[part]


def wide_frames(phones, n: int = 300, seed: int = 0, size: tuple[int, int] = FRAME_SIZE) -> list[WideFrame]:
    """``n`` frames from a ``phone_set``, each lesion on a painted-out photo of another patient."""
    from ..train.composite import scene
    from ..vision.localize import mask_box

    rng = np.random.default_rng(seed)
    frames = []
    while len(frames) < n:
        photo = phones.photos[len(frames) % len(phones.photos)]
        others = [p.image for p in phones.skins if p.group != photo.group]
        image, mask = scene(photo, others, rng, size=size, wide=True)
        if mask_box(mask) is not None:
            frames.append(WideFrame(image, mask, photo.label, photo.group))
    return frames


def bare_frames(phones) -> list[WideFrame]:
    """A ``phone_set``'s photos with every annotator's lesion painted out, as they are (label ``nolesion``): skin
    with its ink circles, hair and wrinkles, but any spot nobody annotated stays too."""
    from ..train.collection import NONLESION

    return [WideFrame(p.image, np.zeros(p.image.shape[:2], np.uint8), NONLESION, p.group) for p in phones.skins]


def write_set(frames: list[WideFrame], out: Path) -> Path:
    """``out/images/*.png``, ``out/masks/*.png`` and ``out/labels.csv`` (filename, label, group)."""
    (out / "images").mkdir(parents=True, exist_ok=True)
    (out / "masks").mkdir(exist_ok=True)
    with (out / "labels.csv").open("w", newline="") as f:
        w = csv.writer(f)
        w.writerow(["filename", "label", "group"])
        for i, fr in enumerate(frames):
            name = f"wide_{i:04d}.png"
            cv2.imwrite(str(out / "images" / name), cv2.cvtColor(fr.image, cv2.COLOR_RGB2BGR))
            cv2.imwrite(str(out / "masks" / name), fr.mask)
            w.writerow([f"images/{name}", fr.label, fr.group])
    return out
