"""How many mirror images of a crop the classifier should judge, measured on VALIDATION pictures → docs/views_choice.md.

For 1, 2 and 4 views (as is; left-right; upside-down and both, ``classifier.VIEW_AXES``) each validation set runs
through the product's photo path (``evaluate.score``): smartphone and dermoscopic lesion photos and the wide-field
frames (``bench/widefield_sets.py --part val``). Reported per set: balanced accuracy of the pipeline crop, macro
AUC, ECE, the malignant score's AUC, and the benign photos sent to a doctor at the malignant threshold that keeps
sensitivity ≥ 0.97 in every set (chosen here on these same sets, as ``evaluate`` does). Beside them: the classifier's
own time for one crop as that many views (int8, 1 thread, one batch), since a live frame pays it on every frame.

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

from skindoctor import load
from skindoctor.config import get_settings
from skindoctor.model_card import load_card
from skindoctor.train.collection import read_collection, read_labelled_set
from skindoctor.train.data import read_split
from skindoctor.train.evaluate import expected_calibration_error, malignant_threshold, photos, score

CHOICES = (1, 2, 4)


def validation_sets(data: Path, split_csv: Path, runs: Path) -> dict[str, list]:
    samples = read_collection(data)
    split = read_split(samples, split_csv)
    val = [s for s in samples if split[str(s.path)] == "val"]
    sets = {d: [s for s in val if s.domain == d] for d in ("phone", "dermoscopic")}
    sets["dermoscopic"] = sets["dermoscopic"][::2]
    sets["widefield"] = read_labelled_set(runs / "eval-sets" / "widefield_val", "widefield")
    return sets


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
        threshold = min(malignant_threshold(m, b) for m, b in scored.values())
        row["malignant_threshold"] = threshold
        for name, (mal, is_mal) in scored.items():
            row[name]["benign_to_doctor"] = float((mal[~is_mal] >= threshold).mean())
        return row


def report(rows: dict[int, dict]) -> str:
    names = [k for k in rows[CHOICES[0]] if isinstance(rows[CHOICES[0]][k], dict)]
    lines = ["# One view of a crop or several", "",
             "Made by `python bench/views_choice.py` on the **validation** parts only, through the product's photo "
             "path. Each cell: balanced accuracy / macro AUC / ECE / malignant AUC / benign photos sent to a doctor "
             "at the malignant threshold keeping sensitivity ≥ 0.97 in every set. *crop ms*: the int8 classifier on "
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
