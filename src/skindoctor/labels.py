"""Class catalogue: the diagnostic classes the product knows, and whether each can be malignant.

The model card lists the classes a model predicts (by code). A catalogue class takes its names in
every language from the knowledge base (``advice/knowledge/<lang>.yaml``, the one place class names
live). A class a user's own model card brings (e.g. AI-Hub classes) carries its malignancy flag and
its names per language in the card, so nothing downstream assumes seven classes.
"""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel, model_validator


class LesionClass(BaseModel):
    """One diagnostic class."""

    code: str
    can_be_malignant: bool
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

    def name(self, lang: str) -> str:
        """The card's own name in ``lang`` (English, then the code, when it has none)."""
        return self.names.get(lang) or self.names.get("en") or self.code


HAM10000_CLASSES: tuple[LesionClass, ...] = tuple(
    LesionClass(code=code, can_be_malignant=malignant)
    for code, malignant in (("akiec", True), ("bcc", True), ("bkl", False), ("df", False), ("mel", True),
                            ("nv", False), ("vasc", False))
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
                    "{code, can_be_malignant, names: {en: ..., ko: ...}} in the model card"
                )
            classes.append(CATALOGUE[entry])
        else:
            classes.append(LesionClass(**entry))
    return classes
