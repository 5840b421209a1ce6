"""Safe image decoding for everything a user can hand us: files, uploads, odd formats.

Pillow reads the header first, so gigantic dimensions, and images whose decoding would take more memory than
the budget (a small PNG can declare 6300 × 6300 RGBA pixels: 159 MB), are refused before any pixel is decoded.
Photos larger than the analysis needs can be shrunk on decode (JPEG by its decoder, at 1/2 to 1/8 scale).
EXIF rotation is applied; CMYK, 16-bit, grey, palette, alpha and animated images become RGB.
Every failure is an ``InputError`` with a one-line reason.
"""

from __future__ import annotations

import io
import logging
import math
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageTooLargeError, InputError

logging.getLogger("PIL").setLevel(logging.WARNING)  # Pillow's debug log traces file contents chunk by chunk
MAX_PIXELS = 40_000_000  # ~ a 7700 × 5200 photo; larger is refused before decoding
MAX_BYTES = 25 * 1024 * 1024
MAX_DECODE_BYTES = 4 * MAX_PIXELS  # any colour image within the pixel limit
MIN_SIDE = 8
# Pillow's memory per pixel while decoding: colour modes take 4 bytes, 16-bit grey 2 and 4 more as 32-bit
BYTES_PER_PIXEL = {"1": 1, "L": 1, "P": 1, "I;16": 6, "I;16L": 6, "I;16B": 6, "I;16N": 6}


def decode_image(data: bytes, name: str = "image", max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES,
                 max_decoded_pixels: int | None = None, max_decode_bytes: int = MAX_DECODE_BYTES) -> np.ndarray:
    """Bytes of an image file → RGB uint8 array (H×W×3); the limits as in ``decode_scaled``."""
    return decode_scaled(data, name, max_pixels, max_bytes, max_decoded_pixels, max_decode_bytes)[0]


def decode_scaled(data: bytes, name: str = "image", max_pixels: int = MAX_PIXELS, max_bytes: int = MAX_BYTES,
                  max_decoded_pixels: int | None = None,
                  max_decode_bytes: int = MAX_DECODE_BYTES) -> tuple[np.ndarray, float]:
    """Bytes of an image file → (RGB uint8 array, file pixels per array pixel: 1.0 unless shrunk).

    Refused (``ImageTooLargeError``) before decoding: over ``max_bytes``, over ``max_pixels``, or needing more
    than ``max_decode_bytes`` to decode. Larger than ``max_decoded_pixels``: shrunk to fit, on decode."""
    if not data:
        raise InputError(f"{name}: the file is empty")
    if len(data) > max_bytes:
        raise ImageTooLargeError(f"{name}: {len(data) / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            img = Image.open(io.BytesIO(data))
            w, h = img.size
            if w * h > max_pixels:
                raise ImageTooLargeError(f"{name}: {w}×{h} pixels is over the {max_pixels:,} pixel limit")
            if min(w, h) < MIN_SIDE:
                raise InputError(f"{name}: {w}×{h} pixels is too small to analyse")
            img.seek(0)  # first frame of an animation
            target = _fit((w, h), max_decoded_pixels)
            if target != (w, h):
                img.draft(None, (target[0] // 2, target[1] // 2))  # JPEG: decoded at the scale that still fits
            need = img.size[0] * img.size[1] * BYTES_PER_PIXEL.get(img.mode, 4)
            if need > max_decode_bytes:
                raise ImageTooLargeError(f"{name}: {w}×{h} pixels ({img.mode}) needs {need / 1e6:.0f} MB to "
                                         f"decode, over the {max_decode_bytes / 1e6:.0f} MB limit")
            if img.mode.startswith("I;16"):
                img = img.convert("I")  # Pillow shrinks 32-bit grey, not 16-bit
            img.thumbnail(target)  # no-op unless larger than the target
            img = ImageOps.exif_transpose(img)
            rgb = _to_rgb(img)
    except (ImageTooLargeError, InputError):
        raise
    except (Image.DecompressionBombError, Image.DecompressionBombWarning):
        raise ImageTooLargeError(f"{name}: image dimensions are over the {max_pixels:,} pixel limit") from None
    except UnidentifiedImageError:
        raise InputError(f"{name}: not an image file (or a format that is not supported)") from None
    except (OSError, ValueError, SyntaxError, EOFError) as e:
        raise InputError(f"{name}: the image is corrupt or truncated ({e})") from None
    return rgb, max(w, h) / max(rgb.shape[:2])


def _fit(size: tuple[int, int], max_pixels: int | None) -> tuple[int, int]:
    """``size`` shrunk (same aspect) to at most ``max_pixels``."""
    w, h = size
    if max_pixels is None or w * h <= max_pixels:
        return size
    f = math.sqrt(max_pixels / (w * h))
    return max(1, math.floor(w * f)), max(1, math.floor(h * f))


def _to_rgb(img: Image.Image) -> np.ndarray:
    if img.mode in ("I;16", "I;16B", "I;16L", "I"):
        arr = np.asarray(img, dtype=np.float64)
        peak = arr.max() or 1.0
        img = Image.fromarray((arr * (255.0 / peak)).clip(0, 255).astype(np.uint8))
    if img.mode in ("RGBA", "LA", "PA") or (img.mode == "P" and "transparency" in img.info):
        img = img.convert("RGBA")
        background = Image.new("RGBA", img.size, (255, 255, 255, 255))
        img = Image.alpha_composite(background, img)
    return np.asarray(img.convert("RGB"))


def read_image(path: str | Path, **limits) -> np.ndarray:
    """Read an image file from disk (InputError if missing, unreadable or not an image)."""
    path = Path(path)
    if not path.exists():
        raise InputError(f"{path}: no such file")
    if not path.is_file():
        raise InputError(f"{path}: not a file")
    size = path.stat().st_size
    max_bytes = limits.get("max_bytes", MAX_BYTES)
    if size > max_bytes:
        raise ImageTooLargeError(f"{path}: {size / 1e6:.1f} MB is over the {max_bytes / 1e6:.0f} MB limit")
    try:
        data = path.read_bytes()
    except OSError as e:
        raise InputError(f"{path}: cannot read ({e.strerror})") from None
    return decode_image(data, str(path), **limits)
