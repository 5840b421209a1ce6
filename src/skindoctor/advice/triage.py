"""Urgency from rules on calibrated probabilities — never from the LLM, nor from a translation.

All thresholds live in ``TriageRules``; the malignant threshold comes from the model card
(chosen on validation data for ≥ 95 % sensitivity), so it follows the model it was fitted for.
Each class's own urgency and malignancy are the class catalogue's (``labels.py``), so every language
gets the same urgency for the same probabilities.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..labels import LesionClass, Urgency
from .knowledge import Knowledge


@dataclass(frozen=True)
class TriageRules:
    malignant_threshold: float = 0.5  # summed P(can-be-malignant classes) → at least "weeks"
    prompt_class_threshold: float = 0.3  # P(a class whose own urgency is "prompt") → "prompt"
    uncertain_below: float = 0.5  # top probability below this → "uncertain — have it checked"
    unfamiliar_above: float = 1.0  # P(not a lesion) from this → "uncertain": unlike the lesions the model knows

    @classmethod
    def from_card(cls, card) -> TriageRules:
        """The rules with the thresholds the model card chose on validation data."""
        return cls(malignant_threshold=card.malignant_threshold or cls.malignant_threshold,
                   unfamiliar_above=card.doubt_threshold or cls.unfamiliar_above)


@dataclass(frozen=True)
class Triage:
    top_class: str
    urgency: Urgency
    malignant_score: float
    uncertain: bool
    reasons: tuple[str, ...]  # machine-readable rule names that fired

    @property
    def see_doctor(self) -> bool:
        return self.urgency >= Urgency.weeks or self.uncertain


def triage(probs: np.ndarray, classes: list[LesionClass], knowledge: Knowledge, rules: TriageRules,
           not_lesion: float = 0.0) -> Triage:
    """Urgency for lesion-class probabilities; ``not_lesion`` is the model's P(not a lesion).
    ``knowledge`` only tells whether there is care text for the top class (else the reason says so)."""
    probs = np.asarray(probs, dtype=np.float64)
    top = int(probs.argmax())
    top_code = classes[top].code
    urgency = classes[top].urgency_level()
    reasons = [f"class:{top_code}" if knowledge.entry(top_code) is not None else f"class:{top_code}:no-knowledge"]
    malignant_score = float(sum(p for p, c in zip(probs, classes) if c.can_be_malignant))
    if malignant_score >= rules.malignant_threshold and urgency < Urgency.weeks:
        urgency = Urgency.weeks
        reasons.append("malignant-score")
    for p, c in zip(probs, classes):
        if c.urgency_level() == Urgency.prompt and p >= rules.prompt_class_threshold and urgency < Urgency.prompt:
            urgency = Urgency.prompt
            reasons.append(f"prompt-class:{c.code}")
    uncertain = False
    if float(probs[top]) < rules.uncertain_below:
        uncertain = True
        reasons.append("low-confidence")
    if not_lesion >= rules.unfamiliar_above:
        uncertain = True
        reasons.append("unfamiliar-picture")
    if uncertain:
        urgency = max(urgency, Urgency.weeks)
    return Triage(top_code, urgency, malignant_score, uncertain, tuple(reasons))
