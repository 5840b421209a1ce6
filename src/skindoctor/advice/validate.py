"""Checks an LLM answer must pass before a person sees it; anything else falls back to our text.

Schema and lengths, the requested language, no medicine doses, and no contradiction of the
urgency our rules decided (no reassurance when a doctor is advised, no alarm when it is routine).
The script and the word patterns of each language live in its knowledge file (``llm:``).
"""

from __future__ import annotations

import json
import re
from functools import cache
from typing import NamedTuple

from pydantic import BaseModel, Field, ValidationError

from ..i18n import DEFAULT_LANGUAGE
from ..labels import Urgency
from .knowledge import load_knowledge


class LLMAdvice(BaseModel):
    description: str = Field(min_length=20, max_length=700)
    care: list[str] = Field(min_length=1, max_length=6)
    when_to_see_doctor: str = Field(min_length=10, max_length=400)


SCHEMA = LLMAdvice.model_json_schema()


class Checks(NamedTuple):
    """One language's compiled checks (its own patterns plus English's, which apply in every language)."""

    letters: re.Pattern
    min_share: float
    dosing: re.Pattern
    reassurance: re.Pattern
    alarm: re.Pattern


def _any_of(patterns: list[str]) -> re.Pattern:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.IGNORECASE)


@cache
def checks(lang: str) -> Checks:
    own, english = load_knowledge(lang).llm, load_knowledge(DEFAULT_LANGUAGE).llm
    both = (own,) if lang == DEFAULT_LANGUAGE else (own, english)
    patterns = {kind: _any_of([p for c in both for p in getattr(c, kind)])
                for kind in ("dosing", "reassurance", "alarm")}
    return Checks(re.compile(f"[{own.script}]"), own.min_script_share, **patterns)


MIN_LETTERS = 20  # an answer with fewer letters in the language's script is not an answer in that language


class Rejected(ValueError):
    """The LLM answer failed a check; the message says which."""


def parse_answer(text: str) -> LLMAdvice:
    start, end = text.find("{"), text.rfind("}")
    if start < 0 or end <= start:
        raise Rejected("no JSON object in the answer")
    try:
        return LLMAdvice.model_validate(json.loads(text[start:end + 1]))
    except (json.JSONDecodeError, ValidationError) as e:
        raise Rejected(f"answer does not match the schema ({str(e).splitlines()[0][:120]})") from None


def check_answer(advice: LLMAdvice, lang: str, urgency: Urgency) -> None:
    text = " ".join([advice.description, *advice.care, advice.when_to_see_doctor])
    rules = checks(lang)
    letters = sum(ch.isalpha() for ch in text)
    own = len(rules.letters.findall(text))
    if own < MIN_LETTERS or own < rules.min_share * letters:
        raise Rejected(f"answer is not in {load_knowledge(lang).llm.language_name}")
    if rules.dosing.search(text):
        raise Rejected("answer contains dosing instructions")
    if urgency >= Urgency.weeks and rules.reassurance.search(text):
        raise Rejected("answer plays down a lesion our rules send to a doctor")
    if urgency == Urgency.routine and rules.alarm.search(text):
        raise Rejected("answer raises an alarm our rules do not support")


def validate_answer(text: str, lang: str, urgency: Urgency) -> LLMAdvice:
    advice = parse_answer(text)
    check_answer(advice, lang, urgency)
    return advice
