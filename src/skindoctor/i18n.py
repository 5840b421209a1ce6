"""Every text the product shows, per language: one message file per language in ``messages/``.

A new language is one file here (``messages/<code>.yaml``, the same keys as ``en.yaml``) plus one
knowledge file (``advice/knowledge/<code>.yaml``). Keys are dotted paths (``quality.blurry``); texts
may hold ``{placeholders}`` filled by ``text(..., name=value)``. The page loads the same tables from
``/api/v1/messages/{lang}``, so the server and the browser never disagree on wording.
"""

from __future__ import annotations

from functools import cache
from pathlib import Path

import yaml

MESSAGES_DIR = Path(__file__).parent / "messages"
LANGUAGES: tuple[str, ...] = tuple(sorted(p.stem for p in MESSAGES_DIR.glob("*.yaml")))
DEFAULT_LANGUAGE = "en"


def language(lang: str | None) -> str:
    """A supported language code (the default for anything else)."""
    return lang if lang in LANGUAGES else DEFAULT_LANGUAGE


@cache
def table(lang: str) -> dict:
    """The whole message table of one language (nested dicts of strings)."""
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not supported (have: {', '.join(LANGUAGES)})")
    return yaml.safe_load((MESSAGES_DIR / f"{lang}.yaml").read_text(encoding="utf-8"))


def text(key: str, lang: str = DEFAULT_LANGUAGE, **values) -> str:
    """The text for a dotted key in ``lang`` (falling back to English), with its placeholders filled."""
    for candidate in (language(lang), DEFAULT_LANGUAGE):
        node = table(candidate)
        for part in key.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if isinstance(node, str):
            return node.format(**values) if values else node
    raise KeyError(f"no text for {key!r}")
