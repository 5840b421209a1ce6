"""`evaluate` with a validation part: the test sets are judged with the thresholds it has just chosen."""

from __future__ import annotations

import shutil

from skindoctor.model_card import load_card
from skindoctor.train import evaluate

from .conftest import MODELS, needs_ham


@needs_ham
def test_test_sets_are_judged_with_the_thresholds_chosen_on_validation(test_split_samples, tmp_path, monkeypatch):
    models = tmp_path / "models"
    models.mkdir()
    card = load_card(MODELS)
    for name in ["model_card.json", *card.files.values(), *card.localizer.files.values()]:
        shutil.copy2(MODELS / name, models / name)
    lesions = [s for s in test_split_samples if s.label == "nv"][:8]
    chosen = {"malignant_threshold": card.malignant_threshold, "doubt_threshold": None,
              "reject_threshold": 1e-6}  # "not a lesion" from a millionth: every photo is turned away
    monkeypatch.setattr(evaluate, "calibrate", lambda pipeline, val: dict(chosen))
    results = evaluate.evaluate_sets(models, {"test": lesions}, tmp_path / "docs", val={"dermoscopic": lesions[:2]})
    assert load_card(models).reject_threshold == 1e-6
    assert results["test"]["wrongly_rejected"] >= 0.75, results["test"].get("rejected_by_reason")
    assert "not_lesion" in results["test"]["rejected_by_reason"]


@needs_ham
def test_thresholds_are_chosen_with_the_not_a_lesion_check_off(test_split_samples, monkeypatch):
    """What the gate and the localiser turn away first is counted without the card's current "not a lesion" check,
    so the chosen threshold does not depend on the one the card held before."""
    import skindoctor

    pipeline = skindoctor.load()
    seen = []
    real_score = evaluate.score
    monkeypatch.setattr(evaluate, "score", lambda p, images, labels: seen.append(p) or real_score(p, images, labels))
    photos = evaluate.photos(test_split_samples[:4], None)
    evaluate.calibrate(pipeline, {"dermoscopic": (photos, [s.label for s in test_split_samples[:4]])})
    assert seen and all(p.spec.classifier.reject_threshold > 1.0 for p in seen)
    assert pipeline.spec.classifier.reject_threshold <= 1.0  # the caller's pipeline is left as it was
