"""Camera-like augmentations: what a phone or webcam does to a dermatoscope picture.

One affine warp (square crop around the lesion at a random scale and offset, any rotation,
flips) straight to the model's input size, then colour, white balance, uneven lighting, low
resolution, blur, noise and JPEG artefacts. OpenCV + numpy only.
"""

from __future__ import annotations

import cv2
import numpy as np


def random_view(image: np.ndarray, size: int, rng: np.random.Generator,
                box: tuple[float, float, float, float] | None = None, anywhere: bool = False) -> np.ndarray:
    """A size×size view: a square around the lesion (or the image centre) at a random margin,
    shifted, rotated and flipped, with reflected borders. ``anywhere``: a picture with nothing to find
    (everyday photos, bare skin) is also cut small at any place, as a localiser's box may cut it."""
    h, w = image.shape[:2]
    if box is not None and rng.random() < 0.6:
        x0, y0, x1, y1 = box[0] * w, box[1] * h, box[2] * w, box[3] * h
        cx, cy = (x0 + x1) / 2, (y0 + y1) / 2
        side = max(x1 - x0, y1 - y0) * rng.uniform(1.05, 2.5)
    elif anywhere and rng.random() < 0.5:
        side = min(h, w) * rng.uniform(0.15, 0.7)
        cx, cy = rng.uniform(side / 2, w - side / 2), rng.uniform(side / 2, h - side / 2)
    else:
        cx, cy = w / 2, h / 2
        side = min(h, w) * rng.uniform(0.7, 1.15)
    side = max(side, 16.0)
    cx += rng.uniform(-0.12, 0.12) * side
    cy += rng.uniform(-0.12, 0.12) * side
    scale = size / side
    angle = rng.uniform(0, 360)
    m = cv2.getRotationMatrix2D((cx, cy), angle, scale)
    m[:, 2] += (size / 2 - cx, size / 2 - cy)
    if rng.random() < 0.5:  # horizontal flip in output space
        m = np.array([[-1, 0, size], [0, 1, 0]], np.float64) @ np.vstack([m, [0, 0, 1]])
    return cv2.warpAffine(image, m, (size, size), flags=cv2.INTER_LINEAR,
                          borderMode=cv2.BORDER_REFLECT_101)


def camera_effects(img: np.ndarray, rng: np.random.Generator) -> np.ndarray:
    """Colour, exposure, white balance, lighting gradient, blur, noise and JPEG, each at random."""
    x = img.astype(np.float32)
    # brightness / contrast / white balance
    x = x * rng.uniform(0.7, 1.3) + rng.uniform(-25, 25)
    x = (x - x.mean()) * rng.uniform(0.75, 1.3) + x.mean()
    x *= rng.uniform(0.88, 1.12, size=3)
    # saturation
    gray = x.mean(axis=2, keepdims=True)
    x = gray + (x - gray) * rng.uniform(0.7, 1.3)
    # uneven lighting (a linear gradient across the frame)
    if rng.random() < 0.3:
        h, w = x.shape[:2]
        gy, gx = np.mgrid[0:h, 0:w].astype(np.float32)
        theta = rng.uniform(0, 2 * np.pi)
        ramp = (np.cos(theta) * (gx / w - 0.5) + np.sin(theta) * (gy / h - 0.5))
        x *= (1 + rng.uniform(0.2, 0.5) * ramp)[..., None]
    x = np.clip(x, 0, 255)
    # gamma
    if rng.random() < 0.3:
        x = 255 * (x / 255) ** rng.uniform(0.7, 1.4)
    out = x.astype(np.uint8)
    # a low-resolution sensor or a far-away lesion: fewer pixels, enlarged again
    if rng.random() < 0.25:
        h, w = out.shape[:2]
        f = rng.uniform(0.25, 0.7)
        small = cv2.resize(out, (max(8, round(w * f)), max(8, round(h * f))), interpolation=cv2.INTER_AREA)
        out = cv2.resize(small, (w, h), interpolation=cv2.INTER_LINEAR)
    # focus or motion blur
    r = rng.random()
    if r < 0.2:
        out = cv2.GaussianBlur(out, (0, 0), rng.uniform(0.5, 1.8))
    elif r < 0.3:
        k = int(rng.integers(3, 8))
        kernel = np.zeros((k, k), np.float32)
        kernel[k // 2, :] = 1 / k
        rot = cv2.getRotationMatrix2D((k / 2 - 0.5, k / 2 - 0.5), rng.uniform(0, 180), 1)
        kernel = cv2.warpAffine(kernel, rot, (k, k))
        out = cv2.filter2D(out, -1, kernel / max(kernel.sum(), 1e-6))
    # sensor noise
    if rng.random() < 0.2:
        noise = rng.normal(0, rng.uniform(2, 8), out.shape)
        out = np.clip(out + noise, 0, 255).astype(np.uint8)
    # JPEG artefacts
    if rng.random() < 0.3:
        ok, buf = cv2.imencode(".jpg", out, [cv2.IMWRITE_JPEG_QUALITY, int(rng.integers(35, 90))])
        out = cv2.imdecode(buf, cv2.IMREAD_UNCHANGED)
    return out


def augment(image: np.ndarray, size: int, rng: np.random.Generator,
            box: tuple[float, float, float, float] | None = None, anywhere: bool = False) -> np.ndarray:
    """Training view: random camera-like crop and effects, RGB uint8 size×size."""
    return camera_effects(random_view(image, size, rng, box, anywhere), rng)
