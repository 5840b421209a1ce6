"""The outcome rates the evaluation reports: what a person is told, counted per photo."""

import numpy as np
import pytest

from skindoctor.train.evaluate import Scored, _rates, metrics

MALIGNANT = [0]  # class 0 can be malignant, class 1 cannot


def _scored(labels, outcomes, probs=None):
    labels = np.array(labels)
    probs = np.array(probs) if probs is not None else np.eye(2)[np.clip(labels, 0, 1)]
    return Scored(labels, probs, np.zeros(len(labels)), probs, outcomes)


def test_false_reassurance_counts_routine_and_turned_away_malignant_lesions():
    s = _scored([0, 0, 0, 0, 1, 1, 1, -1, -1],
                ["doctor", "uncertain", "routine", "rejected:not_lesion",
                 "routine", "doctor", "rejected:blurry", "rejected:not_lesion", "routine"])
    r = _rates(s, MALIGNANT)
    assert r["false_reassurance"] == pytest.approx(2 / 4)
    assert r["benign_referral"] == pytest.approx(1 / 2)  # of the benign lesions that got a diagnosis
    assert r["wrongly_rejected"] == pytest.approx(2 / 7)
    assert r["rejected_by_reason"] == {"not_lesion": 1, "blurry": 1}
    assert r["nonlesion_rejected"] == pytest.approx(1 / 2) and r["nonlesion_diagnosed"] == 1


def test_metrics_give_intervals_and_skip_what_a_set_cannot_measure():
    rng = np.random.default_rng(0)
    labels = rng.integers(0, 2, 60)
    probs = np.where(labels[:, None] == 0, [0.8, 0.2], [0.3, 0.7])
    m = metrics(_scored(labels, ["doctor" if y == 0 else "routine" for y in labels], probs),
                ["mel", "nv"], MALIGNANT, threshold=0.5)
    assert m["balanced_accuracy"] == 1.0 and m["false_reassurance"] == 0.0 and m["benign_referral"] == 0.0
    assert m["malignant"]["sensitivity"] == 1.0 and m["macro_auc"] is None  # AUC needs ≥ 3 classes here
    lo, hi = m["ci95"]["balanced_accuracy"]
    assert lo == hi == 1.0
    everyday = metrics(_scored([-1] * 5, ["rejected:not_lesion"] * 4 + ["routine"]), ["mel", "nv"], MALIGNANT, 0.5)
    assert everyday["nonlesion_rejected"] == pytest.approx(0.8) and "balanced_accuracy" not in everyday


def test_the_reject_threshold_budget_counts_photos_already_turned_away():
    from skindoctor.train.evaluate import reject_threshold

    labels = np.zeros(200, int)
    not_lesion = np.linspace(0.0, 0.99, 200)
    outcomes = ["doctor"] * 200
    s = Scored(labels, np.ones((200, 1)), not_lesion, np.ones((200, 1)), outcomes)
    t = reject_threshold(s, 0.02)
    assert (not_lesion >= t).sum() == 4  # 2 % of 200, all by the classifier's check
    outcomes[:2] = ["rejected:no_lesion", "rejected:too_small"]  # the localiser and the gate took two already
    t = reject_threshold(Scored(labels, s.probs, not_lesion, s.probs_centre, outcomes), 0.02)
    assert (not_lesion[2:] >= t).sum() == 2
    outcomes[2:4] = ["rejected:blurry", "rejected:no_skin"]  # the budget is spent: the check turns none away
    assert reject_threshold(Scored(labels, s.probs, not_lesion, s.probs_centre, outcomes), 0.02) == 1.0
    outcomes[4] = "rejected:not_lesion"  # its own earlier answers do not count against it
    assert reject_threshold(Scored(labels, s.probs, not_lesion, s.probs_centre, outcomes), 0.02) == 1.0


def test_risk_coverage_reads_the_accuracy_of_the_surest_answers():
    # ten lesion photos: the five surest are right, the next three wrong, two turned away
    sure = [0.99, 0.98, 0.97, 0.96, 0.95, 0.9, 0.85, 0.8, 0.75, 0.7]
    labels = [0] * 5 + [1] * 5
    probs = [[p, 1 - p] for p in sure]  # every photo called class 0
    outcomes = ["doctor"] * 8 + ["rejected:blurry", "rejected:no_lesion"]
    m = metrics(_scored(labels, outcomes, probs), ["mel", "nv"], MALIGNANT, threshold=0.5)
    assert m["risk_coverage"]["50%"] == 1.0
    assert m["risk_coverage"]["70%"] == pytest.approx(5 / 7)
    assert m["risk_coverage"]["90%"] is None  # it would take a photo the product turned away
