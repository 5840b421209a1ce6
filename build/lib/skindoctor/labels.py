"""Class catalogue: the diagnostic classes the product knows, with Korean/English names.

The model card lists the classes a model predicts (by code). Codes found here get their names and
malignancy flag from this catalogue; codes a user's own model card brings (e.g. AI-Hub classes)
carry their own names and flag in the card, so nothing downstream assumes seven classes.
"""

from __future__ import annotations

from pydantic import BaseModel


class LesionClass(BaseModel):
    """One diagnostic class."""

    code: str
    name_en: str
    name_ko: str
    can_be_malignant: bool

    def name(self, lang: str) -> str:
        return self.name_ko if lang == "ko" else self.name_en


HAM10000_CLASSES: tuple[LesionClass, ...] = (
    LesionClass(code="akiec", name_en="Actinic keratosis / intraepithelial carcinoma",
                name_ko="광선각화증 / 상피내암", can_be_malignant=True),
    LesionClass(code="bcc", name_en="Basal cell carcinoma", name_ko="기저세포암", can_be_malignant=True),
    LesionClass(code="bkl", name_en="Benign keratosis", name_ko="양성 각화증", can_be_malignant=False),
    LesionClass(code="df", name_en="Dermatofibroma", name_ko="피부섬유종", can_be_malignant=False),
    LesionClass(code="mel", name_en="Melanoma", name_ko="흑색종", can_be_malignant=True),
    LesionClass(code="nv", name_en="Melanocytic nevus (mole)", name_ko="멜라닌세포 모반 (점)",
                can_be_malignant=False),
    LesionClass(code="vasc", name_en="Vascular lesion", name_ko="혈관 병변", can_be_malignant=False),
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
                    "{code, name_en, name_ko, can_be_malignant} in the model card"
                )
            classes.append(CATALOGUE[entry])
        else:
            classes.append(LesionClass(**entry))
    return classes
