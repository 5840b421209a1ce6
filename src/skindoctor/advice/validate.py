"""Checks an LLM answer must pass before a person sees it; anything else falls back to our text.

Parsing takes the first JSON object in the answer (prose or code fences around it, raw control
characters inside its strings are fine). Safety: the requested language, no medicine doses, and no
contradiction of the urgency our rules decided (no reassurance when a doctor is advised, no alarm when
it is routine); the script and the word patterns of each language live in its knowledge file (``llm:``).
Wording, which must be better than none: no echo of our instructions, no bare title, a length near the
text it replaces, the class named and a doctor mentioned, and nothing the knowledge entry does not say
(no number it lacks, no medical-looking word it lacks, few other words beyond a small allow-list).
Every refusal is a ``Rejected`` whose ``reason`` is a machine-readable code.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
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
ECHO_WORDS = 5  # this many words in a row from our instructions (not from the entry) is an echo
MIN_WORDS = {"description": 6, "care": 2, "when_to_see_doctor": 4}  # fewer is a heading, not guidance
LENGTH_RANGE = (0.3, 1.5)  # the answer's length over that of the entry's text it replaces
MAX_NEW_WORDS, MAX_NEW_SHARE = 2, 0.2  # words beyond the entry and the allow-list: more than both is ungrounded

# Words any rewording may use although the entry lacks them: function words and plain care words, no
# medical terms (Latin script; compared by a crude stem). Korean words compare by their first two syllables.
ALLOWED = {
    "en": set("""a about after again all also an and any are as ask at be because been before best but by can
        care check checked come could day days do does doctor doctors dermatologist each early even every few
        for from get gets go good has have help helps how if important in into is it its keep know later
        lesion lesions less let like likely look looks make makes many may might more most much must near need needs new
        next not notice of often on once one only or other our out over own part people person photo
        photograph picture please possible protect quickly regular regularly right safe see seen should show
        skin so some something soon spot spots stay such sure take tell than that the their them then there
        these they thing things this those time to too treat treated treatment try under until up us usual
        usually very visit wait want watch way we well what when where whether which while who why will with
        within without worried would you your""".split()),
    "ko": set("""가능 가장 간단 경우 계속 관리 그러 그리 그것 그런 기다 다른 다음 대부 도움 되고 되는 되면
        되어 됩니 때문 또는 또한 만약 많이 매우 먼저 모든 바로 받고 받는 받아 받으 변화 보고 보면
        보이 보통 부위 사진 상담 상태 새로 생기 생길 생겨 수도 스스 아니 알려 어떤 언제 여러 예약
        오래 우리 위해 의사 이런 이상 이것 이후 일반 입니 있고 있는 있다 있습 있으 자주 작은 잘못
        정기 정도 조금 좋습 좋은 주의 중요 지금 진료 통해 특히 필요 하고 하는 하면 하세 하십 하여
        하지 합니 해야 해서 했다 확인 항상 약간 종종 종류 염려""".split()),
}
DOCTOR = {"en": re.compile(r"doctor|dermatologist|\bgp\b|physician|clinic", re.I),
          "ko": re.compile("의사|피부과|전문의|진료|병원")}
# A word with one of these, absent from the entry, claims something medical the entry does not say.
MEDICAL = re.compile(r"oma|itis|osis|emia|cillin|mycin|cycline|azole|olol|pril|statin|sone|olone|profen|mab\b|"
                     r"caine|ectomy|otomy|therap|scop|biops|cancer|tumou?r|malignan|metasta|virus|infect|"
                     r"steroid|antibiot|medic|drug|prescri|cream|ointment|lotion|tablet|pill|inject|surg|"
                     r"암|종|염|약|연고|크림|주사|수술|항생|스테로이드|처방|감염|바이러스", re.I)
HANGUL = re.compile("[\uac00-\ud7a3]")
SENTENCE_END = re.compile(r"[.!?。]|[다요]$")  # Korean sentences may end on their verb's ending alone


class Rejected(ValueError):
    """The LLM answer failed a check: ``reason`` is a machine-readable code, the message says more."""

    def __init__(self, reason: str, message: str):
        super().__init__(message)
        self.reason = reason


class Reference(NamedTuple):
    """What an answer is held to: everything we sent, and the knowledge entry's own texts."""

    prompt: str
    facts: list[str]  # the entry's texts (name, plain name, description, …, the urgency label)
    name: str  # the class's medical term and plain name: the answer must use a word of the first, or the second
    plain_name: str
    replaced: str  # the entry's texts that the answer would replace (its length sets the range)


def _first_object(text: str) -> dict | None:
    """The first balanced ``{…}`` in ``text`` that parses to a dict (raw control characters allowed)."""
    for start in (i for i, ch in enumerate(text) if ch == "{"):
        depth, in_string, escaped = 0, False, False
        for end in range(start, len(text)):
            ch = text[end]
            if in_string:
                in_string = ch != '"' or escaped
                escaped = ch == "\\" and not escaped
            elif ch == '"':
                in_string = True
            elif ch in "{}":
                depth += 1 if ch == "{" else -1
                if depth == 0:
                    try:
                        obj = json.loads(text[start:end + 1], strict=False)
                    except json.JSONDecodeError:
                        break
                    if isinstance(obj, dict):
                        return obj
                    break
    return None


def _squash(value):
    """Strings with their runs of whitespace and control characters made single spaces."""
    if isinstance(value, str):
        return " ".join(value.split())
    if isinstance(value, list):
        return [_squash(v) for v in value]
    return value


def parse_answer(text: str) -> LLMAdvice:
    obj = _first_object(text)
    if obj is None:
        raise Rejected("no-json", "no JSON object in the answer")
    try:
        return LLMAdvice.model_validate({k: _squash(v) for k, v in obj.items()})
    except ValidationError as e:
        raise Rejected("schema", f"answer does not match the schema ({str(e).splitlines()[0][:120]})") from None


def check_answer(advice: LLMAdvice, lang: str, urgency: Urgency) -> None:
    """The safety checks: language, dosing, and the urgency our rules decided."""
    text = " ".join([advice.description, *advice.care, advice.when_to_see_doctor])
    rules = checks(lang)
    letters = sum(ch.isalpha() for ch in text)
    own = len(rules.letters.findall(text))
    if own < MIN_LETTERS or own < rules.min_share * letters:
        raise Rejected("language", f"answer is not in {load_knowledge(lang).llm.language_name}")
    if rules.dosing.search(text):
        raise Rejected("dosing", "answer contains dosing instructions")
    if urgency >= Urgency.weeks and rules.reassurance.search(text):
        raise Rejected("reassurance", "answer plays down a lesion our rules send to a doctor")
    if urgency == Urgency.routine and rules.alarm.search(text):
        raise Rejected("alarm", "answer raises an alarm our rules do not support")


def _words(text: str) -> list[str]:
    return re.findall(r"[^\W\d_]+", text.lower())


def _grams(text: str) -> set[tuple[str, ...]]:
    words = _words(text)
    return {tuple(words[i:i + ECHO_WORDS]) for i in range(len(words) - ECHO_WORDS + 1)}


def _stem(word: str) -> str:
    for suffix in ("ing", "ed", "es", "s", "ly"):
        if word.endswith(suffix) and len(word) > len(suffix) + 2:
            word = word[:-len(suffix)]
            break
    return word.rstrip("e") or word


def _known(lang: str, facts: str) -> Callable[[str], bool]:
    """Whether a word is in ``facts`` or the language's allow-list (Hangul words by their first two syllables)."""
    allowed = ALLOWED.get(lang, set())
    stems = {_stem(w) for w in [*_words(facts), *allowed]}
    return lambda w: (w[:2] in facts or w[:2] in allowed) if HANGUL.match(w) else _stem(w) in stems


def _content(text: str) -> list[str]:
    """The words worth checking: Hangul ones of two syllables or more, others of three letters or more."""
    return [w for w in _words(text) if len(w) > (1 if HANGUL.match(w) else 2)]


def check_wording(advice: LLMAdvice, lang: str, ref: Reference) -> None:
    """The answer must be better than none: see the module's docstring."""
    fields = {"description": [advice.description], "care": advice.care,
              "when_to_see_doctor": [advice.when_to_see_doctor]}
    texts = [t for values in fields.values() for t in values]
    ours = _grams(ref.prompt) - set().union(*map(_grams, ref.facts))
    for t in texts:
        if echo := _grams(t) & ours:
            raise Rejected("echo", f"answer repeats our instructions (\"{' '.join(min(echo))}\")")
    for key, values in fields.items():
        for t in values:
            if len(t.split()) < MIN_WORDS[key] or (key != "care" and not SENTENCE_END.search(t)):
                raise Rejected("title", f"{key} is a heading, not a sentence (\"{t[:60]}\")")
    ratio = sum(map(len, texts)) / len(ref.replaced)
    if not LENGTH_RANGE[0] <= ratio <= LENGTH_RANGE[1]:
        raise Rejected("length", f"answer is {ratio:.0%} of the length of our text")
    text, facts = " ".join(texts).lower(), " ".join(ref.facts).lower()
    generic = _known(lang, "")
    terms = [w for w in _words(ref.name) if not generic(w)] + [ref.plain_name.lower()]
    if not any(term in text for term in terms):
        raise Rejected("terms", f"answer does not name the condition ({ref.name} / {ref.plain_name})")
    doctor = DOCTOR.get(lang)
    if doctor is not None and not doctor.search(advice.when_to_see_doctor):
        raise Rejected("terms", "answer does not say when to see a doctor")
    if numbers := set(re.findall(r"\d+(?:[.,]\d+)?", text)) - set(re.findall(r"\d+(?:[.,]\d+)?", facts)):
        raise Rejected("ungrounded", f"answer has numbers our text does not ({', '.join(sorted(numbers))})")
    words, known = _content(text), _known(lang, facts)
    new = [w for w in words if not known(w)]
    if medical := [w for w in new if MEDICAL.search(w)]:
        raise Rejected("ungrounded", f"answer makes medical claims our text does not ({', '.join(medical[:5])})")
    if len(new) > max(MAX_NEW_WORDS, MAX_NEW_SHARE * len(words)):
        raise Rejected("ungrounded", f"answer says things our text does not ({', '.join(new[:8])})")


def validate_answer(text: str, lang: str, urgency: Urgency, ref: Reference) -> LLMAdvice:
    advice = parse_answer(text)
    check_answer(advice, lang, urgency)
    check_wording(advice, lang, ref)
    return advice
