"""Property-based fuzzing of image decoding and preprocessing: any bytes give an image or an InputError."""

import io

import numpy as np
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from PIL import Image

from skindoctor.errors import InputError
from skindoctor.model_card import InputSpec
from skindoctor.vision.image_io import decode_image
from skindoctor.vision.preprocess import center_square, to_tensor


def _valid_png(w, h, seed) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(seed).integers(0, 255, (h, w, 3), np.uint8)).save(buf, "PNG")
    return buf.getvalue()


SEED_FILES = [_valid_png(32, 24, 0)]


@settings(max_examples=10_000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(
    st.binary(max_size=512),
    st.builds(lambda cut, flip, seed: _mutate(SEED_FILES[0], cut, flip, seed),
              st.integers(0, len(SEED_FILES[0])), st.integers(0, 64), st.integers(0, 2**31)),
))
def test_any_bytes_decode_or_fail_cleanly(data):
    try:
        rgb = decode_image(data, "fuzz")
    except InputError as e:
        assert str(e).startswith("fuzz: ")
        return
    assert rgb.ndim == 3 and rgb.shape[2] == 3 and rgb.dtype == np.uint8


def _mutate(data: bytes, cut: int, flips: int, seed: int) -> bytes:
    rng = np.random.default_rng(seed)
    b = bytearray(data[:max(cut, 8)])
    for _ in range(flips):
        if b:
            b[int(rng.integers(0, len(b)))] = int(rng.integers(0, 256))
    return bytes(b)


@settings(max_examples=300, deadline=None)
@given(st.integers(8, 400), st.integers(8, 400), st.integers(0, 2**31))
def test_preprocess_any_size_gives_the_contract(h, w, seed):
    img = np.random.default_rng(seed).integers(0, 256, (h, w, 3), np.uint8)
    x = to_tensor(center_square(img), InputSpec(size=160))
    assert x.shape == (3, 160, 160) and x.dtype == np.float32
    assert -1.0 - 1e-6 <= x.min() and x.max() <= 1.0 + 1e-6
