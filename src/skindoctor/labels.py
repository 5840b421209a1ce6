"""Class catalogue: the diagnostic classes the product knows, whether each can be malignant, and its urgency.

The model card lists the classes a model predicts (by code). Malignancy and urgency are safety rules:
they live here, once for every language, never in a translation. A catalogue class takes its names in
every language from the knowledge base (``advice/knowledge/<lang>.yaml``, the one place class names
live). A class a user's own model card brings (e.g. AI-Hub classes) carries its malignancy flag, its
urgency and its names per language in the card, so nothing downstream assumes seven classes.
"""

from __future__ import annotations

from enum import IntEnum
from typing import Any, Literal

from pydantic import BaseModel, model_validator


class Urgency(IntEnum):
    """Ordered: a rule may raise urgency, never lower it."""

    routine = 0  # mention it at the next doctor's visit
    weeks = 1  # see a dermatologist within weeks
    prompt = 2  # see a doctor promptly


class LesionClass(BaseModel):
    """One diagnostic class."""

    code: str
    can_be_malignant: bool
    urgency: Literal["routine", "weeks", "prompt"] | None = None  # None: from can_be_malignant
    names: dict[str, str] = {}  # language code → name, for a class the knowledge base does not describe

    @model_validator(mode="before")
    @classmethod
    def _names_from_name_keys(cls, data: Any) -> Any:
        """Cards written before ``names`` existed spell them ``name_en``, ``name_ko``, …: keep reading them."""
        if isinstance(data, dict) and any(k.startswith("name_") for k in data):
            data = dict(data)
            legacy = {k.removeprefix("name_"): data.pop(k) for k in list(data) if k.startswith("name_")}
            data["names"] = {**legacy, **data.get("names", {})}
        return data

    @model_validator(mode="after")
    def _urgency_from_malignancy(self) -> LesionClass:
        """No urgency given: "weeks" if it can be malignant, else "routine". One that can be is never routine."""
        if self.urgency is None:
            self.urgency = "weeks" if self.can_be_malignant else "routine"
        if self.can_be_malignant and self.urgency == "routine":
            raise ValueError(f"class {self.code!r} can be malignant: its urgency cannot be routine")
        return self

    def urgency_level(self) -> Urgency:
        return Urgency[self.urgency]

    def name(self, lang: str) -> str:
        """The card's own name in ``lang`` (English, then the code, when it has none)."""
        return self.names.get(lang) or self.names.get("en") or self.code


HAM10000_CLASSES: tuple[LesionClass, ...] = tuple(
    LesionClass(code=code, can_be_malignant=malignant, urgency=urgency)
    for code, malignant, urgency in (("akiec", True, "weeks"), ("bcc", True, "weeks"), ("bkl", False, "routine"),
                                     ("df", False, "routine"), ("mel", True, "prompt"), ("nv", False, "routine"),
                                     ("vasc", False, "routine"))
)

CATALOGUE: dict[str, LesionClass] = {c.code: c for c in HAM10000_CLASSES}


def resolve_classes(entries: list[str | dict]) -> list[LesionClass]:
    """Turn a model card's class list (codes, or full dicts for custom classes) into LesionClass objects."""
    classes = []
    for entry in entries:
        if isinstance(entry, str):
            if entry not in CATALOGUE:
                raise ValueError(
                    f"class {entry!r} is not in the catalogue; give it as "
                    "{code, can_be_malignant, urgency (optional), names: {en: ..., ko: ...}} in the model card"
                )
            classes.append(CATALOGUE[entry])
        elif entry.get("code") in CATALOGUE:  # its malignancy and urgency are the catalogue's alone
            raise ValueError(f"class {entry['code']!r} is in the catalogue: list it by its code alone")
        else:
            classes.append(LesionClass(**entry))
    return classes
