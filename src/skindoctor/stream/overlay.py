"""Draw the live state on a frame: lesion box, class, confidence, hold progress bar, quality hint."""

from __future__ import annotations

import cv2
import numpy as np

from .pipeline import FrameResult

GREEN, AMBER, WHITE = (46, 204, 113), (243, 156, 18), (255, 255, 255)


def draw_overlay(frame: np.ndarray, result: FrameResult) -> np.ndarray:
    """A copy of the RGB frame with the live state drawn on it (OpenCV fonts: Latin text only)."""
    canvas = frame.copy()
    h, w = canvas.shape[:2]
    a = result.analysis
    if a.box is not None:
        b = a.box
        cv2.rectangle(canvas, (b.x0, b.y0), (b.x1, b.y1), GREEN if a.prediction else AMBER, 2)
    if a.prediction is not None:
        label = f"{a.prediction.top_class}  {a.prediction.confidence:.0%}"
    else:
        label = a.quality.reason.replace("_", " ")
    cv2.putText(canvas, label, (12, 30), cv2.FONT_HERSHEY_SIMPLEX, 0.8, WHITE, 2, cv2.LINE_AA)
    cv2.rectangle(canvas, (12, h - 28), (w - 12, h - 12), WHITE, 1)
    cv2.rectangle(canvas, (12, h - 28), (12 + int((w - 24) * result.hold.progress), h - 12), GREEN, -1)
    return canvas
