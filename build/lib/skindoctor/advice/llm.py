"""Streaming chat clients for a local LLM: Ollama's ``/api/chat`` and any OpenAI-compatible
``/v1/chat/completions`` (or ``/v1/completions`` for base models without a chat template).

Every call is bounded: a short connect timeout (a server that is down fails at once), a read
timeout between chunks, and an overall deadline. Any failure is an ``LLMError``.
"""

from __future__ import annotations

import itertools
import json
import time
from collections.abc import Iterator

import httpx

from ..errors import SkinDoctorError


class LLMError(SkinDoctorError):
    http_status = 502


def _normalise_host(host: str) -> str:
    host = host.strip().rstrip("/")
    return host if host.startswith(("http://", "https://")) else f"http://{host}"


class _StreamingClient:
    def __init__(self, base_url: str, model: str, timeout: float = 20.0, connect_timeout: float = 1.5):
        self.base_url, self.model = _normalise_host(base_url), model
        self.timeout, self.connect_timeout = timeout, connect_timeout

    @property
    def name(self) -> str:
        return self.model

    def _stream_lines(self, path: str, body: dict, headers: dict | None = None) -> Iterator[str]:
        deadline = time.monotonic() + self.timeout
        timeout = httpx.Timeout(self.timeout, connect=self.connect_timeout)
        try:
            with httpx.stream("POST", self.base_url + path, json=body, headers=headers, timeout=timeout) as r:
                if r.status_code != 200:
                    r.read()
                    raise LLMError(f"LLM server answered HTTP {r.status_code}: {r.text[:200]}")
                for line in r.iter_lines():
                    if time.monotonic() > deadline:
                        raise LLMError(f"LLM answer took longer than {self.timeout:.0f} s")
                    if line.strip():
                        yield line
        except httpx.TimeoutException:
            raise LLMError(f"LLM server at {self.base_url} timed out") from None
        except httpx.HTTPError as e:
            raise LLMError(f"LLM server at {self.base_url} is unreachable ({type(e).__name__})") from None


class OllamaClient(_StreamingClient):
    """Ollama ``/api/chat`` with ``format`` = JSON schema (structured output), streamed NDJSON."""

    def stream(self, messages: list[dict], schema: dict) -> Iterator[str]:
        body = {"model": self.model, "messages": messages, "stream": True, "format": schema,
                "options": {"temperature": 0.2, "num_predict": 700}}
        for line in self._stream_lines("/api/chat", body):
            try:
                obj = json.loads(line)
            except json.JSONDecodeError:
                raise LLMError("LLM server sent a malformed stream") from None
            if not isinstance(obj, dict):
                raise LLMError("LLM server sent a malformed stream")
            if "error" in obj:
                raise LLMError(f"LLM error: {str(obj['error'])[:200]}")
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
        common = {"model": self.model, "stream": True, "temperature": 0.2, "max_tokens": 700}
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
                raise LLMError("LLM server sent a malformed stream") from None
            text = (choice.get("delta") or {}).get("content") if "delta" in choice else choice.get("text")
            if text:
                yield str(text)

