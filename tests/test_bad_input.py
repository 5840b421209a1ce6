"""Bad files get a clear one-line error and exit code 2 from the CLI, and an InputError in the API."""

import io
import struct
import subprocess
import sys
import zlib

import numpy as np
import pytest
from PIL import Image

from skindoctor.errors import ImageTooLargeError, InputError
from skindoctor.vision.image_io import decode_image, read_image

from .conftest import MODELS


def _png(w=64, h=48, mode="RGB") -> bytes:
    buf = io.BytesIO()
    Image.new(mode, (w, h), 128 if mode != "RGB" else (120, 80, 60)).save(buf, "PNG")
    return buf.getvalue()


def _png_claiming(width: int, height: int) -> bytes:
    """A valid PNG whose header claims a gigantic size (a decompression-bomb header)."""
    data = bytearray(_png(8, 8))
    ihdr = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    data[16:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(b"IHDR" + ihdr))
    return bytes(data)


def _jpeg() -> bytes:
    buf = io.BytesIO()
    Image.fromarray(np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8)).save(buf, "JPEG")
    return buf.getvalue()


BAD = {
    "empty.jpg": (b"", "empty"),
    "corrupt.jpg": (b"\xff\xd8\xff\xe0" + b"garbage" * 50, "corrupt"),
    "truncated.jpg": (_jpeg()[:400], "corrupt or truncated"),
    "notes.png": (b"these are my notes, not a picture\n" * 20, "not an image"),
    "gigantic.png": (_png_claiming(100_000, 100_000), "pixel limit"),
    "tiny.png": (_png(4, 4), "too small"),
}


@pytest.mark.parametrize("name", BAD)
def test_decode_rejects_bad_files_with_reason(name):
    data, reason = BAD[name]
    with pytest.raises(InputError, match=reason):
        decode_image(data, name)


def test_gigantic_is_refused_before_decoding():
    with pytest.raises(ImageTooLargeError):
        decode_image(_png_claiming(60_000, 60_000))


@pytest.mark.parametrize("mode", ["L", "RGBA", "CMYK", "P", "I;16", "LA"])
def test_odd_modes_become_rgb(mode):
    img = Image.new(mode if mode != "CMYK" else "CMYK", (40, 30))
    buf = io.BytesIO()
    img.save(buf, "TIFF" if mode in ("CMYK", "I;16") else "PNG")
    rgb = decode_image(buf.getvalue())
    assert rgb.shape == (30, 40, 3) and rgb.dtype == np.uint8


def test_exif_rotation_is_applied():
    buf = io.BytesIO()
    exif = Image.Exif()
    exif[0x0112] = 6  # rotate 90° clockwise when displayed
    Image.new("RGB", (60, 20), (200, 10, 10)).save(buf, "JPEG", exif=exif)
    assert decode_image(buf.getvalue()).shape == (60, 20, 3)


def test_read_image_missing_and_directory(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        read_image(tmp_path / "nope.jpg")
    with pytest.raises(InputError, match="not a file"):
        read_image(tmp_path)


def test_cli_bad_files_exit_2_one_line_no_traceback(tmp_path):
    paths = []
    for name, (data, _) in BAD.items():
        (tmp_path / name).write_bytes(data)
        paths.append(str(tmp_path / name))
    paths.append(str(tmp_path / "missing.jpg"))
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "diagnose", "--model-dir", str(MODELS), *paths],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2
    assert "Traceback" not in r.stderr
    lines = r.stderr.strip().splitlines()
    assert len(lines) == len(paths), r.stderr
    assert all(line.startswith("skindoctor: error: ") for line in lines)


def test_cli_missing_model_names_the_file(tmp_path):
    (tmp_path / "ok.png").write_bytes(_png())
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "diagnose", "--model-dir", str(tmp_path),
                        str(tmp_path / "ok.png")], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert str(tmp_path / "model_card.json") in r.stderr


def test_serve_refuses_a_corrupt_model_naming_the_file(tmp_path):
    import shutil

    shutil.copy(MODELS / "model_card.json", tmp_path / "model_card.json")
    from skindoctor.model_card import load_card

    card = load_card(tmp_path)
    (tmp_path / card.files["int8"]).write_bytes(b"this is not an onnx model")
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "serve", "--model-dir", str(tmp_path),
                        "--port", "0"], capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "Traceback" not in r.stderr
    assert str(tmp_path / card.files["int8"]) in r.stderr and "cannot be loaded" in r.stderr
    (tmp_path / "model_card.json").write_text("{broken json")
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "serve", "--model-dir", str(tmp_path)],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "model_card.json is invalid" in r.stderr


def test_serve_will_not_listen_on_the_network_without_expose():
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "serve", "--host", "0.0.0.0"],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 2 and "--expose" in r.stderr
