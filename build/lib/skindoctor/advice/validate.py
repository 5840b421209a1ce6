"""Checks an LLM answer must pass before a person sees it; anything else falls back to our text.

Schema and lengths, the requested language, no medicine doses, and no contradiction of the
urgency our rules decided (no reassurance when a doctor is advised, no alarm when it is routine).
"""

from __future__ import annotations

import json
import re

from pydantic import BaseModel, Field, ValidationError

from .knowledge import Urgency


class LLMAdvice(BaseModel):
    description: str = Field(min_length=20, max_length=700)
    care: list[str] = Field(min_length=1, max_length=6)
    when_to_see_doctor: str = Field(min_length=10, max_length=400)


SCHEMA = LLMAdvice.model_json_schema()

DOSING = re.compile(
    r"\d+(\.\d+)?\s*(mg|mcg|µg|ug|ml|mL|g\b|iu|IU|units?\b|tablets?|capsules?|pills?|drops?|밀리그램|정\b|알\b|캡슐|방울)"
    r"|\b(dose|dosage|twice (a|per) day|three times (a|per) day|every \d+ hours)\b|복용량|하루\s*\d+\s*(번|회)",
    re.IGNORECASE)
REASSURANCE = re.compile(
    r"no need (to|for)( see| visit)?|(do not|don't|doesn't|does not) need (to see|a doctor|treatment|medical)"
    r"|nothing to worry|no cause for concern|not (a )?(cause for )?concern|can (be )?(safely )?ignored|harmless"
    r"|not dangerous|no treatment is needed|wait and see"
    r"|필요\s*(가|는)?\s*없|걱정(할|하지)|무해|해롭지 않|위험하지 않|치료가 필요하지 않|지켜보",
    re.IGNORECASE)
ALARM = re.compile(r"emergency|immediately|urgent|life.threatening|응급|즉시|긴급|생명", re.IGNORECASE)
HANGUL = re.compile(r"[\uac00-\ud7a3]")
LATIN = re.compile(r"[A-Za-z]")


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
    hangul, latin = len(HANGUL.findall(text)), len(LATIN.findall(text))
    if lang == "ko" and hangul < 0.6 * (hangul + latin):
        raise Rejected("answer is not in Korean")
    if lang == "en" and (hangul > 0 or latin < 20):
        raise Rejected("answer is not in English")
    if DOSING.search(text):
        raise Rejected("answer contains dosing instructions")
    if urgency >= Urgency.weeks and REASSURANCE.search(text):
        raise Rejected("answer plays down a lesion our rules send to a doctor")
    if urgency == Urgency.routine and ALARM.search(text):
        raise Rejected("answer raises an alarm our rules do not support")


def validate_answer(text: str, lang: str, urgency: Urgency) -> LLMAdvice:
    advice = parse_answer(text)
    check_answer(advice, lang, urgency)
    return advice
