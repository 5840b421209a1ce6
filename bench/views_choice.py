"""How many mirror images of a crop the classifier should judge, measured on VALIDATION pictures → docs/views_choice.md.

For 1, 2 and 4 views (as is; left-right; upside-down and both, ``classifier.VIEW_AXES``) each validation set runs
through the product's photo path (``evaluate.score``): smartphone and dermoscopic lesion photos and the wide-field
frames (``bench/widefield_sets.py --part val``). Reported per set: balanced accuracy of the pipeline crop, macro
AUC, ECE, the malignant score's AUC, and the benign photos sent to a doctor at the malignant threshold that keeps
sensitivity ≥ 0.97 on the phone and dermoscopic sets (chosen on them, as ``evaluate`` chooses it). Beside them: the
classifier's own time for one crop as that many views (int8, 1 thread, one batch): a live frame pays it every frame.

    python bench/views_choice.py [--model-dir models]
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np
from sklearn.metrics import balanced_accuracy_score, roc_auc_score

import presence_choice  # bench/, beside this script
from skindoctor import load
from skindoctor.config import get_settings
from skindoctor.model_card import load_card
from skindoctor.train.evaluate import expected_calibration_error, malignant_threshold, photos, score

CHOICES = (1, 2, 4)


def validation_sets(data: Path, split_csv: Path, runs: Path) -> dict[str, list]:
    """The lesion sets of ``presence_choice``'s validation pictures (dermoscopic: a third)."""
    sets = presence_choice.validation_sets(data, split_csv, runs)
    return {name: sets[name] for name in ("phone", "dermoscopic", "widefield")}


def pipeline_with_views(model_dir: Path, views: int, tmp: Path):
    for f in model_dir.iterdir():
        if f.suffix == ".onnx":
            (tmp / f.name).symlink_to(f.resolve())
    card = load_card(model_dir)
    card.views = views
    card.save(tmp)
    return load(settings=get_settings(model_dir=tmp, llm_provider="none"))


def crop_ms(pipeline, views: int, calls: int = 200) -> float:
    clf = pipeline.classifier
    x = np.zeros((1, 3, clf.spec.size, clf.spec.size), np.float32)
    clf.probabilities(x, views)
    times = []
    for _ in range(calls):
        t0 = time.perf_counter()
        clf.probabilities(x, views)
        times.append(time.perf_counter() - t0)
    return float(np.median(times) * 1000)


def measure(model_dir: Path, sets: dict[str, tuple[list, list]], views: int) -> dict:
    with tempfile.TemporaryDirectory() as tmp:
        pipeline = pipeline_with_views(model_dir, views, Path(tmp))
        classes = pipeline.classifier.card.lesion_classes()
        malignant = [i for i, c in enumerate(classes) if c.can_be_malignant]
        row, scored = {"crop_ms": crop_ms(pipeline, views)}, {}
        for name, (images, labels) in sets.items():
            s = score(pipeline, images, labels)
            lesion = s.labels >= 0
            y, probs = s.labels[lesion], s.probs[lesion]
            present = sorted(set(y.tolist()))
            sub = probs[:, present] / probs[:, present].sum(1, keepdims=True)
            mal = probs[:, malignant].sum(1)
            is_mal = np.isin(y, malignant)
            scored[name] = (mal, is_mal)
            row[name] = {"n": int(lesion.sum()),
                         "balanced_accuracy": float(balanced_accuracy_score(y, probs.argmax(1))),
                         "macro_auc": float(roc_auc_score(y, sub, multi_class="ovr", labels=present)),
                         "ece": expected_calibration_error(probs, y)[0],
                         "malignant_auc": float(roc_auc_score(is_mal, mal))}
        # as evaluate chooses it: on the photo domains; the wide-field frames only show what it does to them
        threshold = min(malignant_threshold(*scored[name]) for name in ("phone", "dermoscopic"))
        row["malignant_threshold"] = threshold
        for name, (mal, is_mal) in scored.items():
            row[name]["benign_to_doctor"] = float((mal[~is_mal] >= threshold).mean())
        return row


def report(rows: dict[int, dict]) -> str:
    names = [k for k in rows[CHOICES[0]] if isinstance(rows[CHOICES[0]][k], dict)]
    lines = ["# One view of a crop or several", "",
             "Made by `python bench/views_choice.py` on the **validation** parts only, through the product's photo "
             "path. Each cell: balanced accuracy / macro AUC / ECE / malignant AUC / benign photos sent to a doctor "
             "at the malignant threshold keeping sensitivity ≥ 0.97 on the phone and dermoscopic sets (as `evaluate` "
             "chooses it; the wide-field frames did not choose it). *crop ms*: the int8 classifier on "
             "one crop as that many views, one batch, 1 thread (a live frame pays it once per frame).", "",
             "| views | crop ms | malignant threshold | "
             + " | ".join(f"{n} ({rows[1][n]['n']})" for n in names) + " |",
             "|---|---|---|" + "---|" * len(names)]
    for v, r in rows.items():
        cells = [f"{r[n]['balanced_accuracy']:.3f} / {r[n]['macro_auc']:.3f} / {r[n]['ece']:.3f} / "
                 f"{r[n]['malignant_auc']:.3f} / {r[n]['benign_to_doctor']:.1%}" for n in names]
        lines.append(f"| {v} | {r['crop_ms']:.2f} | {r['malignant_threshold']:.4f} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model-dir", type=Path, default=Path("models"))
    ap.add_argument("--data", type=Path, default=Path("../shared/data"))
    ap.add_argument("--runs", type=Path, default=Path("runs"))
    ap.add_argument("--docs", type=Path, default=Path("docs"))
    args = ap.parse_args()
    sets = {name: (photos(samples, None), [s.label for s in samples])
            for name, samples in validation_sets(args.data, args.model_dir / "split.csv", args.runs).items()}
    rows = {v: measure(args.model_dir, sets, v) for v in CHOICES}
    (args.docs / "views_choice.json").write_text(json.dumps(rows, indent=1))
    (args.docs / "views_choice.md").write_text(report(rows))
    print(report(rows))


if __name__ == "__main__":
    main()
