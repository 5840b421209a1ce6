"""The real app and model under uvicorn on 127.0.0.1: REST API, errors, security, live WebSocket."""

import io
import json
import time

import httpx
import numpy as np
import pytest
from PIL import Image

from skindoctor.config import get_settings
from skindoctor.web.app import create_app

from .conftest import MODELS, needs_ham
from .fake_llm import FakeLLM
from .server import LiveServer


def _jpeg(rgb: np.ndarray) -> bytes:
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=90)
    return buf.getvalue()


def _settings(**kw):
    return get_settings(model_dir=MODELS, llm_provider="none", **kw)


@pytest.fixture(scope="module")
def server():
    with LiveServer(create_app(_settings(max_live_sessions=2))) as s:
        yield s


def test_health_model_and_openapi(server):
    h = httpx.get(server.url + "/healthz").json()
    assert h["status"] == "ok" and h["classes"] == 7 and h["variant"] == "int8"
    card = httpx.get(server.url + "/api/v1/model").json()
    assert [c["code"] for c in card["class_info"]] == [c for c in card["classes"] if c != card["reject_class"]]
    assert card["input"]["size"] > 0 and card["temperature"] > 0
    spec = httpx.get(server.url + "/openapi.json").json()
    assert "/api/v1/diagnose" in spec["paths"] and "/api/v1/model" in spec["paths"]
    assert httpx.get(server.url + "/docs").status_code == 200


@needs_ham
def test_diagnose_a_real_photo(server, test_split_samples):
    s = next(x for x in test_split_samples if x.label == "nv")
    r = httpx.post(server.url + "/api/v1/diagnose?lang=ko", files={"file": ("mole.jpg", s.path.read_bytes())})
    assert r.status_code == 200, r.text
    body = r.json()
    assert body["quality"]["ok"] and body["box"] and len(body["box"]) == 4
    assert sum(body["probabilities"].values()) == pytest.approx(1.0, abs=1e-4)
    assert body["top_class"] == max(body["probabilities"], key=body["probabilities"].get)
    advice = body["advice"]
    assert advice["lang"] == "ko" and advice["source"] == "knowledge_base" and advice["urgency"] == body["urgency"]
    assert "의료기기" in advice["disclaimer"]
    x0, y0, x1, y1 = body["crop_box"]  # the analysed square holds the lesion box
    assert x1 - x0 == y1 - y0 and x0 <= body["box"][0] and x1 >= body["box"][2]
    heat = np.array(body["heatmap"])
    assert heat.ndim == 2 and heat.min() >= 0 and heat.max() == pytest.approx(1.0)
    assert [c["code"] for c in advice["top3"]] == sorted(body["probabilities"], key=body["probabilities"].get)[::-1][:3]
    assert advice["plain_name"] and advice["reasons"] and all(isinstance(r, str) and r for r in advice["reasons"])


def test_diagnose_reports_quality_problems(server):
    dark = np.full((480, 640, 3), 8, np.uint8)
    r = httpx.post(server.url + "/api/v1/diagnose", files={"file": ("dark.jpg", _jpeg(dark))})
    assert r.status_code == 200
    body = r.json()
    assert body["quality"] == {"ok": False, "reason": "too_dark",
                               "message": "The photo is too dark — take it again in better light"}  # photo wording
    assert body["top_class"] is None


def test_message_tables_for_the_page(server):
    en, ko = (httpx.get(server.url + f"/api/v1/messages/{lang}").json() for lang in ("en", "ko"))
    assert en["ui"]["startOver"] == "Start over" and ko["ui"]["startOver"] == "다시 시작"
    assert en["classes"]["nv"] == {"name": "Melanocytic nevus", "plain_name": "Mole"}
    assert set(en["urgency_labels"]) == {"routine", "weeks", "prompt", "uncertain"} and ko["urgency_labels"]["weeks"]
    assert httpx.get(server.url + "/api/v1/messages/xx").status_code == 422
    langs = httpx.get(server.url + "/api/v1/config").json()["languages"]
    assert {"code": "ko", "name": "한국어"} in langs


def test_advice_names_the_candidates_of_an_alternating_hold(server):
    probs = {"akiec": 0.35, "bcc": 0.05, "bkl": 0.02, "df": 0.01, "mel": 0.5, "nv": 0.05, "vasc": 0.02}
    r = httpx.post(server.url + "/api/v1/advice", json={"probabilities": probs, "candidates": ["mel", "akiec"],
                                                        "lang": "en", "llm": False})
    final = [json.loads(line) for line in r.text.splitlines()][-1]["advice"]
    assert final["candidates"] == ["mel", "akiec"] and final["see_a_doctor"]
    assert any("changed between" in line for line in final["reasons"])


@pytest.mark.parametrize("data,status,detail", [
    (b"", 400, "empty"),
    (b"GIF89a not really", 400, "not an image"),
    (_jpeg(np.random.default_rng(0).integers(0, 255, (120, 160, 3), np.uint8))[:500], 400, "truncated"),
    (b"%PDF-1.4 a document", 400, "not an image"),
])
def test_bad_uploads_get_clear_4xx(server, data, status, detail):
    r = httpx.post(server.url + "/api/v1/diagnose", files={"file": ("x.jpg", data)})
    assert r.status_code == status and detail in r.json()["detail"]


def test_missing_file_and_oversize(server):
    r = httpx.post(server.url + "/api/v1/diagnose")
    assert r.status_code == 422 and r.json()["error"] == "InvalidRequest"
    big = b"\xff\xd8" + b"0" * (16 * 1024 * 1024)
    r = httpx.post(server.url + "/api/v1/diagnose", files={"file": ("big.jpg", big)}, timeout=60)
    assert r.status_code == 413
    assert httpx.get(server.url + "/healthz").status_code == 200  # still serving


def test_security_headers_and_no_cors(server):
    r = httpx.get(server.url + "/", headers={"Origin": "http://evil.example"})
    csp = r.headers["content-security-policy"]
    assert "script-src 'self'" in csp and "'unsafe-inline'" not in csp.split("script-src")[1].split(";")[0]
    assert "frame-ancestors 'none'" in csp and r.headers["x-content-type-options"] == "nosniff"
    assert "access-control-allow-origin" not in r.headers
    html = r.text
    assert "<script>" not in html and "onclick" not in html and "style=" not in html
    assert "not a medical device" in html


def test_advice_stream_uses_the_llm_when_it_answers_well():
    with FakeLLM() as fake, LiveServer(create_app(get_settings(model_dir=MODELS, llm_provider="ollama",
                                                               ollama_host=fake.url))) as s:
        with httpx.stream("POST", s.url + "/api/v1/advice",
                          json={"probabilities": {"mel": 0.9, "nv": 0.1}, "lang": "en"}) as r:
            events = [json.loads(line) for line in r.iter_lines() if line]
        assert events[0]["advice"]["source"] == "knowledge_base" and not events[0]["final"]
        assert any(e["type"] == "llm_delta" for e in events)
        assert events[-1]["final"] and events[-1]["advice"]["source"] == "llm"
        assert events[-1]["advice"]["urgency"] == "prompt"
        fake.mode = "error500"
        r = httpx.post(s.url + "/api/v1/advice", json={"probabilities": {"mel": 0.9, "nv": 0.1}})
        final = json.loads(r.text.strip().splitlines()[-1])["advice"]
        assert final["source"] == "knowledge_base" and "500" in final["fallback_reason"]
        r = httpx.post(s.url + "/api/v1/advice", json={"probabilities": {"zzz": 1.0}})
        assert r.status_code == 400


def test_access_token_when_configured():
    with LiveServer(create_app(_settings(access_token="s3cret"))) as s:
        assert httpx.get(s.url + "/api/v1/model").status_code == 401
        assert httpx.get(s.url + "/healthz").status_code == 200
        assert httpx.get(s.url + "/api/v1/model", headers={"Authorization": "Bearer s3cret"}).status_code == 200
        assert httpx.get(s.url + "/api/v1/model", headers={"Authorization": "Bearer wrong"}).status_code == 401


# ---------- live WebSocket ----------

def _ws(server, query=""):
    from websockets.sync.client import connect

    return connect(server.url.replace("http", "ws") + "/api/v1/live" + query, max_size=2**22, open_timeout=10)


@needs_ham
def test_live_session_confirms_after_hold(server, classifier, test_split_samples):
    from skindoctor.dev.clips import Segment, render
    from skindoctor.stream.pipeline import Pipeline

    from .lesions import Key, steady_lesions

    lesion = steady_lesions(Key(Pipeline(classifier)), Key(test_split_samples), ("nv", "bkl"))["nv"]
    rng = np.random.default_rng(0)
    start, replies = time.monotonic(), []
    with _ws(server, "?lang=ko") as ws:
        while time.monotonic() - start < 8:
            ws.send(_jpeg(render(Segment(lesion, 10), time.monotonic() - start, rng)))
            msg = json.loads(ws.recv(timeout=10))
            replies.append((time.monotonic() - start, msg))
            if msg.get("diagnosis"):
                break
            time.sleep(0.03)
    frames = [m for _, m in replies if m["type"] == "frame"]
    assert frames and frames[0]["width"] == 640
    t, final = replies[-1]
    d = final["diagnosis"]
    assert d["code"] == "nv" and d["held_seconds"] >= 3.0 and t >= 3.0
    assert d["advice"]["lang"] == "ko" and d["name"] == d["advice"]["name"]
    progress = [m["hold"]["progress"] for m in frames]
    assert max(progress[:-1]) < 1.0 and progress[-1] == 1.0


def test_live_session_survives_malformed_messages(server):
    with _ws(server) as ws:
        ws.send("not json")
        assert json.loads(ws.recv(timeout=10))["type"] == "error"
        ws.send(json.dumps({"type": "launch-missiles"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "error"
        ws.send(b"\x00\x01garbage bytes")
        assert "not an image" in json.loads(ws.recv(timeout=10))["message"]
        time.sleep(0.1)
        ws.send(json.dumps({"type": "reset"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "reset"
        time.sleep(0.1)
        ws.send(_jpeg(np.full((480, 640, 3), (205, 160, 140), np.uint8)))
        msg = json.loads(ws.recv(timeout=10))
        assert msg["type"] == "frame" and msg["quality"]["reason"] == "no_lesion"


def test_live_sessions_are_capped_with_503(server):
    from websockets.exceptions import InvalidStatus

    with _ws(server), _ws(server):
        with pytest.raises(InvalidStatus) as err:
            _ws(server)
        assert err.value.response.status_code == 503
        assert err.value.response.headers["Retry-After"] == "10"
    time.sleep(0.3)
    with _ws(server) as ws:  # slots are released when sessions end
        ws.send(json.dumps({"type": "reset"}))
        assert json.loads(ws.recv(timeout=10))["type"] == "reset"


def test_operator_settings_reach_the_page():
    with LiveServer(create_app(_settings(lang="ko", kiosk_reset_seconds=12, hold_seconds=2.5))) as s:
        cfg = httpx.get(s.url + "/api/v1/config").json()
        assert {k: cfg[k] for k in ("lang", "hold_seconds", "kiosk_reset_seconds")} == {
            "lang": "ko", "hold_seconds": 2.5, "kiosk_reset_seconds": 12}
        assert [lang["code"] for lang in cfg["languages"]] == ["en", "ko"]
        assert httpx.get(s.url + "/kiosk").status_code == 200
