"""Evaluate a model the way the product uses it, on any labelled set, one table per domain.

Every photo goes through the product's own photo path (quality gate → localiser → crop →
classifier → "not a lesion" check → triage rules), so the outcome counted is the one a person
would see: a diagnosis with "see a doctor" or "routine", "uncertain — have it checked", or a
rejection ("not a skin lesion", "no lesion found", "too dark"…). Classification metrics use the
pipeline's crop (the localised square, or the centred square when nothing is found) and, for
comparison with published figures, the centred square.

Thresholds (malignant score, "not a lesion") are chosen on the validation split — per domain, the
strictest — and never on a test set.
"""

from __future__ import annotations

import dataclasses
import logging
from dataclasses import dataclass
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import cv2  # noqa: E402
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from .. import load  # noqa: E402
from ..advice.knowledge import load_knowledge  # noqa: E402
from ..advice.triage import TriageRules, triage  # noqa: E402
from ..model_card import load_card  # noqa: E402
from ..stream.pipeline import Pipeline  # noqa: E402
from ..vision.classifier import OnnxClassifier  # noqa: E402
from ..vision.localize import square_crop  # noqa: E402
from ..vision.preprocess import center_batch, center_square, to_tensor  # noqa: E402
from .collection import NONLESION  # noqa: E402
from .data import Sample, load_images  # noqa: E402

PHOTO_MAX_SIDE = 1280  # photos are scored at up to this long side: near what an upload shows, unlike training's cache

log = logging.getLogger(__name__)
TARGET_SENSITIVITY = 0.97  # per validation domain; leaves room for the ≤ 3 % false-reassurance target
# share of validation lesion photos the "not a lesion" threshold may turn away: the quality gate already
# turns away about 1.3 %, and the product's budget for lesions wrongly refused is 3 %
MAX_LESIONS_REJECTED = 0.015
MAX_LESIONS_UNFAMILIAR = 0.05  # share of validation lesion photos the "looks unfamiliar → uncertain" rule may flag
BOOTSTRAP_ROUNDS = 1000


@dataclass
class Scored:
    """One set through the product: labels (index into the lesion classes, −1 = not a lesion),
    lesion-class probabilities and P(not a lesion) on the pipeline crop and on the centred square,
    and the outcome each photo got."""

    labels: np.ndarray
    probs: np.ndarray
    not_lesion: np.ndarray
    probs_centre: np.ndarray
    outcomes: list[str]  # "doctor" | "uncertain" | "routine" | "rejected:<reason>"


def restore_aspect(image: np.ndarray, aspect: float | None) -> np.ndarray:
    """Undo a squashed upload: resize to width/height = ``aspect`` (height kept)."""
    if not aspect:
        return image
    h = image.shape[0]
    return cv2.resize(image, (round(h * aspect), h), interpolation=cv2.INTER_AREA)


def predict(clf: OnnxClassifier, images: list[np.ndarray], batch: int = 64,
            centre: bool = True, views: int = 1) -> tuple[np.ndarray, np.ndarray]:
    x = center_batch(images, clf.spec) if centre else np.stack([to_tensor(img, clf.spec) for img in images])
    parts = [clf.probabilities(x[i:i + batch], views) for i in range(0, len(x), batch)]
    return np.concatenate([p for p, _ in parts]), np.concatenate([r for _, r in parts])


def score(pipeline: Pipeline, images: list[np.ndarray], labels: list[str]) -> Scored:
    """Run each photo through the product's photo path and record what it would show."""
    clf = pipeline.classifier
    index = {c: i for i, c in enumerate(clf.classes)}
    rules, kb = TriageRules.from_card(clf.card), load_knowledge("en")
    lesion_classes = clf.card.lesion_classes()
    crops, outcomes = [], []
    for img in images:
        a = pipeline.analyse(img)
        quality, box, pred = a.quality, a.box, a.prediction
        crops.append(square_crop(img, box)[0] if box is not None else center_square(img))
        if pred is None:
            outcomes.append(f"rejected:{quality.reason}")
            continue
        t = triage(pred.probs, lesion_classes, kb, rules, pred.not_lesion)
        outcomes.append("uncertain" if t.uncertain else "doctor" if t.see_doctor else "routine")
    probs, not_lesion = predict(clf, crops, centre=False, views=clf.card.views)
    probs_centre, _ = predict(clf, images, views=clf.card.views)
    y = np.array([index.get(lbl, -1) if lbl != NONLESION else -1 for lbl in labels])
    return Scored(y, probs, not_lesion, probs_centre, outcomes)


def expected_calibration_error(probs: np.ndarray, labels: np.ndarray, bins: int = 15) -> tuple[float, list[dict]]:
    """ECE over equal-width confidence bins (top-1), plus the bins for the reliability diagram."""
    conf, pred = probs.max(1), probs.argmax(1)
    edges = np.linspace(0, 1, bins + 1)
    ece, rows = 0.0, []
    for lo, hi in zip(edges[:-1], edges[1:]):
        m = (conf > lo) & (conf <= hi)
        if m.any():
            acc, c = float((pred[m] == labels[m]).mean()), float(conf[m].mean())
            ece += m.mean() * abs(acc - c)
            rows.append({"lo": float(lo), "hi": float(hi), "count": int(m.sum()), "accuracy": acc, "confidence": c})
    return float(ece), rows


def malignant_threshold(scores: np.ndarray, is_malignant: np.ndarray, sensitivity: float = TARGET_SENSITIVITY) -> float:
    """The highest threshold on the malignant score that keeps sensitivity ≥ target."""
    pos = np.sort(scores[is_malignant])
    k = int(np.floor((1 - sensitivity) * len(pos)))
    return float(pos[k]) if len(pos) else 0.5


def sens_spec(scores: np.ndarray, is_malignant: np.ndarray, threshold: float) -> tuple[float, float]:
    flagged = scores >= threshold
    return float(flagged[is_malignant].mean()), float((~flagged[~is_malignant]).mean())


def reject_threshold(s: Scored, budget: float) -> float:
    """The lowest P(not a lesion) threshold that turns away at most ``budget`` of the lesion photos, counting
    those the gate or the localiser already turn away (no skin, no lesion found, too small, blurry…) first."""
    lesion = s.labels >= 0
    earlier = np.array([o.startswith("rejected:") and o != "rejected:not_lesion" for o in s.outcomes]) & lesion
    reach = lesion & ~earlier  # the lesion photos the classifier's "not a lesion" check decides on
    left = budget * lesion.sum() - earlier.sum()  # how many of them it may still turn away
    if left <= 0 or not reach.any():
        return 1.0
    return float(np.quantile(s.not_lesion[reach], 1 - min(1.0, left / reach.sum())))


def calibrate(pipeline: Pipeline, val: dict[str, tuple[list[np.ndarray], list[str]]]) -> dict:
    """Choose the card's thresholds on validation sets (domain → images, labels): the malignant
    threshold keeping sensitivity ≥ TARGET_SENSITIVITY in every domain, and the "not a lesion"
    threshold turning away at most MAX_LESIONS_REJECTED of any domain's lesion photos, all reasons together."""
    card = pipeline.classifier.card
    malignant = [i for i, c in enumerate(card.lesion_classes()) if c.can_be_malignant]
    # judged with the "not a lesion" check off: what the gate and the localiser turn away first must not depend on
    # the threshold the card held before (a photo that check turns away may then be told "no skin")
    spec = pipeline.spec
    unchecked = Pipeline(pipeline.classifier, pipeline.localizer,
                         dataclasses.replace(spec, classifier=dataclasses.replace(spec.classifier,
                                                                                  reject_threshold=float("inf"))),
                         pipeline.advisor)
    mal_thresholds, reject_thresholds, doubt_thresholds = {}, {}, {}
    for domain, (images, labels) in val.items():
        s = score(unchecked, images, labels)
        lesion = s.labels >= 0
        if lesion.any() and pipeline.classifier.reject_index is not None:
            reject_thresholds[domain] = reject_threshold(s, MAX_LESIONS_REJECTED)
            doubt_thresholds[domain] = float(np.quantile(s.not_lesion[lesion], 1 - MAX_LESIONS_UNFAMILIAR))
        is_mal = np.isin(s.labels, malignant)
        if is_mal.any():
            mal_thresholds[domain] = malignant_threshold(s.probs[:, malignant].sum(1)[lesion], is_mal[lesion])
    reject = float(np.clip(max(reject_thresholds.values()), 0.05, 0.95)) if reject_thresholds else card.reject_threshold
    doubt = max(doubt_thresholds.values()) if doubt_thresholds else None
    return {"malignant_threshold": min(mal_thresholds.values()) if mal_thresholds else None,
            "reject_threshold": reject, "doubt_threshold": doubt if doubt is not None and doubt < reject else None,
            "by_domain": {"malignant": mal_thresholds, "reject": reject_thresholds, "doubt": doubt_thresholds},
            "target_sensitivity": TARGET_SENSITIVITY, "max_lesions_rejected": MAX_LESIONS_REJECTED,
            "max_lesions_unfamiliar": MAX_LESIONS_UNFAMILIAR}


def _rates(s: Scored, malignant: list[int]) -> dict:
    """Outcome rates a person would experience."""
    out = np.array(s.outcomes)
    rejected = np.char.startswith(out.astype(str), "rejected")
    lesion = s.labels >= 0
    is_mal = np.isin(s.labels, malignant) & lesion
    benign = lesion & ~is_mal
    r: dict = {}
    if lesion.any():
        r["wrongly_rejected"] = float(rejected[lesion].mean())
        reasons, counts = np.unique(out[lesion & rejected], return_counts=True)
        r["rejected_by_reason"] = {k.split(":", 1)[1]: int(n) for k, n in zip(reasons, counts)}
    if is_mal.any():
        r["malignant_routine"] = float(np.isin(out[is_mal], ["routine"]).mean())  # told "routine" outright
        r["malignant_turned_away"] = float(rejected[is_mal].mean())
        # a malignant lesion told neither "see a doctor" nor "uncertain" (turned away counts too)
        r["false_reassurance"] = r["malignant_routine"] + r["malignant_turned_away"]
    diagnosed_benign = benign & ~rejected
    if diagnosed_benign.any():
        r["benign_referral"] = float(np.isin(out[diagnosed_benign], ["doctor", "uncertain"]).mean())
    if (~lesion).any():
        r["nonlesion_rejected"] = float(rejected[~lesion].mean())
        diagnosed = ~lesion & ~rejected
        r["nonlesion_diagnosed"] = int(diagnosed.sum())
    return r


COVERAGES = (0.5, 0.7, 0.9)  # shares of the lesion photos at which the risk–coverage curve is read


def _risk_coverage(s: Scored, lesion: np.ndarray, pred: np.ndarray) -> dict:
    """Of the lesion photos, the share answered confidently (a class, neither turned away nor "uncertain") and how
    many of those answers are right; and the risk–coverage curve: the accuracy of the surest answers (by top
    probability) when only that share of the lesion photos is answered (None where it would take photos the
    product turned away)."""
    outcomes = np.array(s.outcomes)[lesion]
    confident = np.isin(outcomes, ["doctor", "routine"])
    answered = ~np.char.startswith(outcomes.astype(str), "rejected")
    right = pred == s.labels[lesion]
    order = np.argsort(-np.where(answered, s.probs[lesion].max(1), -1.0), kind="stable")
    curve = {}
    for c in COVERAGES:
        top = order[:max(1, round(c * len(order)))]
        curve[f"{c:.0%}"] = float(right[top].mean()) if answered[top].all() else None
    return {"confident_share": float(confident.mean()),
            "confident_accuracy": float(right[confident].mean()) if confident.any() else None,
            "risk_coverage": curve}


def _bootstrap(s: Scored, malignant: list[int], rounds: int = BOOTSTRAP_ROUNDS, seed: int = 0) -> dict:
    """95 % percentile intervals (resampling photos) for the headline numbers."""
    rng = np.random.default_rng(seed)
    keys = ("balanced_accuracy", "false_reassurance", "benign_referral", "wrongly_rejected", "nonlesion_rejected")
    draws: dict[str, list[float]] = {k: [] for k in keys}
    n = len(s.labels)
    for _ in range(rounds):
        i = rng.integers(0, n, n)
        sub = Scored(s.labels[i], s.probs[i], s.not_lesion[i], s.probs_centre[i], [s.outcomes[j] for j in i])
        r = _rates(sub, malignant)
        lesion = sub.labels >= 0
        if lesion.any():
            draws["balanced_accuracy"].append(balanced_accuracy_score(sub.labels[lesion], sub.probs[lesion].argmax(1)))
        for k in ("false_reassurance", "benign_referral", "wrongly_rejected", "nonlesion_rejected"):
            if k in r:
                draws[k].append(r[k])
    return {k: [float(np.percentile(v, 2.5)), float(np.percentile(v, 97.5))] for k, v in draws.items() if v}


def metrics(s: Scored, classes: list[str], malignant: list[int], threshold: float | None) -> dict:
    """Classification metrics on the set's lesion photos, and the outcome rates on all of it."""
    m: dict = {"n": int(len(s.labels)), **_rates(s, malignant)}
    lesion = s.labels >= 0
    if lesion.any():
        y, probs = s.labels[lesion], s.probs[lesion]
        pred = probs.argmax(1)
        present = sorted(set(y.tolist()))
        p, r, f, n = precision_recall_fscore_support(y, pred, labels=range(len(classes)), zero_division=0)
        sub = probs[:, present] / probs[:, present].sum(1, keepdims=True)
        ece, bins = expected_calibration_error(probs, y)
        mal_score = probs[:, malignant].sum(1)
        is_mal = np.isin(y, malignant)
        both = 0 < is_mal.sum() < len(is_mal)
        sens, spec = sens_spec(mal_score, is_mal, threshold) if both and threshold is not None else (None, None)
        m.update({
            "lesions": int(lesion.sum()),
            "accuracy": float(accuracy_score(y, pred)),
            "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
            "balanced_accuracy_centre": float(balanced_accuracy_score(y, s.probs_centre[lesion].argmax(1))),
            "macro_auc": float(roc_auc_score(y, sub, multi_class="ovr", average="macro", labels=present))
            if len(present) > 2 else None,
            "ece": ece,
            **_risk_coverage(s, lesion, pred),
            "malignant": {"threshold": threshold, "sensitivity": sens, "specificity": spec,
                          "auc": float(roc_auc_score(is_mal, mal_score)) if both else None},
            "per_class": {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]),
                              "support": int(n[i])} for i, c in enumerate(classes) if i in present},
            "confusion_matrix": confusion_matrix(y, pred, labels=range(len(classes))).tolist(),
            "reliability": bins,
        })
    m["ci95"] = _bootstrap(s, malignant)
    return m


def plot_confusion(cm: list[list[int]], classes: list[str], title: str, path: Path) -> None:
    cm = np.asarray(cm)
    norm = cm / np.maximum(cm.sum(1, keepdims=True), 1)
    fig, ax = plt.subplots(figsize=(6, 5.2))
    im = ax.imshow(norm, cmap="Blues", vmin=0, vmax=1)
    ax.set(xticks=range(len(classes)), yticks=range(len(classes)), xticklabels=classes, yticklabels=classes,
           xlabel="predicted", ylabel="true", title=title)
    for i in range(len(classes)):
        for j in range(len(classes)):
            ax.text(j, i, f"{cm[i, j]}", ha="center", va="center", fontsize=8,
                    color="white" if norm[i, j] > 0.5 else "black")
    fig.colorbar(im, ax=ax, label="share of true class")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def plot_reliability(bins: list[dict], ece: float, title: str, path: Path) -> None:
    fig, ax = plt.subplots(figsize=(5, 5))
    ax.plot([0, 1], [0, 1], "--", color="grey", label="perfect calibration")
    centers = [(b["lo"] + b["hi"]) / 2 for b in bins]
    ax.bar(centers, [b["accuracy"] for b in bins], width=1 / 15, edgecolor="black", alpha=0.7, label="accuracy")
    ax.plot([b["confidence"] for b in bins], [b["accuracy"] for b in bins], "o-", color="C1", label="mean confidence")
    ax.set(xlim=(0, 1), ylim=(0, 1), xlabel="confidence (top-1)", ylabel="accuracy", title=f"{title} — ECE {ece:.3f}")
    ax.legend(loc="upper left")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def by_domain(samples: list[Sample]) -> dict[str, list[Sample]]:
    groups: dict[str, list[Sample]] = {}
    for s in samples:
        groups.setdefault(s.domain, []).append(s)
    return groups


def photos(samples: list[Sample], aspect: float | None) -> list[np.ndarray]:
    """The set's photos as the product is shown them (up to ``PHOTO_MAX_SIDE``), squashed ones restored."""
    return [restore_aspect(i, aspect) for i in load_images(samples, max_side=PHOTO_MAX_SIDE)]


def evaluate_sets(model_dir: str | Path, test: dict[str, list[Sample]], docs_dir: str | Path,
                  val: dict[str, list[Sample]] | None = None, aspect: float | None = None,
                  variant: str | None = None) -> dict:
    """Score each named test set through the product (thresholds first re-chosen on ``val`` when
    given); store the results in the card under ``metrics.domains`` and draw the plots."""
    model_dir, docs_dir = Path(model_dir), Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    card = load_card(model_dir)
    pipeline = load(model_dir, variant, card=card)
    classes = list(pipeline.classifier.classes)
    malignant = [i for i, c in enumerate(card.lesion_classes()) if c.can_be_malignant]
    if val:
        chosen = calibrate(pipeline, {d: (photos(v, aspect), [x.label for x in v]) for d, v in val.items()})
        card.malignant_threshold = chosen["malignant_threshold"]
        card.reject_threshold = chosen["reject_threshold"]
        card.doubt_threshold = chosen["doubt_threshold"]
        card.metrics = {**card.metrics, "thresholds": chosen}
        card.save(model_dir)
        log.info("thresholds chosen on validation: %s", chosen)
        pipeline = load(model_dir, variant, card=card)  # the test sets are judged with the thresholds just chosen
    results = {}
    for name, samples in test.items():
        images = photos(samples, aspect)
        s = score(pipeline, images, [x.label for x in samples])
        m = metrics(s, classes, malignant, card.malignant_threshold)
        m["variant"] = pipeline.classifier.variant
        if "confusion_matrix" in m:
            plot_confusion(m["confusion_matrix"], classes, f"{name} ({m['variant']})",
                           docs_dir / f"confusion_{name}.png")
            plot_reliability(m["reliability"], m["ece"], name, docs_dir / f"reliability_{name}.png")
        results[name] = m
        log.info("%s: %s", name, {k: v for k, v in m.items() if isinstance(v, float)})
    card.metrics = {**card.metrics, "domains": {**card.metrics.get("domains", {}), **results}}
    card.save(model_dir)
    return results


def compare_variants(model_dir: str | Path, samples: list[Sample]) -> dict:
    """fp32 vs int8 on the same photos (centred squares, each judged as the card's views, as the product judges a
    crop): top-1 agreement and accuracy drop. Read-only: the caller decides whether the card records it."""
    card = load_card(model_dir)
    images = load_images(samples)
    preds, out = {}, {"images": len(samples), "views": card.views}
    for variant in card.files:
        clf = OnnxClassifier(model_dir, variant=variant, card=card)
        y = np.array([clf.classes.index(s.label) for s in samples])
        preds[variant] = predict(clf, images, views=card.views)[0].argmax(1)
        out[variant] = {"accuracy": float((preds[variant] == y).mean()),
                        "balanced_accuracy": float(balanced_accuracy_score(y, preds[variant]))}
    if {"fp32", "int8"} <= set(preds):
        out["top1_agreement"] = float((preds["fp32"] == preds["int8"]).mean())
        out["accuracy_drop_points"] = 100 * (out["fp32"]["accuracy"] - out["int8"]["accuracy"])
        out["balanced_accuracy_drop_points"] = 100 * (out["fp32"]["balanced_accuracy"]
                                                      - out["int8"]["balanced_accuracy"])
    return out
