"""One settings object: built-in defaults, then environment variables ``SKINDOCTOR_*``, then CLI flags given."""

from __future__ import annotations

import os
from pathlib import Path
from typing import Literal

from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from .i18n import LANGUAGES
from .model_card import default_models_dir


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKINDOCTOR_", extra="ignore")

    model_dir: Path = Field(default_factory=default_models_dir)
    model_variant: str | None = None  # default: the card's default_variant
    threads: int = 1
    localizer: Literal["auto", "learned", "colour"] = "auto"  # auto: the card's choice (its localizer.default)
    lang: Literal[LANGUAGES] = "en"  # type: ignore[valid-type]  (any language with a message file)

    # live recognition
    hold_seconds: float = 3.0
    decide_seconds: float = 10.0  # a lesion in view this long without a result: say why, and what to do

    # web server
    host: str = "127.0.0.1"
    port: int = 8000
    access_token: str | None = None  # required from clients when set (always set one off loopback)
    cors_origins: list[str] = []
    allowed_hosts: list[str] = []  # Host names served besides loopback and the address listened on ("*": any)
    forwarded_allow_ips: str = "127.0.0.1"  # proxies trusted for X-Forwarded-For/-Proto (client address, https)
    workers: int = 1  # server processes; each loads the model and has its own limits below
    max_connections: int = 1000  # open connections per worker (kept below the open-file limit)
    max_client_requests: int = 8  # requests and live sessions in progress at once from one client address
    max_concurrent_uploads: int = 8  # uploads read and analysed at once per worker; more wait their turn
    header_timeout: float = 10.0  # seconds to send a request's headers, from connecting or the last answer
    keep_alive_timeout: int = 5  # seconds an idle connection is kept open between requests
    max_upload_bytes: int = 15 * 1024 * 1024
    max_image_pixels: int = 40_000_000
    max_decoded_pixels: int = 4_000_000  # larger photos and frames are shrunk on decode (JPEG by its decoder)
    max_decode_bytes: int = 64 * 1024 * 1024  # memory one image may need to decode; more is refused (413)
    max_frame_bytes: int = 2 * 1024 * 1024
    max_live_sessions: int = 4  # per worker
    request_timeout: float = 30.0  # seconds for an HTTP request to start its answer (stalled uploads get 504)
    live_max_rate: float = 15.0  # frames analysed per second per session
    kiosk_reset_seconds: int = 30  # the kiosk starts over this long after showing a result
    live_idle_timeout: float = 60.0  # seconds without a message before a live session is closed
    worker_threads: int = 4  # threads analysing uploads and frames (the work is CPU-bound: a few suffice)
    malloc_arenas: int = 2  # glibc malloc arenas shared by those threads (keeps memory flat under load)

    # care guidance wording (urgency is always decided by our rules)
    use_llm: bool = True  # falls back to the knowledge base when the LLM is down, slow or wrong
    llm_provider: Literal["ollama", "openai", "none"] = "ollama"
    llm_model: str = "gemma3:1b"
    ollama_host: str = Field(default_factory=lambda: os.environ.get("OLLAMA_HOST", "http://127.0.0.1:11434"))
    llm_base_url: str = "http://127.0.0.1:8080"  # an OpenAI-compatible server (llama.cpp, vLLM, LM Studio…)
    llm_api_key: str | None = None
    llm_api_mode: Literal["chat", "completion"] = "chat"
    llm_timeout: float = 20.0


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with non-None overrides (CLI flags) applied."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})


def default(name: str):
    """A setting's built-in default (this file is the one place for it), before the environment and flags."""
    return Settings.model_fields[name].get_default(call_default_factory=True)
