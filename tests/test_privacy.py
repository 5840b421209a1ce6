"""Nothing seen is kept: uploads never spill to disk, logs carry no image data or file names, and a client
that vanishes mid-request leaves the server serving."""

import io
import logging
import socket
import tempfile

import httpx
import numpy as np
import pytest
from PIL import Image

from skindoctor.config import get_settings
from skindoctor.web.app import create_app

from .conftest import MODELS
from .server import LiveServer


@pytest.fixture(scope="module")
def server():
    with LiveServer(create_app(get_settings(model_dir=MODELS, llm_provider="none"))) as s:
        yield s


def _big_png() -> bytes:
    rng = np.random.default_rng(0)
    img = np.full((1500, 2000, 3), (205, 160, 140), np.uint8)
    img[600:900, 800:1200] = (90, 55, 40)
    img = np.clip(img + rng.normal(0, 6, img.shape), 0, 255).astype(np.uint8)  # noise: poorly compressible
    buf = io.BytesIO()
    Image.fromarray(img).save(buf, "PNG")
    return buf.getvalue()


def test_large_upload_never_rolls_over_to_a_temporary_file(server, monkeypatch):
    rolled = []
    original = tempfile.SpooledTemporaryFile.rollover

    def spy(self):
        rolled.append(self)
        return original(self)

    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", spy)
    data = _big_png()
    assert len(data) > 3 * 1024 * 1024
    r = httpx.post(server.url + "/api/v1/diagnose", files={"file": ("big.png", data)}, timeout=60)
    assert r.status_code == 200, r.text
    assert rolled == []


def test_logs_hold_no_file_names_or_image_bytes(server, caplog):
    caplog.set_level(logging.DEBUG)
    name = "jane-doe-1980-05-04-left-arm.jpg"
    data = _big_png()[:200_000]  # a truncated image: an error path too
    httpx.post(server.url + "/api/v1/diagnose", files={"file": (name, data)}, timeout=60)
    httpx.post(server.url + "/api/v1/diagnose", files={"file": (name, _big_png())}, timeout=60)
    text = "\n".join(r.getMessage() for r in caplog.records)
    assert "jane-doe" not in text and "1980-05-04" not in text
    assert "IHDR" not in text and "\\x89PNG" not in text


def test_client_vanishing_mid_upload_leaves_the_server_serving(server):
    host, port = "127.0.0.1", int(server.url.rsplit(":", 1)[1])
    for _ in range(5):
        with socket.create_connection((host, port), timeout=5) as s:
            s.sendall(b"POST /api/v1/diagnose HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                      b"boundary=b\r\nContent-Length: 5000000\r\n\r\n--b\r\nContent-Disposition: form-data; "
                      b'name="file"; filename="a.jpg"\r\n\r\n' + b"\xff\xd8" + b"0" * 10000)
    assert httpx.get(server.url + "/healthz", timeout=10).json()["status"] == "ok"
    r = httpx.post(server.url + "/api/v1/diagnose", files={"file": ("ok.png", _big_png())}, timeout=60)
    assert r.status_code == 200


def test_stalled_upload_times_out_with_504():
    with LiveServer(create_app(get_settings(model_dir=MODELS, llm_provider="none", request_timeout=1.0))) as s:
        port = int(s.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(b"POST /api/v1/diagnose HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                         b"boundary=b\r\nContent-Length: 100000\r\n\r\n--b\r\n")  # ...and then nothing more
            reply = b""
            while b"\r\n\r\n" not in reply or len(reply.split(b"\r\n\r\n", 1)[1]) < int(
                    reply.lower().split(b"content-length: ", 1)[1].split(b"\r\n", 1)[0]):
                chunk = sock.recv(4096)  # headers and body may arrive in separate segments
                if not chunk:
                    break
                reply += chunk
        assert reply.startswith(b"HTTP/1.1 504") and b"longer than 1 s" in reply
        assert httpx.get(s.url + "/healthz").status_code == 200


def test_cors_only_when_configured():
    origin = "http://kiosk-admin.local"
    with LiveServer(create_app(get_settings(model_dir=MODELS, llm_provider="none", cors_origins=[origin]))) as s:
        r = httpx.get(s.url + "/api/v1/model", headers={"Origin": origin})
        assert r.headers["access-control-allow-origin"] == origin
        r = httpx.get(s.url + "/api/v1/model", headers={"Origin": "http://elsewhere.example"})
        assert "access-control-allow-origin" not in r.headers


def test_animated_image_uses_its_first_frame():
    from skindoctor.vision.image_io import decode_image

    frames = [Image.new("RGB", (40, 30), c) for c in ((200, 10, 10), (10, 200, 10), (10, 10, 200))]
    buf = io.BytesIO()
    frames[0].save(buf, "GIF", save_all=True, append_images=frames[1:], duration=100, loop=0)
    rgb = decode_image(buf.getvalue())
    assert rgb.shape == (30, 40, 3) and rgb[0, 0, 0] > 150 and rgb[0, 0, 1] < 60


def test_idle_live_session_is_closed():
    from websockets.exceptions import ConnectionClosed
    from websockets.sync.client import connect

    with LiveServer(create_app(get_settings(model_dir=MODELS, llm_provider="none", live_idle_timeout=1.0))) as s:
        with connect(s.url.replace("http", "ws") + "/api/v1/live", open_timeout=10) as ws:
            with pytest.raises(ConnectionClosed) as closed:
                ws.recv(timeout=5)
            assert closed.value.rcvd.reason == "idle timeout"
        assert httpx.get(s.url + "/healthz").json()["live_sessions"] == 0
