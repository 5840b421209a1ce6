"""Camera-like clips from still lesion photos: a lesion on skin, moving, changing light, blurring.

Used by the tests, the benchmark and the browser's fake camera (``.y4m``): real lesion images,
shown the way a hand-held camera would show them; ``shown_to_camera``: a still photo in a camera's view.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import cv2
import numpy as np

from ..train.composite import feather

FRAME_SIZE = (640, 480)


FRAMINGS = {  # how the still photo sits in the camera's view
    "fill": "filling the view, centred (a square photo loses a quarter of its height)",
    "whole": "whole in view, its edge pixels continued to the view's sides (nothing cut, nothing new)",
    "screen": "whole in view on a dark surround, as a photo on a phone held up to the camera",
}
SURROUND = 40  # the "screen" framing's surround, in 8-bit levels


def shown_to_camera(photo: np.ndarray, size=FRAME_SIZE, framing: str = "fill") -> np.ndarray:
    """The photo in a camera's view, centred, as ``FRAMINGS`` says."""
    w, h = size
    f = (max if framing == "fill" else min)(w / photo.shape[1], h / photo.shape[0])
    big = cv2.resize(photo, (round(photo.shape[1] * f), round(photo.shape[0] * f)), interpolation=cv2.INTER_LINEAR)
    if framing == "fill":
        y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
        return np.ascontiguousarray(big[y0:y0 + h, x0:x0 + w])
    top, left = (h - big.shape[0]) // 2, (w - big.shape[1]) // 2
    border = cv2.BORDER_REPLICATE if framing == "whole" else cv2.BORDER_CONSTANT
    return cv2.copyMakeBorder(big, top, h - big.shape[0] - top, left, w - big.shape[1] - left, border,
                              value=(SURROUND,) * 3)


@dataclass(frozen=True)
class Segment:
    """``seconds`` of one lesion image (None: bare skin) with hand-held motion and light."""

    image: np.ndarray | None
    seconds: float
    scale: float = 1.8  # lesion photo width in frame = scale × its own width (200 px → 360 px)
    motion: float = 6.0  # hand tremor amplitude in pixels
    brightness: float = 1.0
    blur: float = 0.0  # Gaussian sigma in pixels (focus lost)
    skin: tuple[int, int, int] | None = None  # background colour (default: from the photo's border)


def skin_colour(image: np.ndarray) -> np.ndarray:
    border = np.concatenate([image[:8].reshape(-1, 3), image[-8:].reshape(-1, 3),
                             image[:, :8].reshape(-1, 3), image[:, -8:].reshape(-1, 3)])
    return np.median(border, axis=0)


def render(segment: Segment, t: float, rng: np.random.Generator, size=FRAME_SIZE) -> np.ndarray:
    """One RGB frame of ``segment`` at time ``t`` seconds into it."""
    w, h = size
    skin = np.array(segment.skin if segment.skin else (skin_colour(segment.image) if segment.image is not None
                                                       else (205, 160, 140)), np.float32)
    frame = np.empty((h, w, 3), np.float32)
    frame[:] = skin
    if segment.image is not None:
        ih, iw = segment.image.shape[:2]
        pw, ph = int(iw * segment.scale), int(ih * segment.scale)
        photo = cv2.resize(segment.image, (pw, ph), interpolation=cv2.INTER_LINEAR).astype(np.float32)
        dx = segment.motion * (np.sin(2 * np.pi * 0.7 * t) + 0.3 * np.sin(2 * np.pi * 2.3 * t))
        dy = segment.motion * (np.cos(2 * np.pi * 0.5 * t) + 0.3 * np.sin(2 * np.pi * 1.9 * t))
        x0, y0 = int(round((w - pw) / 2 + dx)), int(round((h - ph) / 2 + dy))
        xs, ys = max(0, x0), max(0, y0)
        xe, ye = min(w, x0 + pw), min(h, y0 + ph)
        alpha = feather(ph, pw)[ys - y0:ye - y0, xs - x0:xe - x0]
        part = photo[ys - y0:ye - y0, xs - x0:xe - x0]
        frame[ys:ye, xs:xe] = alpha * part + (1 - alpha) * frame[ys:ye, xs:xe]
    frame *= segment.brightness
    frame += rng.normal(0, 2.0, frame.shape).astype(np.float32)  # sensor noise
    out = np.clip(frame, 0, 255).astype(np.uint8)
    if segment.blur > 0:
        out = cv2.GaussianBlur(out, (0, 0), segment.blur)
    return out


def frames(segments: list[Segment], fps: float = 30.0, seed: int = 0, size=FRAME_SIZE) -> Iterator[np.ndarray]:
    rng = np.random.default_rng(seed)
    for seg in segments:
        for i in range(int(round(seg.seconds * fps))):
            yield render(seg, i / fps, rng, size)


def write_video(segments: list[Segment], path: str | Path, fps: float = 30.0, seed: int = 0) -> Path:
    """An MJPG ``.avi`` (readable by OpenCV everywhere)."""
    path = Path(path)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"MJPG"), fps, FRAME_SIZE)
    if not writer.isOpened():
        raise RuntimeError(f"cannot write video {path}")
    for rgb in frames(segments, fps, seed):
        writer.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2BGR))
    writer.release()
    return path


def write_y4m(segments: list[Segment], path: str | Path, fps: int = 30, seed: int = 0) -> Path:
    """A YUV4MPEG2 (4:2:0) clip: what Chromium's fake camera plays (``--use-file-for-fake-video-capture``)."""
    path = Path(path)
    w, h = FRAME_SIZE
    with path.open("wb") as f:
        f.write(f"YUV4MPEG2 W{w} H{h} F{fps}:1 Ip A1:1 C420jpeg\n".encode())
        for rgb in frames(segments, fps, seed):
            f.write(b"FRAME\n")
            f.write(cv2.cvtColor(rgb, cv2.COLOR_RGB2YUV_I420).tobytes())
    return path
