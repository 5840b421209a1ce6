"""Quality gate: is this frame good enough to classify? If not, tell the person why.

Checks, in the order a person can fix them: light (too dark / too bright), skin in view, a lesion
found and big enough, and sharpness of the lesion crop (variance of the Laplacian at the model's
input size, so it does not depend on camera resolution; a crop smaller than that is judged at its own
size, since enlarging it would blur it).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import cv2
import numpy as np

from ..i18n import text
from .localize import Box, Localization, mask_box


def message(reason: str, lang: str = "en", context: str = "quality") -> str:
    """What to tell the person: ``context`` is ``quality`` (a live camera) or ``upload`` (a photo)."""
    return text(f"{context}.{reason}", lang)


@dataclass(frozen=True)
class Quality:
    ok: bool
    reason: str  # a key of the message tables' ``quality`` section
    metrics: dict = field(default_factory=dict)

    def message(self, lang: str = "en", context: str = "quality") -> str:
        return message(self.reason, lang, context)


@dataclass(frozen=True)
class QualityGate:
    thumb_size: tuple[int, int] = (64, 48)  # light and skin are judged on a thumbnail this size (width, height)
    min_brightness: float = 45.0  # mean luma (Y of YCrCb)
    max_brightness: float = 235.0
    clip_level: int = 250  # a thumbnail pixel this bright is clipped ...
    max_clipped: float = 0.35  # ... and at most this share may be
    skin_cr: tuple[int, int] = (133, 180)  # a skin pixel's Cr range ...
    skin_cb: tuple[int, int] = (77, 135)  # ... and Cb range ...
    skin_min_luma: int = 30  # ... and it is brighter than this
    min_skin: float = 0.2  # share of skin pixels a frame needs
    # a frame whose skin pixels' bounding rectangle covers less than this share of it (an arm before a wall, a
    # photo on a phone held up to the camera) is searched again within that rectangle when nothing was found
    skin_look_below: float = 0.8
    # the lesion box's longer side in the picture's own pixels: detail is what a small spot lacks, so a spot small
    # in a large photo still counts (as large as 1 % of a 200×150 dermatoscope photo's area, the earlier rule)
    min_lesion_side: int = 16
    # measured without enlarging small crops: ≤ 0.5 % of validation lesion photos (dermoscopic and phone)
    # fall below it, while camera frames blurred with σ = 4 px all do
    min_sharpness: float = 8.0

    def _thumbnail(self, frame: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """The frame's thumbnail: its luma and its skin pixels."""
        thumb = cv2.resize(frame, self.thumb_size, interpolation=cv2.INTER_AREA)
        ycc = cv2.cvtColor(thumb, cv2.COLOR_RGB2YCrCb)
        y, cr, cb = ycc[..., 0], ycc[..., 1], ycc[..., 2]
        (cr0, cr1), (cb0, cb1) = self.skin_cr, self.skin_cb
        return y, (cr >= cr0) & (cr <= cr1) & (cb >= cb0) & (cb <= cb1) & (y > self.skin_min_luma)

    def check_frame(self, frame: np.ndarray) -> Quality:
        """Light and skin checks on the whole frame, or on its small working copy (judged on a thumbnail of it)."""
        y, skin_pixels = self._thumbnail(frame)
        brightness, clipped = float(y.mean()), float((y >= self.clip_level).mean())
        metrics = {"brightness": brightness, "clipped": clipped, "skin": float(skin_pixels.mean())}
        if brightness < self.min_brightness:
            return Quality(False, "too_dark", metrics)
        if brightness > self.max_brightness or clipped > self.max_clipped:
            return Quality(False, "too_bright", metrics)
        if metrics["skin"] < self.min_skin:
            return Quality(False, "no_skin", metrics)
        return Quality(True, "ok", metrics)

    def skin_part(self, small: np.ndarray, width: int, height: int) -> Box | None:
        """The bounding rectangle of the skin pixels of a ``width`` × ``height`` frame (judged on ``small``, its
        working copy, as ``check_frame`` judges), in the frame's pixels, when it covers less than
        ``skin_look_below`` of the frame; else None."""
        thumb = mask_box(self._thumbnail(small)[1].astype(np.uint8) * 255)
        if thumb is None:
            return None
        tw, th = self.thumb_size
        box = Box(thumb.x0 * width // tw, thumb.y0 * height // th, -(-thumb.x1 * width // tw),
                  -(-thumb.y1 * height // th))
        return box if box.width * box.height < self.skin_look_below * width * height else None

    def check_prediction(self, lesion_quality: Quality, not_lesion: float, reject_threshold: float) -> Quality:
        """The classifier's own verdict: a crop it judges not to be a skin lesion gets no diagnosis."""
        metrics = {**lesion_quality.metrics, "not_lesion": not_lesion}
        if not_lesion >= reject_threshold:
            return Quality(False, "not_lesion", metrics)
        return Quality(True, "ok", metrics)

    def check_lesion(self, frame_quality: Quality, loc: Localization, crop_at_input: np.ndarray | None) -> Quality:
        """Lesion found, big enough, and sharp (on the crop at the model's input size, or its own if smaller)."""
        metrics = {**frame_quality.metrics, "lesion_area": loc.area_fraction, "contrast": loc.contrast}
        if loc.box is None:
            return Quality(False, "no_lesion", metrics)
        if max(loc.box.width, loc.box.height) < self.min_lesion_side:
            return Quality(False, "too_small", metrics)
        gray = cv2.cvtColor(crop_at_input, cv2.COLOR_RGB2GRAY)
        sharpness = float(cv2.Laplacian(gray, cv2.CV_32F).var())
        metrics["sharpness"] = sharpness
        if sharpness < self.min_sharpness:
            return Quality(False, "blurry", metrics)
        return Quality(True, "ok", metrics)
