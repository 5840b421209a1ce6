"""A hostile client on the network, replayed on 127.0.0.1 at a small scale (a few hundred sockets, seconds): every
finding of the probe (docs/reliability.md) is answered 4xx/503 or closed, and the server goes on serving."""

import io
import json
import logging
import os
import resource
import socket
import subprocess
import sys
import tempfile
import threading
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from skindoctor.config import get_settings
from skindoctor.dev.payloads import png16_rgba
from skindoctor.web.app import create_app
from skindoctor.web.security import allowed_host_names, host_allowed
from skindoctor.web.server import connection_limits, uvicorn_options
from skindoctor.web.services import Services

from .conftest import MODELS, ROOT, needs_ham
from .server import LiveServer, free_port

LIMITS = dict(header_timeout=1.0, keep_alive_timeout=1, max_connections=50, max_client_requests=3,
              max_live_sessions=4)


def _settings(**kw):
    return get_settings(model_dir=MODELS, llm_provider="none", **kw)


@pytest.fixture(scope="module")
def pipeline():
    return Services.load(_settings()).pipeline


def _served(pipeline, **kw):
    """A LiveServer served as ``skindoctor serve`` serves (the same uvicorn options), sharing the loaded model."""
    settings = _settings(**kw)
    return LiveServer(create_app(settings, Services(settings, pipeline)), **uvicorn_options(settings))


@pytest.fixture(scope="module")
def guarded(pipeline):
    with _served(pipeline, **LIMITS) as s:
        yield s


@pytest.fixture(scope="module")
def locked(pipeline):
    with _served(pipeline, access_token="s3cret") as s:
        yield s


def _connect(server) -> socket.socket:
    return socket.create_connection(("127.0.0.1", server.port), timeout=10)


def _until_closed(sock: socket.socket, deadline: float) -> tuple[bytes, bool]:
    """What the server sent until it closed the connection (True) or the deadline passed (False)."""
    data = b""
    while (left := deadline - time.monotonic()) > 0:
        sock.settimeout(left)
        try:
            chunk = sock.recv(65536)
        except TimeoutError:
            break
        except ConnectionResetError:
            return data, True
        if not chunk:
            return data, True
        data += chunk
    return data, False


def _ws(server, query="", **kw):
    from websockets.sync.client import connect

    return connect(server.url.replace("http", "ws") + "/api/v1/live" + query, open_timeout=10, **kw)


# ---------- 1. connection exhaustion ----------

def test_idle_and_trickling_connections_are_closed_and_capped(guarded, caplog):
    caplog.set_level(logging.WARNING, logger="skindoctor.web.server")
    start = time.monotonic()
    socks = [_connect(guarded) for _ in range(300)]  # no bytes sent: 250 over the cap of 50
    trickling = socks[-10:]
    for s in trickling:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Ag")  # headers that never end
    assert httpx.get(guarded.url + "/healthz", timeout=5).status_code == 200  # answered while the flood is held
    assert len(guarded.server.server_state.connections) <= LIMITS["max_connections"] + 2
    replies = [_until_closed(s, start + LIMITS["header_timeout"] + 5) for s in socks]
    assert all(closed for _, closed in replies)  # every one closed, within the header deadline
    assert all(data.startswith(b"HTTP/1.1 408") for data, _ in replies[-10:])
    assert not any(data for data, _ in replies[:-10])  # idle ones are just closed
    assert time.monotonic() - start < LIMITS["header_timeout"] + 5
    for s in socks:
        s.close()
    dropped = [r for r in caplog.records if "connections dropped" in r.getMessage()]
    assert len(dropped) <= 4  # 250 dropped: a few rate-limited lines, not one each


def test_idle_keep_alive_connection_is_closed(guarded):
    with _connect(guarded) as s:
        s.sendall(b"GET /healthz HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        data, closed = _until_closed(s, time.monotonic() + LIMITS["keep_alive_timeout"] + 3)
    assert data.startswith(b"HTTP/1.1 200") and closed


def test_connections_over_the_cap_get_503_when_none_is_idle(pipeline):
    with _served(pipeline, max_connections=2, max_live_sessions=4) as s, _ws(s), _ws(s):
        with _connect(s) as sock:  # two live sessions hold the cap; neither is waiting for headers
            data, closed = _until_closed(sock, time.monotonic() + 5)
        assert data.startswith(b"HTTP/1.1 503") and b"retry-after: 5" in data and closed
        assert json.loads(data.split(b"\r\n\r\n", 1)[1])["error"] == "busy"


def test_one_client_cannot_take_every_slot(guarded):
    from websockets.exceptions import InvalidStatus

    with _ws(guarded), _ws(guarded), _ws(guarded):  # the per-client limit (3), under the live-session cap (4)
        with pytest.raises(InvalidStatus) as err:
            _ws(guarded)
        assert err.value.response.status_code == 503
        r = httpx.get(guarded.url + "/api/v1/model")
        assert r.status_code == 503 and "this address" in r.json()["detail"] and r.headers["retry-after"] == "5"
        assert httpx.get(guarded.url + "/healthz").status_code == 200
        assert httpx.get(guarded.url + "/static/app.js").status_code == 200  # the page itself still loads
    time.sleep(0.3)
    assert httpx.get(guarded.url + "/api/v1/model").status_code == 200


def test_a_flood_past_the_open_file_limit_leaves_the_server_serving_and_the_log_short():
    """A real ``skindoctor serve`` with 256 descriptors, flooded with 600 idle connections."""
    port = free_port()
    env = {**os.environ, "SKINDOCTOR_LLM_PROVIDER": "none", "SKINDOCTOR_HEADER_TIMEOUT": "2",
           "SKINDOCTOR_MODEL_DIR": str(MODELS)}
    with tempfile.TemporaryFile() as log:
        proc = subprocess.Popen([sys.executable, "-m", "skindoctor.cli", "serve", "--port", str(port)], env=env,
                                stdout=log, stderr=log, cwd=ROOT,
                                preexec_fn=lambda: resource.setrlimit(resource.RLIMIT_NOFILE, (256, 256)))
        url = f"http://127.0.0.1:{port}"
        try:
            _wait_healthy(url, proc)
            socks = [socket.create_connection(("127.0.0.1", port), timeout=10) for _ in range(600)]
            answered = [_healthz(url) for _ in range(5)]
            for s in socks:
                s.close()
            assert all(answered)
            time.sleep(2.5)
            assert _healthz(url)
        finally:
            proc.terminate()
            proc.wait(10)
        log.seek(0)
        lines = log.read().decode(errors="replace").splitlines()
    assert len(lines) < 40, lines[:40]  # rate-limited, not one (or a traceback) per connection


def _healthz(url: str) -> bool:
    try:
        return httpx.get(url + "/healthz", timeout=5).status_code == 200
    except httpx.HTTPError:
        return False


def _wait_healthy(url: str, proc, seconds: float = 60) -> None:
    deadline = time.monotonic() + seconds
    while not _healthz(url):
        if time.monotonic() > deadline or proc.poll() is not None:
            raise RuntimeError("server did not start")
        time.sleep(0.2)


def test_connection_cap_stays_below_the_open_file_limit():
    limits = connection_limits(_settings(max_connections=10**9))
    assert limits.max_connections < resource.getrlimit(resource.RLIMIT_NOFILE)[0] // 2


# ---------- 2. memory amplification ----------

def test_small_png_that_would_decode_huge_is_refused_before_decoding(guarded):
    data = png16_rgba(6300)
    assert len(data) < 400_000
    t0 = time.perf_counter()
    r = httpx.post(guarded.url + "/api/v1/diagnose", files={"file": ("bomb.png", data)}, timeout=30)
    assert r.status_code == 413 and "needs 159 MB to decode" in r.json()["detail"]
    assert time.perf_counter() - t0 < 2


def test_an_upload_is_exactly_one_image_part(guarded):
    png = _jpeg_like_photo(64, 48)
    r = httpx.post(guarded.url + "/api/v1/diagnose", files=[("file", ("a.jpg", png)), ("file", ("b.jpg", png))])
    assert r.status_code == 400 and "Too many files" in r.json()["detail"]
    r = httpx.post(guarded.url + "/api/v1/diagnose", files={"file": ("a.jpg", png)}, data={"x": "1"})
    assert r.status_code == 400 and "Too many fields" in r.json()["detail"]


def test_request_bodies_are_limited_before_parsing(guarded):
    with _connect(guarded) as s:  # 80 parts of 15 MB declared: refused on the headers, nothing read
        s.sendall(b"POST /api/v1/diagnose HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: multipart/form-data; "
                  b"boundary=b\r\nContent-Length: 1258291200\r\n\r\n")
        data, _ = _until_closed(s, time.monotonic() + 5)
    assert data.startswith(b"HTTP/1.1 413")
    r = httpx.post(guarded.url + "/api/v1/advice", json={"probabilities": {"mel": 1.0}, "pad": "x" * 100_000})
    assert r.status_code == 413  # the JSON API's own, smaller limit
    assert "x-content-type-options" in r.headers


def test_a_chunked_upload_is_counted_and_never_spills_to_disk(guarded, monkeypatch):
    rolled = []
    original = tempfile.SpooledTemporaryFile.rollover
    monkeypatch.setattr(tempfile.SpooledTemporaryFile, "rollover", lambda self: rolled.append(1) or original(self))

    def body():  # no Content-Length: 20 MB in 1 MB chunks
        yield b'--b\r\nContent-Disposition: form-data; name="file"; filename="a.jpg"\r\n\r\n\xff\xd8'
        for _ in range(20):
            yield b"0" * (1 << 20)

    r = httpx.post(guarded.url + "/api/v1/diagnose", content=body(), timeout=30,
                   headers={"Content-Type": "multipart/form-data; boundary=b"})
    assert r.status_code == 413 and rolled == []


def _jpeg_like_photo(w: int, h: int) -> bytes:
    buf = io.BytesIO()
    Image.new("RGB", (w, h), (205, 160, 140)).save(buf, "JPEG")
    return buf.getvalue()


@needs_ham
def test_a_large_photo_is_shrunk_on_decode_and_boxed_in_its_own_pixels(guarded, test_split_samples):
    path = next(x for x in test_split_samples if x.label == "nv").path
    small = httpx.post(guarded.url + "/api/v1/diagnose", files={"file": ("m.jpg", path.read_bytes())}).json()
    photo = Image.open(path).convert("RGB")
    big = photo.resize((photo.width * 20 // 3, photo.height * 20 // 3), Image.Resampling.BICUBIC)  # ~12 Mpx
    buf = io.BytesIO()
    big.save(buf, "JPEG", quality=90)
    r = httpx.post(guarded.url + "/api/v1/diagnose", files={"file": ("big.jpg", buf.getvalue())}, timeout=60)
    assert r.status_code == 200 and small["box"] and r.json()["box"]
    scaled = np.array(small["box"]) * big.width / photo.width
    assert np.abs(np.array(r.json()["box"]) - scaled).max() < 0.1 * big.width  # the big photo's pixels


# ---------- 3. tokens that are not ASCII ----------

def test_a_token_that_is_not_ascii_is_refused_not_a_crash(locked, caplog):
    caplog.set_level(logging.ERROR)
    assert httpx.get(locked.url + "/api/v1/model?token=%C3%A9").status_code == 401
    assert httpx.get(locked.url + "/api/v1/model", headers={"Authorization": "Bearer é".encode()}).status_code == 401
    assert httpx.get(locked.url + "/api/v1/model", headers={"Cookie": "skindoctor_token=é".encode()}).status_code == 401
    assert httpx.get(locked.url + "/api/v1/model?token=s3cret").status_code == 200
    assert not [r for r in caplog.records if r.levelno >= logging.ERROR]


# ---------- 4. DNS rebinding and cross-origin requests ----------

def test_foreign_host_names_are_refused(guarded):
    for path in ("/", "/api/v1/model", "/docs"):
        r = httpx.get(guarded.url + path, headers={"Host": "evil.example"})
        assert r.status_code == 400 and r.json()["error"] == "bad_host"
    assert httpx.get(guarded.url + "/", headers={"Host": f"localhost:{guarded.port}"}).status_code == 200
    assert httpx.get(guarded.url + "/healthz", headers={"Host": "lb-probe"}).status_code == 200


def test_host_allow_list_when_exposed():
    names = allowed_host_names(_settings(host="0.0.0.0", allowed_hosts=["clinic.example.org"]))
    assert host_allowed("192.168.1.20:8000", names, exposed=True)  # an address: no DNS name to rebind
    assert host_allowed("[fe80::1]:8000", names, exposed=True) and host_allowed("CLINIC.example.org", names, True)
    assert host_allowed(socket.gethostname(), names, exposed=True)
    assert not host_allowed("evil.example", names, exposed=True)
    assert not host_allowed("192.168.1.20", allowed_host_names(_settings()), exposed=False)
    assert not host_allowed("evil.example:80@127.0.0.1", names, exposed=True)


def test_cross_origin_websocket_and_post_are_refused(guarded):
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as err:
        _ws(guarded, origin="http://evil.example")
    assert err.value.response.status_code == 403
    assert err.value.response.headers["x-content-type-options"] == "nosniff"
    with _ws(guarded, origin=guarded.url) as ws:  # the page's own origin
        ws.send(json.dumps({"type": "reset"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "reset"
    body = {"probabilities": {"mel": 0.9, "nv": 0.1}, "llm": False}
    r = httpx.post(guarded.url + "/api/v1/advice", json=body, headers={"Origin": "http://evil.example"})
    assert r.status_code == 403
    assert httpx.post(guarded.url + "/api/v1/advice", json=body, headers={"Origin": guarded.url}).status_code == 200
    assert httpx.get(guarded.url + "/api/v1/model", headers={"Origin": "http://evil.example"}).status_code == 200


# ---------- 5. cookie, headers, live parameters ----------

def test_cookie_only_from_a_valid_query_token_and_secure_on_https(locked):
    r = httpx.get(locked.url + "/api/v1/model?token=EVIL", headers={"Authorization": "Bearer s3cret"})
    assert r.status_code == 200 and "set-cookie" not in r.headers
    assert "set-cookie" not in httpx.get(locked.url + "/api/v1/model?token=EVIL").headers
    cookie = httpx.get(locked.url + "/?token=s3cret").headers["set-cookie"]
    assert "skindoctor_token=s3cret" in cookie and "HttpOnly" in cookie and "Secure" not in cookie
    https = httpx.get(locked.url + "/?token=s3cret", headers={"X-Forwarded-Proto": "https"})  # from a local proxy
    assert "Secure" in https.headers["set-cookie"]


def test_security_headers_on_every_answer(pipeline):
    settings = _settings(access_token="s3cret")
    app = create_app(settings, Services(settings, pipeline))

    async def boom():
        raise RuntimeError("a bug")

    app.add_api_route("/boom", boom)
    with LiveServer(app) as s:
        auth = {"Authorization": "Bearer s3cret"}
        answers = [httpx.get(s.url + "/api/v1/model"),  # 401
                   httpx.get(s.url + "/nowhere", headers=auth),  # 404
                   httpx.post(s.url + "/api/v1/diagnose", headers=auth, files={"file": ("a", b"0" * (16 << 20))}),
                   httpx.get(s.url + "/boom", headers=auth)]  # 500
        assert [r.status_code for r in answers] == [401, 404, 413, 500]
        for r in answers:
            assert r.headers["x-content-type-options"] == "nosniff" and "frame-ancestors 'none'" in r.headers[
                "content-security-policy"], r


@pytest.mark.parametrize("query", ["?hold=nan", "?hold=inf", "?hold=-1", "?hold=1e9", "?hold=abc", "?decide=nan",
                                   "?decide=1"])
def test_live_parameters_out_of_range_are_refused(guarded, query):
    from websockets.exceptions import InvalidStatus

    with pytest.raises(InvalidStatus) as err:
        _ws(guarded, query)
    assert err.value.response.status_code == 422 and b"seconds from" in err.value.response.body


def test_live_parameters_in_range_are_taken(guarded):
    with _ws(guarded, "?hold=2.5&decide=20") as ws:
        ws.send(json.dumps({"type": "reset"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "reset"


# ---------- beyond one process ----------

def test_two_workers_share_the_load():
    port = free_port()
    env = {**os.environ, "SKINDOCTOR_LLM_PROVIDER": "none", "SKINDOCTOR_MODEL_DIR": str(MODELS)}
    proc = subprocess.Popen([sys.executable, "-m", "skindoctor.cli", "serve", "--port", str(port), "--workers", "2"],
                            env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        _wait_healthy(url, proc, 90)
        workers, lock = {}, threading.Lock()

        def client():
            for _ in range(30):  # a fresh connection each time: each is accepted by one worker or the other
                pid = httpx.get(url + "/healthz", timeout=10).json()["worker"]
                with lock:
                    workers[pid] = workers.get(pid, 0) + 1

        threads = [threading.Thread(target=client) for _ in range(4)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(60)
        assert len(workers) == 2 and proc.pid not in workers, workers
        assert min(workers.values()) >= 10, workers  # both serve a fair share of 120 requests
    finally:
        proc.terminate()
        proc.wait(20)
