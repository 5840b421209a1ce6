"""Live streams: keep the lesion box while the picture holds still.

A camera held on a lesion shows nearly the same picture frame after frame, and finding the lesion again in
each one costs the localiser's network every frame. ``SteadyLocalizer`` wraps a localiser for one stream: it
runs it, then hands the same answer back for up to ``max_reuse`` following frames while the frame's working
copy stays within ``tolerance`` (mean absolute difference in 8-bit levels) of the one it was found in. Any
change beyond that (the hand moving, the light, another spot) runs the localiser again at once. The classifier
still judges each frame's own pixels inside the box.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from ..vision.localize import Box, Localization, Localizer, look_wider, working_copy


@dataclass(frozen=True)
class SteadySettings:
    # sensor noise and hand tremor move a 128-px working copy by under 1.5 levels over 1–3 frames of a camera-like
    # clip; a change of light or framing moves it by tens (bench: skindoctor bench, live rows)
    tolerance: float = 2.0
    max_reuse: int = 4  # the localiser still runs on at least every fifth frame (0: on every frame)


class SteadyLocalizer:
    """``locate(frame, small)`` as the wrapped localiser, reusing its last answer while the frame holds still."""

    def __init__(self, localizer: Localizer, settings: SteadySettings = SteadySettings()):
        self.localizer, self.settings = localizer, settings
        self.max_reuse, self.tolerance = settings.max_reuse, settings.tolerance
        self.reset()

    def reset(self) -> None:
        self._frame_shape: tuple[int, ...] | None = None
        self._reference: np.ndarray | None = None  # the working copy the last answer was found in
        self._found: Localization | None = None
        self._reused = 0

    def _still(self, frame: np.ndarray, small: np.ndarray) -> bool:
        if self._reference is None or frame.shape != self._frame_shape or self._reused >= self.max_reuse:
            return False
        return cv2.norm(small, self._reference, cv2.NORM_L1) / small.size <= self.tolerance

    def locate(self, frame: np.ndarray, small: np.ndarray | None = None) -> Localization:
        small = working_copy(frame) if small is None else small
        if self._found is not None and self._still(frame, small):
            self._reused += 1
            return self._found
        self._found, self._reused = self.localizer.locate(frame, small), 0
        self._frame_shape, self._reference = frame.shape, small
        return self._found

    def look_wider(self, frame: np.ndarray, skin: Box | None = None) -> Localization:
        """The wrapped localiser's second search; what it finds is kept like a box ``locate`` found."""
        found = look_wider(self.localizer, frame, skin)
        if found.box is not None:
            self._found = found
        return found
