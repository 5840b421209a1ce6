"""One settings object: environment variables ``SKINDOCTOR_*``; CLI flags override."""

from __future__ import annotations

from pathlib import Path

from pydantic_settings import BaseSettings, SettingsConfigDict

from .model_card import MODELS_DIR


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="SKINDOCTOR_", extra="ignore")

    model_dir: Path = MODELS_DIR
    model_variant: str | None = None  # default: the card's default_variant
    threads: int = 1
    lang: str = "en"


def get_settings(**overrides) -> Settings:
    """Settings from the environment, with non-None overrides (CLI flags) applied."""
    return Settings(**{k: v for k, v in overrides.items() if v is not None})
