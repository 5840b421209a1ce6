"""The curated knowledge base: per language, what to tell a person. YAML, validated.

One file per language (``knowledge/<code>.yaml``) holds the class names (the single source of them),
the care texts, the rule texts and the language model's checks for that language: words only. Urgency
and every other safety rule is the class catalogue's (``labels.py``), the same in every language.
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, ConfigDict, Field, model_validator

from ..i18n import LANGUAGES
from ..labels import LesionClass

KNOWLEDGE_DIR = Path(__file__).parent / "knowledge"


class ClassEntry(BaseModel):
    """What to tell a person about one class, in one language (nothing else: unknown keys are refused)."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=2)  # the medical term
    # shown first: a name a person would say ("Mole", "Melanoma (a skin cancer)"), never an instruction (urgency
    # is the banner's); the page adds the medical term only where the plain name does not already hold it
    plain_name: str = Field(min_length=1)
    description: str = Field(min_length=40)
    appearance: str = Field(min_length=20)
    care: list[str] = Field(min_length=1)
    warning_signs: list[str] = Field(min_length=1)
    see_doctor: str = Field(min_length=10)

    @model_validator(mode="before")
    @classmethod
    def _no_urgency(cls, data):
        if isinstance(data, dict) and "urgency" in data:
            raise ValueError("urgency is a safety rule, the same in every language: it is set per class in the "
                             "class catalogue (labels.py) or the model card, never in a knowledge file")
        return data


class RuleTexts(BaseModel):
    """What our rules say when they override a class's own advice (``{placeholders}`` filled by the advisor)."""

    raised: str = Field(min_length=10)  # {name}, {pct}, {label}
    uncertain: str = Field(min_length=10)  # {pct}
    unfamiliar: str = Field(min_length=10)
    no_care_text: str = Field(min_length=10)  # for a class this file does not describe
    # when a rule (not the class) sets the advice, these replace the class's own description and care, which may
    # reassure ("harmless", "no treatment is needed") where the rules ask for a doctor
    checked_description: str = Field(min_length=10)  # {name}
    care_checked: str = Field(min_length=10)


class LLMChecks(BaseModel):
    """How the language model is asked for this language, and what its answer must not contain."""

    language_name: str  # as written in the prompt, e.g. "Korean (한국어)"
    script: str  # a regex character class of this language's letters
    min_script_share: float = Field(gt=0, le=1)  # share of the answer's letters that must be in that script
    dosing: list[str] = Field(min_length=1)  # regular expressions (case-insensitive)
    reassurance: list[str] = Field(min_length=1)
    alarm: list[str] = Field(min_length=1)


class Knowledge(BaseModel):
    language: str
    sources: list[str] = Field(min_length=1)
    disclaimer: str
    urgency_labels: dict[str, str]
    uncertain_label: str
    rule_texts: RuleTexts
    llm: LLMChecks
    classes: dict[str, ClassEntry]

    def entry(self, code: str) -> ClassEntry | None:
        return self.classes.get(code)


@lru_cache(maxsize=8)
def load_knowledge(lang: str, directory: Path = KNOWLEDGE_DIR) -> Knowledge:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not supported (have: {', '.join(LANGUAGES)})")
    data = yaml.safe_load((Path(directory) / f"{lang}.yaml").read_text(encoding="utf-8"))
    return Knowledge.model_validate(data)


def class_names(cls: LesionClass, lang: str) -> tuple[str, str]:
    """(medical term, plain name) of a class in ``lang``: the knowledge base's, else the model card's own."""
    entry = load_knowledge(lang).entry(cls.code)
    if entry is not None:
        return entry.name, entry.plain_name
    name = cls.name(lang)
    return name, name
