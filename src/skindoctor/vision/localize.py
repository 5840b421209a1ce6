"""Lesion localisation: find the lesion's box in a frame and cut a square crop around it.

A lesion is darker and more saturated than the skin around it. On a small working copy of the
frame we score each pixel by its colour distance from the skin (Lab, skin taken as the frame's
brighter half), split lesion from skin with Otsu's threshold, and keep the connected component
that is large, compact and central, penalising dark vignette corners and ruler marks that touch the
frame's border. About a millisecond per frame; measured against HAM10000's masks in
docs/localization.md.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Protocol

import cv2
import numpy as np

WORK_SIDE = 128  # longest side of the working copy


@dataclass(frozen=True)
class ColourSettings:
    """The colour localiser's numbers, all of them (the pipeline spec carries them to the browser's port)."""

    name: str = "colour"
    channel_weights: tuple[float, float, float] = (1.0, 1.4, 1.4)  # L, a, b: colour counts more than brightness
    blur: int = 5  # side of the Gaussian blur applied before scoring
    kernel: int = 5  # side of the ellipse that opens and closes the lesion mask
    lighter_by: float = 5.0  # a pixel lighter than the skin by more than this (L units) ...
    lighter_weight: float = 0.3  # ... keeps this share of its distance: lesions are darker than skin
    centre_weight: float = 1.2  # a region scores area × (this − its centre's distance from the frame's) ...
    border_weight: float = 0.55  # ... × this when it touches the frame's border (vignettes, rulers) ...
    fill_offset: float = 0.5  # ... × (this + the share of its box it fills)
    min_area: float = 0.004  # lesion pixels / frame pixels, below which a region is not a lesion
    min_contrast: float = 8.0  # colour distance from the skin (Lab units) a lesion needs


@dataclass(frozen=True)
class CropSettings:
    """The square cut around a lesion box for the classifier."""

    margin: float = 0.3  # grown by this share of the box's longer side on each side
    min_side: int = 8  # pixels, however small the box


def working_copy(frame: np.ndarray, side: int = WORK_SIDE) -> np.ndarray:
    """The frame shrunk to ``side`` on its longest side: made once per frame, shared by the
    quality gate and the localiser (shrinking a 640×480 frame is a good part of their cost)."""
    h, w = frame.shape[:2]
    f = side / max(h, w)
    return cv2.resize(frame, (max(1, round(w * f)), max(1, round(h * f))), interpolation=cv2.INTER_AREA)


@dataclass(frozen=True)
class Box:
    """Pixel box (x0, y0) inclusive to (x1, y1) exclusive, in frame coordinates."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    def iou(self, other: Box) -> float:
        ix = max(0, min(self.x1, other.x1) - max(self.x0, other.x0))
        iy = max(0, min(self.y1, other.y1) - max(self.y0, other.y0))
        inter = ix * iy
        union = self.width * self.height + other.width * other.height - inter
        return inter / union if union else 0.0

    def contains(self, other: Box) -> bool:
        return self.x0 <= other.x0 and self.y0 <= other.y0 and self.x1 >= other.x1 and self.y1 >= other.y1

    def as_list(self) -> list[int]:
        return [self.x0, self.y0, self.x1, self.y1]


def mask_box(mask: np.ndarray) -> Box | None:
    """The bounding box of a mask's lesion pixels (>127), or None when it has none."""
    ys, xs = np.nonzero(mask > 127)
    return Box(int(xs.min()), int(ys.min()), int(xs.max()) + 1, int(ys.max()) + 1) if len(xs) else None


@dataclass(frozen=True)
class Localization:
    box: Box | None
    area_fraction: float  # lesion pixels / frame pixels
    contrast: float  # colour distance lesion vs skin (Lab units)


class Localizer(Protocol):
    """What the pipeline needs of a localiser; a learned one drops in by passing it to ``skindoctor.load``."""

    def locate(self, frame: np.ndarray, small: np.ndarray | None = None) -> Localization:
        """The lesion's box in ``frame`` (RGB uint8), or none; ``small`` is its working copy, if made."""
        ...


def look_wider(localizer: Localizer, frame: np.ndarray, skin: Box | None = None) -> Localization:
    """The localiser's second search of a frame of skin where ``locate`` found nothing (its own ``look_wider``;
    ``skin``: the part of the frame that holds its skin, ``QualityGate.skin_part``); nothing for a localiser that
    has none."""
    search = getattr(localizer, "look_wider", None)
    return search(frame, skin) if search is not None else Localization(None, 0.0, 0.0)


class LesionLocalizer:
    """The colour localiser: ``locate(frame)`` → the most plausible lesion box (or none)."""

    name = ColourSettings.name

    def __init__(self, settings: ColourSettings = ColourSettings()):
        self.settings = settings

    def locate(self, frame: np.ndarray, small: np.ndarray | None = None) -> Localization:
        """``small``: the frame's working copy, when the caller already made one (see ``working_copy``)."""
        c = self.settings
        h, w = frame.shape[:2]
        small = working_copy(frame) if small is None else small
        f = small.shape[1] / w
        small = cv2.GaussianBlur(small, (c.blur, c.blur), 0)
        lab = cv2.cvtColor(small, cv2.COLOR_RGB2LAB).astype(np.float32)
        lightness = lab[..., 0]
        bright_half = (lightness >= np.median(lightness)).astype(np.uint8)
        skin = np.float32(cv2.mean(lab, mask=bright_half)[:3])
        diff = lab - skin
        distance = np.sqrt((diff * diff) @ np.float32(c.channel_weights))
        distance[lightness > skin[0] + c.lighter_by] *= c.lighter_weight
        score = cv2.normalize(distance, None, 0, 255, cv2.NORM_MINMAX).astype(np.uint8)
        _, mask = cv2.threshold(score, 0, 255, cv2.THRESH_BINARY + cv2.THRESH_OTSU)
        kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (c.kernel, c.kernel))
        mask = cv2.morphologyEx(mask, cv2.MORPH_OPEN, kernel)
        mask = cv2.morphologyEx(mask, cv2.MORPH_CLOSE, kernel)
        n, labels, stats, centroids = cv2.connectedComponentsWithStats(mask, connectivity=8)
        sh, sw = mask.shape
        best, best_score = 0, 0.0
        for i in range(1, n):
            x, y, bw, bh, area = stats[i]
            frac = area / (sh * sw)
            if frac < c.min_area:
                continue
            cx, cy = centroids[i]
            off_centre = np.hypot((cx - sw / 2) / sw, (cy - sh / 2) / sh)
            touches_border = x == 0 or y == 0 or x + bw == sw or y + bh == sh  # one penalty, however many sides
            fill = area / (bw * bh)
            border = c.border_weight if touches_border else 1.0
            s = area * (c.centre_weight - off_centre) * border * (c.fill_offset + fill)
            if s > best_score:
                best, best_score = i, s
        if best == 0:
            return Localization(None, 0.0, 0.0)
        x, y, bw, bh, area = stats[best]
        region = labels == best
        contrast = float(np.sqrt(((lab[region].mean(axis=0) - skin) ** 2).sum()))
        if contrast < c.min_contrast:
            return Localization(None, float(area / (sh * sw)), contrast)
        box = Box(int(x / f), int(y / f), min(w, int(np.ceil((x + bw) / f))), min(h, int(np.ceil((y + bh) / f))))
        return Localization(box, float(area / (sh * sw)), contrast)


def square_crop(frame: np.ndarray, box: Box, crop: CropSettings = CropSettings()) -> tuple[np.ndarray, Box]:
    """A square around ``box`` grown by ``crop.margin`` on each side, kept inside the frame: shifted rather
    than padded at the edges, and never larger than the frame's short side (padding with reflected
    skin measured worse on validation photos than staying inside the picture)."""
    h, w = frame.shape[:2]
    side = min(max(int(round(max(box.width, box.height) * (1 + 2 * crop.margin))), crop.min_side), h, w)
    cx, cy = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    x0 = int(min(max(round(cx - side / 2), 0), w - side))
    y0 = int(min(max(round(cy - side / 2), 0), h - side))
    return frame[y0:y0 + side, x0:x0 + side], Box(x0, y0, x0 + side, y0 + side)

