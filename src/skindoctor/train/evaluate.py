"""Evaluate the shipped ONNX variants on the held-out test split and write the report.

Metrics: accuracy, balanced accuracy, macro one-vs-rest AUC, per-class precision/recall/F1,
confusion matrix and reliability diagram (PNG), ECE, and malignant-vs-benign sensitivity and
specificity at a threshold chosen on the validation split (never on test).
"""

from __future__ import annotations

import logging
from pathlib import Path

import matplotlib

matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402
import numpy as np  # noqa: E402
from sklearn.metrics import (  # noqa: E402
    accuracy_score,
    balanced_accuracy_score,
    confusion_matrix,
    precision_recall_fscore_support,
    roc_auc_score,
)

from ..model_card import load_card  # noqa: E402
from ..vision.classifier import OnnxClassifier, softmax  # noqa: E402
from ..vision.localize import LesionLocalizer, square_crop  # noqa: E402
from ..vision.preprocess import center_batch, center_square, to_tensor  # noqa: E402
from .data import Sample, load_images  # noqa: E402

log = logging.getLogger(__name__)
TARGET_SENSITIVITY = 0.95


def pipeline_crops(images: list[np.ndarray]) -> list[np.ndarray]:
    """The crops the live pipeline would classify: around the localised lesion (centre if none found)."""
    loc = LesionLocalizer()
    crops = []
    for img in images:
        found = loc.locate(img)
        crops.append(square_crop(img, found.box)[0] if found.box else center_square(img))
    return crops


def predict_probs(clf: OnnxClassifier, images: list[np.ndarray], batch: int = 64, centre: bool = True) -> np.ndarray:
    x = center_batch(images, clf.spec) if centre else np.stack([to_tensor(img, clf.spec) for img in images])
    logits = np.concatenate([clf.logits(x[i:i + batch]) for i in range(0, len(x), batch)])
    return softmax(logits, clf.temperature)


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


def metrics(probs: np.ndarray, labels: np.ndarray, classes: list[str], malignant_idx: list[int],
            threshold: float) -> dict:
    pred = probs.argmax(1)
    p, r, f, n = precision_recall_fscore_support(labels, pred, labels=range(len(classes)), zero_division=0)
    present = [i for i in range(len(classes)) if (labels == i).any()]
    auc = roc_auc_score(labels, probs[:, present] / probs[:, present].sum(1, keepdims=True),
                        multi_class="ovr", average="macro", labels=present)
    ece, bins = expected_calibration_error(probs, labels)
    mal_score = probs[:, malignant_idx].sum(1)
    is_mal = np.isin(labels, malignant_idx)
    both = 0 < is_mal.sum() < len(is_mal)
    sens, spec = sens_spec(mal_score, is_mal, threshold) if both else (None, None)
    return {
        "n": int(len(labels)),
        "accuracy": float(accuracy_score(labels, pred)),
        "balanced_accuracy": float(balanced_accuracy_score(labels, pred)),
        "macro_auc": float(auc),
        "ece": ece,
        "malignant": {"threshold": threshold, "sensitivity": sens, "specificity": spec,
                      "auc": float(roc_auc_score(is_mal, mal_score)) if both else None},
        "per_class": {c: {"precision": float(p[i]), "recall": float(r[i]), "f1": float(f[i]), "support": int(n[i])}
                      for i, c in enumerate(classes)},
        "confusion_matrix": confusion_matrix(labels, pred, labels=range(len(classes))).tolist(),
        "reliability": bins,
    }


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


def evaluate(model_dir: str | Path, test: list[Sample], val: list[Sample], docs_dir: str | Path) -> dict:
    """Evaluate every variant in the card; update the card (metrics, threshold) and write PNG plots."""
    model_dir, docs_dir = Path(model_dir), Path(docs_dir)
    docs_dir.mkdir(parents=True, exist_ok=True)
    card = load_card(model_dir)
    classes = [c.code for c in card.lesion_classes()]
    malignant_idx = [i for i, c in enumerate(card.lesion_classes()) if c.can_be_malignant]
    index = {c: i for i, c in enumerate(classes)}
    y_test = np.array([index[s.label] for s in test])
    y_val = np.array([index[s.label] for s in val])
    test_images, val_images = load_images(test), load_images(val)
    test_pipeline_crops = pipeline_crops(test_images)

    results = {}
    for variant in card.files:
        clf = OnnxClassifier(model_dir, variant=variant, card=card)
        val_probs = predict_probs(clf, val_images)
        threshold = malignant_threshold(val_probs[:, malignant_idx].sum(1), np.isin(y_val, malignant_idx)) \
            if malignant_idx else None
        probs = predict_probs(clf, test_images)
        m = metrics(probs, y_test, classes, malignant_idx, threshold)
        m["balanced_accuracy_pipeline_crop"] = float(balanced_accuracy_score(
            y_test, predict_probs(clf, test_pipeline_crops, centre=False).argmax(1)))
        m["predictions"] = probs.argmax(1)
        plot_confusion(m["confusion_matrix"], classes, f"{variant} — test split", docs_dir / f"confusion_{variant}.png")
        plot_reliability(m["reliability"], m["ece"], variant, docs_dir / f"reliability_{variant}.png")
        results[variant] = m
        log.info("%s: acc %.4f bacc %.4f auc %.4f ece %.4f", variant, m["accuracy"], m["balanced_accuracy"],
                 m["macro_auc"], m["ece"])
    if "fp32" in results and "int8" in results:
        results["int8_vs_fp32"] = {
            "top1_agreement": float((results["fp32"]["predictions"] == results["int8"]["predictions"]).mean()),
            "accuracy_drop_points": 100 * (results["fp32"]["accuracy"] - results["int8"]["accuracy"]),
            "balanced_accuracy_drop_points": 100 * (results["fp32"]["balanced_accuracy"]
                                                    - results["int8"]["balanced_accuracy"]),
        }
    for variant in card.files:
        results[variant].pop("predictions")
    card.malignant_threshold = results[card.default_variant]["malignant"]["threshold"] if malignant_idx else None
    card.metrics = {**card.metrics, "test": {k: v for k, v in results.items()}}
    card.save(model_dir)
    return results
