"""What the on-device mode is served: the bundle, the model file, the service worker, the runtime's install step."""

import base64
import hashlib
import http.server
import io
import json
import tarfile
import threading
import urllib.parse

import httpx
import pytest

import skindoctor
from skindoctor.config import get_settings
from skindoctor.errors import SkinDoctorError
from skindoctor.web import browser_runtime
from skindoctor.web.app import create_app

from .conftest import MODELS
from .server import LiveServer, free_port


def _settings(**kw):
    return get_settings(model_dir=MODELS, llm_provider="none", **kw)


@pytest.fixture(scope="module")
def server():
    with LiveServer(create_app(_settings())) as s:
        yield s


def test_bundle_carries_the_servers_own_settings_and_model(server):
    bundle = httpx.get(server.url + "/api/v1/ondevice").json()
    pipeline = skindoctor.load(settings=_settings())
    assert bundle["available"] == browser_runtime.installed()
    spec = bundle["spec"]
    assert spec == pipeline.spec.as_dict()  # the server's own pipeline spec, as it is
    assert spec["gate"]["min_sharpness"] == pipeline.gate.min_sharpness
    assert spec["hold"]["groups"] == list(pipeline.advisor.outcome_groups())
    assert spec["hold"]["hold_seconds"] == 3.0 and spec["triage"]["malignant_threshold"] == \
        pipeline.classifier.card.malignant_threshold
    assert [c["code"] for c in bundle["classes"]] == list(pipeline.classifier.classes)
    assert [c["urgency"] for c in bundle["classes"]] == [c.urgency for c in pipeline.advisor.classes]  # the catalogue's
    assert not any("urgency" in e for kb in bundle["knowledge"].values() for e in kb["classes"].values())
    assert spec["localizer"]["name"] == "learned" and set(bundle["knowledge"]) == {"en", "ko"}  # the card's
    model = httpx.get(server.url + bundle["model"]["url"])
    assert model.status_code == 200 and model.content == pipeline.classifier.path.read_bytes()
    assert hashlib.sha256(model.content).hexdigest().startswith(bundle["model"]["url"].rsplit("=", 1)[1])
    assert httpx.get(server.url + "/api/v1/ondevice/files/other").status_code == 404


def test_the_localiser_in_use_is_the_one_served(server):
    bundle = httpx.get(server.url + "/api/v1/ondevice").json()
    loc = bundle["spec"]["localizer"]
    assert loc["name"] == "learned" and loc["present_threshold"] > 0.5 and loc["long_side"] == 128
    assert httpx.get(server.url + bundle["localizer_url"]).content == \
        (MODELS / "skindoctor-loc-int8.onnx").read_bytes()
    with LiveServer(create_app(_settings(localizer="colour"))) as s:
        bundle = httpx.get(s.url + "/api/v1/ondevice").json()
        assert bundle["spec"]["localizer"]["name"] == "colour" and bundle["localizer_url"] is None


def worker_version(script: str) -> str:
    return script.split('const VERSION = "', 1)[1].split('"', 1)[0]


def test_service_worker_keeps_every_file_the_page_needs(server):
    res = httpx.get(server.url + "/sw.js")
    assert res.status_code == 200 and res.headers["content-type"].startswith("text/javascript")
    assets = json.loads(res.text.split("const ASSETS = ", 1)[1].split(";\n", 1)[0])
    bundle = httpx.get(server.url + "/api/v1/ondevice").json()
    for needed in ("/", "/kiosk", "/static/app.js", "/static/ondevice/engine.js", "/api/v1/messages/ko",
                   "/api/v1/ondevice", bundle["model"]["url"]):
        assert needed in assets
    assert all(httpx.get(server.url + a).status_code == 200 for a in assets)  # nothing kept is missing
    assert ("/static/vendor/onnxruntime-web/ort-wasm-simd-threaded.wasm" in assets) == bundle["available"]
    assert "__VERSION__" not in res.text
    with LiveServer(create_app(_settings(hold_seconds=5.0))) as other:  # other settings → a new version
        assert worker_version(httpx.get(other.url + "/sw.js").text) != worker_version(res.text)
    headers = httpx.get(server.url + "/").headers
    assert headers["cross-origin-embedder-policy"] == "require-corp"  # threads for the in-browser model


def _tarball(files: dict[str, bytes]) -> bytes:
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w:gz") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(f"package/dist/{name}")
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
    return buf.getvalue()


@pytest.fixture
def registry():
    """A registry stand-in on 127.0.0.1 serving one tarball."""
    served = {}

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self):
            body = served.get(urllib.parse.urlparse(self.path).path)
            self.send_response(200 if body else 404)
            self.end_headers()
            self.wfile.write(body or b"")

        def log_message(self, *args):
            pass

    httpd = http.server.HTTPServer(("127.0.0.1", free_port()), Handler)
    threading.Thread(target=httpd.serve_forever, daemon=True).start()
    yield served, f"http://127.0.0.1:{httpd.server_address[1]}"
    httpd.shutdown()


def test_runtime_is_fetched_checked_and_unpacked(tmp_path, registry, monkeypatch):
    served, url = registry
    data = _tarball({name: name.encode() * 10 for name in browser_runtime.FILES})
    served["/ort.tgz"] = data
    integrity = "sha512-" + base64.b64encode(hashlib.sha512(data).digest()).decode()
    with pytest.raises(SkinDoctorError, match="does not match"):  # the pinned hash is the real package's
        browser_runtime.fetch(tmp_path, url + "/ort.tgz")
    assert not browser_runtime.installed(tmp_path)
    monkeypatch.setattr(browser_runtime, "INTEGRITY", integrity)
    assert browser_runtime.fetch(tmp_path, url + "/ort.tgz") is True
    assert browser_runtime.installed(tmp_path) and "MIT License" in (tmp_path / "LICENSE").read_text()
    assert (tmp_path / browser_runtime.FILES[0]).read_bytes() == browser_runtime.FILES[0].encode() * 10
    assert browser_runtime.fetch(tmp_path, url + "/ort.tgz") is False  # already there: nothing downloaded
    with pytest.raises(SkinDoctorError, match="cannot download"):
        browser_runtime.fetch(tmp_path / "new", url + "/missing.tgz")


def test_runtime_package_without_its_files_is_refused(tmp_path):
    with pytest.raises(SkinDoctorError, match="missing from the package"):
        browser_runtime.unpack(_tarball({"ort.wasm.min.mjs": b"x"}), tmp_path)
