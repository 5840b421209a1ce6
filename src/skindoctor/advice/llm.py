"""Streaming chat clients for a local LLM: Ollama's ``/api/chat`` and any OpenAI-compatible
``/v1/chat/completions`` (or ``/v1/completions`` for base models without a chat template).

Every call is bounded: a short connect timeout (a server that is down fails at once), a token cap,
and an overall deadline that holds even while a read is waiting (the stream is read in a worker
thread; at the deadline the caller stops waiting and the connection is dropped, which also stops a
llama.cpp server generating). Any failure is an ``LLMError`` with a machine-readable ``reason``.
"""

from __future__ import annotations

import itertools
import json
import queue
import threading
import time
from collections.abc import Iterator

import httpx

from ..errors import SkinDoctorError


class LLMError(SkinDoctorError):
    """The LLM gave no usable stream; ``reason``: timeout, unreachable, http or stream."""

    http_status = 502

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


def _normalise_host(host: str) -> str:
    host = host.strip().rstrip("/")
    return host if host.startswith(("http://", "https://")) else f"http://{host}"


_END = object()  # put by the reader when the stream ended normally


class _StreamingClient:
    def __init__(self, base_url: str, model: str, timeout: float = 20.0, connect_timeout: float = 1.5,
                 max_tokens: int = 700):
        self.base_url, self.model = _normalise_host(base_url), model
        self.timeout, self.connect_timeout, self.max_tokens = timeout, connect_timeout, max_tokens

    @property
    def name(self) -> str:
        return self.model

    def _stream_lines(self, path: str, body: dict, headers: dict | None = None) -> Iterator[str]:
        """The non-empty lines of a streamed POST, cut off ``timeout`` seconds after the call."""
        deadline = time.monotonic() + self.timeout
        lines: queue.Queue = queue.Queue()
        stop = threading.Event()
        threading.Thread(target=self._read_lines, args=(path, body, headers, lines, stop), daemon=True).start()
        try:
            while True:
                remaining = deadline - time.monotonic()
                try:
                    if remaining <= 0:
                        raise queue.Empty
                    item = lines.get(timeout=remaining)
                except queue.Empty:
                    raise LLMError("timeout", f"LLM answer took longer than {self.timeout:g} s") from None
                if isinstance(item, LLMError):
                    raise item
                if item is _END:
                    return
                yield item
        finally:
            stop.set()

    def _read_lines(self, path: str, body: dict, headers: dict | None, lines: queue.Queue,
                    stop: threading.Event) -> None:
        """The worker: puts each line, then ``_END`` or an ``LLMError``; leaves once ``stop`` is set."""
        timeout = httpx.Timeout(self.timeout, connect=self.connect_timeout)
        try:
            with httpx.stream("POST", self.base_url + path, json=body, headers=headers, timeout=timeout) as r:
                if r.status_code != 200:
                    r.read()
                    lines.put(LLMError("http", f"LLM server answered HTTP {r.status_code}: {r.text[:200]}"))
                    return
                for line in r.iter_lines():
                    if stop.is_set():
                        return
                    if line.strip():
                        lines.put(line)
            lines.put(_END)
        except httpx.TimeoutException:
            lines.put(LLMError("timeout", f"LLM server at {self.base_url} timed out"))
        except httpx.HTTPError as e:
            lines.put(LLMError("unreachable", f"LLM server at {self.base_url} is unreachable ({type(e).__name__})"))


class OllamaClient(_StreamingClient):
    """Ollama ``/api/chat`` with ``format`` = JSON schema (structured output), streamed NDJSON."""

    def stream(self, messages: list[dict], schema: dict) -> Iterator[str]:
        body = {"model": self.model, "messages": messages, "stream": True, "format": schema,
                "options": {"temperature": 0.2, "num_predict": self.max_tokens}}
        for line in self._stream_lines("/api/chat", body):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise LLMError("stream", "LLM server sent a malformed stream") from None
            if not isinstance(obj, dict):
                raise LLMError("stream", "LLM server sent a malformed stream")
            if "error" in obj:
                raise LLMError("http", f"LLM error: {str(obj['error'])[:200]}")
            yield str((obj.get("message") or {}).get("content", ""))
            if obj.get("done"):
                return


class OpenAICompatibleClient(_StreamingClient):
    """``/v1/chat/completions`` (mode ``chat``) or ``/v1/completions`` (mode ``completion``, for base
    models without a chat template), streamed as server-sent events."""

    def __init__(self, base_url: str, model: str, api_key: str | None = None, mode: str = "chat", **kw):
        super().__init__(base_url, model, **kw)
        self.api_key, self.mode = api_key, mode
        self.response_format = "json_schema"  # OpenAI's; llama.cpp's server wants json_object + schema

    def _format(self, schema: dict) -> dict:
        if self.response_format == "json_schema":
            return {"type": "json_schema", "json_schema": {"name": "advice", "schema": schema}}
        return {"type": "json_object", "schema": schema}

    def stream(self, messages: list[dict], schema: dict) -> Iterator[str]:
        headers = {"Authorization": f"Bearer {self.api_key}"} if self.api_key else None
        common = {"model": self.model, "stream": True, "temperature": 0.2, "max_tokens": self.max_tokens}
        if self.mode == "completion":
            prompt = "\n\n".join(m["content"] for m in messages) + "\n\nJSON answer:\n"
            path, body = "/v1/completions", {**common, "prompt": prompt}
            yield from self._read(self._stream_lines(path, body, headers))
            return
        path = "/v1/chat/completions"
        try:
            lines = self._stream_lines(path, {**common, "messages": messages, "response_format": self._format(schema)},
                                       headers)
            first = next(lines, None)
        except LLMError as e:
            if "response_format" not in str(e) or self.response_format != "json_schema":
                raise
            self.response_format = "json_object"  # the server told us which form it takes
            lines = self._stream_lines(path, {**common, "messages": messages, "response_format": self._format(schema)},
                                       headers)
            first = next(lines, None)
        if first is not None:
            yield from self._read(itertools.chain([first], lines))

    def _read(self, lines: Iterator[str]) -> Iterator[str]:
        for line in lines:
            if not line.startswith("data:"):
                continue
            data = line[5:].strip()
            if data == "[DONE]":
                return
            try:
                choice = json.loads(data)["choices"][0]
            except (json.JSONDecodeError, KeyError, IndexError, TypeError):
                raise LLMError("stream", "LLM server sent a malformed stream") from None
            text = (choice.get("delta") or {}).get("content") if "delta" in choice else choice.get("text")
            if text:
                yield str(text)

