"""Urgency is a safety rule, the class catalogue's, the same in every language: translations hold words only."""

import numpy as np
import pytest
import yaml
from pydantic import ValidationError

from skindoctor.advice import advisor as advisor_module
from skindoctor.advice.advisor import Advisor
from skindoctor.advice.knowledge import KNOWLEDGE_DIR, load_knowledge
from skindoctor.advice.triage import TriageRules, triage
from skindoctor.i18n import LANGUAGES
from skindoctor.labels import CATALOGUE, HAM10000_CLASSES, LesionClass, resolve_classes
from skindoctor.model_card import load_card

from .conftest import MODELS

CLASSES = list(HAM10000_CLASSES)
RULES = TriageRules.from_card(load_card(MODELS))


def cases(count: int = 300) -> list[tuple[np.ndarray, float]]:
    """One-hot, sure, flat and mixed answers, on both sides of the card's doubt threshold."""
    rng, k = np.random.default_rng(0), len(CLASSES)
    out = [(p, 0.0) for p in np.eye(k)]
    for _ in range(count):
        p = rng.dirichlet(np.full(k, float(rng.choice([0.3, 1.0, 5.0]))))
        out.append((p, float(rng.choice([0.0, RULES.unfamiliar_above * 0.5, RULES.unfamiliar_above]))))
    return out


def decision(probs, not_lesion, kb) -> tuple:
    t = triage(probs, CLASSES, kb, RULES, not_lesion)
    return t.urgency, t.reasons, t.see_doctor, t.uncertain


def test_every_language_decides_the_same():
    advisor = Advisor(CLASSES, RULES, use_llm=False)
    for probs, not_lesion in cases():
        answers = {lang: advisor.knowledge_advice(probs, lang, not_lesion)[0] for lang in LANGUAGES}
        decided = {lang: (a.code, a.urgency, a.triage_reasons, a.see_a_doctor, a.uncertain)
                   for lang, a in answers.items()}
        assert all(d == decided["en"] for d in decided.values()), decided
        assert len({decision(probs, not_lesion, load_knowledge(lang)) for lang in LANGUAGES}) == 1


def test_the_catalogue_holds_each_classes_urgency():
    assert {c.code: c.urgency for c in CLASSES} == {"akiec": "weeks", "bcc": "weeks", "bkl": "routine",
                                                    "df": "routine", "mel": "prompt", "nv": "routine",
                                                    "vasc": "routine"}
    scc, wart, own = resolve_classes([{"code": "scc", "can_be_malignant": True},
                                      {"code": "wart", "can_be_malignant": False},
                                      {"code": "x", "can_be_malignant": True, "urgency": "prompt"}])
    assert (scc.urgency, wart.urgency, own.urgency) == ("weeks", "routine", "prompt")  # default: from malignancy
    with pytest.raises(ValidationError, match="cannot be routine"):
        LesionClass(code="y", can_be_malignant=True, urgency="routine")
    with pytest.raises(ValueError, match="in the catalogue"):  # a card cannot redefine melanoma
        resolve_classes([{"code": "mel", "can_be_malignant": True, "urgency": "weeks"}])
    assert CATALOGUE["mel"].urgency == "prompt"


@pytest.mark.parametrize("lang", LANGUAGES)
def test_editing_a_knowledge_file_changes_words_never_urgency(lang, tmp_path, monkeypatch):
    data = yaml.safe_load((KNOWLEDGE_DIR / f"{lang}.yaml").read_text(encoding="utf-8"))
    for level in data["urgency_labels"]:
        data["urgency_labels"][level] = f"edited {level} label"
    for entry in data["classes"].values():
        entry["plain_name"], entry["see_doctor"] = "edited name", "edited: no need to see anyone"
    (tmp_path / f"{lang}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    edited, shipped = load_knowledge(lang, tmp_path), load_knowledge(lang)
    for probs, not_lesion in cases(100):
        assert decision(probs, not_lesion, edited) == decision(probs, not_lesion, shipped)
    monkeypatch.setattr(advisor_module, "load_knowledge", lambda code: edited if code == lang else shipped)
    advice = Advisor(CLASSES, RULES, use_llm=False).advise("mel", lang=lang)
    assert advice.urgency_label == "edited prompt label" and advice.urgency == "prompt" and advice.see_a_doctor

    data["classes"]["mel"]["urgency"] = "routine"  # a one-word edit must not turn melanoma routine: refused
    (tmp_path / "stray").mkdir()
    (tmp_path / "stray" / f"{lang}.yaml").write_text(yaml.safe_dump(data, allow_unicode=True), encoding="utf-8")
    with pytest.raises(ValidationError, match="urgency is a safety rule"):
        load_knowledge(lang, tmp_path / "stray")
