"""Which localiser the card makes the default, decided on VALIDATION photos only → docs/localizer_choice.md.

Each domain's validation part (``models/split.csv``: dermoscopic by lesion, smartphone by patient,
everyday photos) goes through the product's photo path once per localiser, with the card's
thresholds: balanced accuracy on the photos' crops and what a person would be told (a malignant
lesion reassured or turned away, lesions turned away, everyday photos turned away). The learned
localiser is made the default only if, on the smartphone photos, it reassures no more malignant
lesions than the colour method and its balanced accuracy is not lower; the test parts stay for
``skindoctor evaluate``. A third row keeps the learned localiser with a stricter presence threshold, the one
that boxes ≤ 3 % of the validation everyday photos as they are, to show what fewer false boxes would cost.

    python bench/localizer_choice.py [--data ../shared/data] [--model-dir models]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

import numpy as np

from skindoctor import load
from skindoctor.config import get_settings
from skindoctor.train.collection import read_collection
from skindoctor.train.data import load_images, read_split
from skindoctor.train.evaluate import by_domain, calibrate, metrics, score
from skindoctor.vision.segment import best_region

DOMAINS = ("dermoscopic", "phone", "nonlesion")
FIGURES = ("balanced_accuracy", "malignant_routine", "false_reassurance", "wrongly_rejected", "nonlesion_rejected")
THRESHOLDS = ("malignant_threshold", "reject_threshold", "doubt_threshold")
STRICT_BOXES = 0.03  # the stricter presence threshold's share of boxed validation everyday photos


def own_thresholds(pipeline, val: dict) -> object:
    """The card with its thresholds re-chosen on validation through ``pipeline`` (its own localiser), as
    ``skindoctor evaluate --split`` chooses them for the default."""
    chosen = calibrate(pipeline, val)
    return pipeline.classifier.card.model_copy(update={k: chosen[k] for k in THRESHOLDS})


def build(model_dir: Path, localizer: str, present: float | None = None, card=None):
    """The product's pipeline with ``localizer``; ``present`` overrides the learned localiser's presence threshold."""
    pipeline = load(model_dir, settings=get_settings(model_dir=model_dir, localizer=localizer), card=card)
    if present is not None:
        pipeline.localizer.spec = pipeline.localizer.spec.model_copy(update={"present_threshold": present})
    return pipeline


def compare(data: Path, split_csv: Path, model_dir: Path) -> dict:
    samples = read_collection(data)
    split = read_split(samples, split_csv)
    val = by_domain([s for s in samples if split[str(s.path)] == "val"])
    images = {d: load_images(v) for d, v in val.items()}
    labelled = {d: (images[d], [x.label for x in v]) for d, v in val.items()}
    learned = build(model_dir, "learned").localizer
    peaks = [r.peak if (r := best_region(learned.heatmap(im)[1], learned.spec.mask_threshold)) else 0.0
             for im in images["nonlesion"]]
    strict = float(np.quantile(peaks, 1 - STRICT_BOXES)) + 1e-3
    choices = {"colour": ("colour", None), "learned": ("learned", None),
               f"learned, presence threshold {strict:.3f}": ("learned", strict)}
    out: dict = {"thresholds": {}}
    for choice, (localizer, present) in choices.items():
        card = own_thresholds(build(model_dir, localizer, present), labelled)
        pipeline = build(model_dir, localizer, present, card)
        out["thresholds"][choice] = {k: getattr(card, k) for k in THRESHOLDS}
        malignant = [i for i, c in enumerate(card.lesion_classes()) if c.can_be_malignant]
        for d in DOMAINS:
            s = score(pipeline, images[d], labelled[d][1])
            r = metrics(s, list(pipeline.classifier.classes), malignant, card.malignant_threshold)
            out.setdefault(d, {})[choice] = {k: r[k] for k in FIGURES if k in r} | {"n": len(val[d])}
            print(d, choice, out[d][choice], flush=True)
    phone = out["phone"]
    out["learned_default"] = (phone["learned"]["malignant_routine"] <= phone["colour"]["malignant_routine"]
                              and phone["learned"]["balanced_accuracy"] >= phone["colour"]["balanced_accuracy"])
    return out


def write_report(out: Path, result: dict) -> None:
    names = {"balanced_accuracy": "balanced accuracy", "malignant_routine": "malignant told \"routine\"",
             "false_reassurance": "malignant reassured or turned away",
             "wrongly_rejected": "lesions turned away", "nonlesion_rejected": "everyday photos turned away"}
    lines = ["# Choosing the default localiser (validation photos)", "",
             "Measured with `python bench/localizer_choice.py`: each domain's **validation** part of "
             "`models/split.csv` through the product's photo path with each localiser, and the card's thresholds "
             "re-chosen on validation through that localiser, as `skindoctor evaluate --split` chooses them for the "
             "default (so neither is judged with thresholds fitted to the other; test parts untouched). "
             "Rule: the learned localiser becomes the default when, on smartphone photos, it reassures no more "
             "malignant lesions than the colour method (tells no more of them \"routine\") and its balanced accuracy "
             "is not lower. The next column also counts malignant photos turned away (\"no lesion found, take it "
             "again\") as reassured, the cautious figure `skindoctor evaluate` reports.", "",
             "| photos | localiser | n | " + " | ".join(names.values()) + " |",
             "|---|---|---|" + "---|" * len(names)]
    for d in DOMAINS:
        for choice, r in result[d].items():
            cells = [f"{r[k]:.3f}" if k in r else "—" for k in names]
            lines.append(f"| {d} | {choice} | {r['n']} | " + " | ".join(cells) + " |")
    lines += ["", "Thresholds each was judged with:", "",
              "| localiser | malignant score | \"not a lesion\" | \"looks unfamiliar\" |", "|---|---|---|---|"]
    for choice, t in result["thresholds"].items():
        doubt = "none" if t["doubt_threshold"] is None else f"{t['doubt_threshold']:.3f}"
        lines.append(f"| {choice} | {t['malignant_threshold']:.4f} | {t['reject_threshold']:.3f} | {doubt} |")
    lines += ["", "The stricter row raises only the learned localiser's presence threshold, to box ≤ "
              f"{STRICT_BOXES:.0%} of the validation everyday photos as they are (the card's was chosen on composed "
              "validation frames)."]
    verdict = "the default" if result["learned_default"] else "not the default"
    lines += ["", f"Decision: the learned localiser is {verdict}. After a change of default, `skindoctor evaluate "
              "--split` re-chooses the card's thresholds through the new default and scores the test parts "
              "(docs/model_card.md)."]
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--split", default="models/split.csv")
    ap.add_argument("--model-dir", default="models")
    ap.add_argument("--out", default="docs/localizer_choice.md")
    args = ap.parse_args()
    result = compare(Path(args.data), Path(args.split), Path(args.model_dir))
    Path(args.out).with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    write_report(Path(args.out), result)


if __name__ == "__main__":
    main()
