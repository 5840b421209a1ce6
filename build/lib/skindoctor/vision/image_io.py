"""Safe image decoding for everything a user can hand us: files, uploads, odd formats.

Pillow reads the header first, so gigantic dimensions are refused before any pixel is decoded;
EXIF rotation is applied; CMYK, 16-bit, grey, palette, alpha and animated images become RGB.
Every failure is an ``InputError`` with a one-line reason.
"""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps, UnidentifiedImageError

from ..errors import ImageTooLargeError, InputError

logging.getLogger("PIL").setLevel(logging.WARNING)  # Pillow's debug log traces file contents chunk by chunk
MAX_PIXELS = 40_000_000  # ~ a 7700 × 5200 photo; larger is refused before decoding
MAX_BYTES = 25 * 1024 * 1024
MIN_SIDE = 8


def decode_image(data: bytes, name: str = "image", max_pixels: int = MAX_PIXELS,
                 max_bytes: int = MAX_BYTES) -> np.ndarray:
    """Bytes of an image file → RGB uint8 array (H×W×3)."""
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
    return rgb


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
