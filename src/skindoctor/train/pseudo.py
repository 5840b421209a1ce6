"""Lesion masks for smartphone photos that come without any: a trained localiser's confident answers.

PAD-UFES-20 has diagnoses but no masks, and a localiser trained only on dermatoscope pictures
mistakes wrinkled, sun-damaged or hairy phone skin for lesion. One round of self-training brings the
phone domain in: a teacher (the localiser already in the model card) maps each train-split photo,
averaged over flips, and only clear answers are kept: one region above the mask threshold (any
other holds < 10 % of its probability), a peak of at least 0.95, 1–45 % of the picture and clear of
its edges. The region, holes filled, is the photo's mask; everything around it is skin with phone
texture, which is what the student learns not to box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..vision.segment import SegmentLocalizer, best_region
from .composite import LesionPhoto


@dataclass(frozen=True)
class Acceptance:
    """What a teacher's answer needs to be kept as a mask."""

    min_peak: float = 0.95
    min_area: float = 0.01
    max_area: float = 0.45
    max_other: float = 0.10  # probability mass in other regions above the mask threshold, relative


def flip_averaged(teacher: SegmentLocalizer, image: np.ndarray) -> np.ndarray:
    """The teacher's lesion probability per input pixel, averaged over the photo as is and flipped both ways."""
    maps = []
    for flip in (None, 1, 0):
        view = image if flip is None else cv2.flip(image, flip)
        prob = teacher.heatmap(view)[1]
        maps.append(prob if flip is None else cv2.flip(prob, flip))
    return np.mean(maps, axis=0)


def pseudo_mask(teacher: SegmentLocalizer, image: np.ndarray, rule: Acceptance = Acceptance()) -> np.ndarray | None:
    """A uint8 mask (255 = lesion) at the photo's size, or None when the teacher is not clear enough."""
    prob = flip_averaged(teacher, image)
    threshold = teacher.spec.mask_threshold
    region = best_region(prob, threshold)
    if region is None or region.peak < rule.min_peak or not rule.min_area <= region.area_fraction <= rule.max_area:
        return None
    b, (h, w) = region.box, prob.shape
    if b.x0 == 0 or b.y0 == 0 or b.x1 == w or b.y1 == h:
        return None
    inside = float(prob[region.mask].sum())
    other = float(prob[(prob >= threshold) & ~region.mask].sum())
    if other > rule.max_other * inside:
        return None
    small = region.mask.astype(np.uint8) * 255
    contours, _ = cv2.findContours(small, cv2.RETR_EXTERNAL, cv2.CHAIN_APPROX_NONE)
    filled = cv2.drawContours(np.zeros_like(small), contours, -1, 255, cv2.FILLED)
    return cv2.resize(filled, image.shape[1::-1], interpolation=cv2.INTER_NEAREST)


def clear_skin(photo: LesionPhoto, margin: float = 0.08, min_share: float = 0.12) -> np.ndarray | None:
    """The photo's skin without its lesion: the widest strip beside the lesion's box (grown by ``margin`` of
    the photo's side), mirrored out to the photo's size; None when no strip holds ``min_share`` of it."""
    h, w = photo.mask.shape
    ys, xs = np.nonzero(photo.mask)
    grow = int(margin * max(h, w))
    x0, y0, x1, y1 = max(0, xs.min() - grow), max(0, ys.min() - grow), min(w, xs.max() + grow), min(h, ys.max() + grow)
    strips = [photo.image[:, :x0], photo.image[:, x1:], photo.image[:y0], photo.image[y1:]]
    strip = max(strips, key=lambda s: s.shape[0] * s.shape[1])
    if strip.shape[0] * strip.shape[1] < min_share * h * w:
        return None
    sh, sw = strip.shape[:2]
    return cv2.copyMakeBorder(strip, 0, h - sh, 0, w - sw, cv2.BORDER_REFLECT_101)


def label_photos(teacher: SegmentLocalizer, images: list[np.ndarray],
                 rule: Acceptance = Acceptance()) -> list[LesionPhoto]:
    """The photos the teacher is clear about, each with its mask."""
    photos = []
    for image in images:
        mask = pseudo_mask(teacher, image, rule)
        if mask is not None:
            photos.append(LesionPhoto(image, mask))
    return photos
