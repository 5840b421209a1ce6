"""The curated knowledge base: per class and language, what to tell a person. YAML, validated."""

from __future__ import annotations

from enum import IntEnum
from functools import lru_cache
from pathlib import Path

import yaml
from pydantic import BaseModel, Field

from ..i18n import LANGUAGES

KNOWLEDGE_DIR = Path(__file__).parent / "knowledge"


class Urgency(IntEnum):
    """Ordered: a rule may raise urgency, never lower it."""

    routine = 0
    weeks = 1
    prompt = 2


class ClassEntry(BaseModel):
    name: str = Field(min_length=2)  # the medical term
    plain_name: str = Field(min_length=1)  # plain, non-alarming words shown first
    description: str = Field(min_length=40)
    appearance: str = Field(min_length=20)
    care: list[str] = Field(min_length=1)
    warning_signs: list[str] = Field(min_length=1)
    see_doctor: str = Field(min_length=10)
    urgency: str

    def urgency_level(self) -> Urgency:
        return Urgency[self.urgency]


class Knowledge(BaseModel):
    language: str
    sources: list[str] = Field(min_length=1)
    disclaimer: str
    urgency_labels: dict[str, str]
    uncertain_label: str
    classes: dict[str, ClassEntry]

    def entry(self, code: str) -> ClassEntry | None:
        return self.classes.get(code)


GENERIC = {
    "en": ("We have no care text for this class yet. Have the spot looked at by a doctor, especially if it "
           "is new, changing, bleeding or does not heal."),
    "ko": ("이 분류에 대한 안내문이 아직 없습니다. 새로 생겼거나, 변하거나, 피가 나거나, 낫지 않는 병변이라면 "
           "의사의 진료를 받으세요."),
}


@lru_cache(maxsize=8)
def load_knowledge(lang: str, directory: Path = KNOWLEDGE_DIR) -> Knowledge:
    if lang not in LANGUAGES:
        raise ValueError(f"language {lang!r} is not supported (have: {', '.join(LANGUAGES)})")
    data = yaml.safe_load((Path(directory) / f"{lang}.yaml").read_text(encoding="utf-8"))
    return Knowledge.model_validate(data)
