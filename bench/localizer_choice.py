"""Which localiser the card makes the default, decided on VALIDATION photos only → docs/localizer_choice.md.

Each domain's validation part (``models/split.csv``: dermoscopic by lesion, smartphone by patient,
everyday photos) goes through the product's photo path once per localiser, with the card's
thresholds: balanced accuracy on the photos' crops and what a person would be told (a malignant
lesion reassured or turned away, lesions turned away, everyday photos turned away). The learned
localiser is made the default only if, on the smartphone photos, it reassures no more malignant
lesions than the colour method and its balanced accuracy is not lower; the test parts stay for
``skindoctor evaluate``. Further rows run the learned localiser without its second look (an unsure box
checked on the frame's mirror images) and without its closer look (the frame searched again as tiles when
nothing was found on skin), to show what each costs and gains, and ``--compare-with DIR`` adds the learned
localiser of another model folder (e.g. the one shipped before a retraining) with this card's classifier.

    python bench/localizer_choice.py [--data ../shared/data] [--model-dir models] [--compare-with DIR]
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path

from skindoctor import load
from skindoctor.config import get_settings
from skindoctor.model_card import load_card
from skindoctor.train.collection import read_collection
from skindoctor.train.data import read_split
from skindoctor.train.evaluate import by_domain, calibrate, metrics, photos, score
from skindoctor.vision.localize import Localization
from skindoctor.vision.segment import SegmentLocalizer

DOMAINS = ("dermoscopic", "phone", "nonlesion")
FIGURES = ("balanced_accuracy", "malignant_routine", "false_reassurance", "wrongly_rejected", "nonlesion_rejected")
THRESHOLDS = ("malignant_threshold", "reject_threshold", "doubt_threshold")


def own_thresholds(pipeline, val: dict) -> object:
    """The card with its thresholds re-chosen on validation through ``pipeline`` (its own localiser), as
    ``skindoctor evaluate --split`` chooses them for the default."""
    chosen = calibrate(pipeline, val)
    return pipeline.classifier.card.model_copy(update={k: chosen[k] for k in THRESHOLDS})


class FrameSearchOnly:
    """A localiser without its closer look."""

    def __init__(self, localizer):
        self.localizer, self.name = localizer, localizer.name

    def locate(self, frame, small=None):
        return self.localizer.locate(frame, small)

    def look_wider(self, frame, skin=None):
        return Localization(None, 0.0, 0.0)


def build(model_dir: Path, localizer: str, spec: dict | None = None, card=None, closer: bool = True,
          other: Path | None = None):
    """The product's pipeline with ``localizer``; ``spec`` overrides fields of the learned localiser's card entry;
    ``closer``: keep the closer look; ``other``: the learned localiser of that model folder instead."""
    pipeline = load(model_dir, settings=get_settings(model_dir=model_dir, localizer=localizer), card=card)
    if other is not None:
        pipeline.localizer = SegmentLocalizer(other, load_card(other).localizer)
    if spec:
        pipeline.localizer.spec = pipeline.localizer.spec.model_copy(update=spec)
    if not closer:
        pipeline.localizer = FrameSearchOnly(pipeline.localizer)
    return pipeline


def compare(data: Path, split_csv: Path, model_dir: Path, other: Path | None = None,
            only: list[str] | None = None) -> dict:
    samples = read_collection(data)
    split = read_split(samples, split_csv)
    val = by_domain([s for s in samples if split[str(s.path)] == "val"])
    labelled = {d: (photos(v, None), [x.label for x in v]) for d, v in val.items()}
    images = {d: v[0] for d, v in labelled.items()}
    choices = {"colour": {"localizer": "colour"}, "learned": {"localizer": "learned"},
               "learned, first look only": {"localizer": "learned", "spec": {"confirm_below": None}},
               "learned, no closer look": {"localizer": "learned", "closer": False}}
    if other is not None:
        choices[f"learned from {other}"] = {"localizer": "learned", "other": other}
    if only:
        choices = {k: v for k, v in choices.items() if k in only}
    out: dict = {"thresholds": {}}
    for choice, how in choices.items():
        card = own_thresholds(build(model_dir, **how), labelled)
        pipeline = build(model_dir, **how, card=card)
        out["thresholds"][choice] = {k: getattr(card, k) for k in THRESHOLDS}
        malignant = [i for i, c in enumerate(card.lesion_classes()) if c.can_be_malignant]
        for d in DOMAINS:
            s = score(pipeline, images[d], labelled[d][1])
            r = metrics(s, list(pipeline.classifier.classes), malignant, card.malignant_threshold)
            out.setdefault(d, {})[choice] = {k: r[k] for k in FIGURES if k in r} | {"n": len(val[d])}
            print(d, choice, out[d][choice], flush=True)
    phone = out["phone"]
    out["learned_default"] = ("colour" in phone and "learned" in phone
                              and phone["learned"]["malignant_routine"] <= phone["colour"]["malignant_routine"]
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
    lines += ["", "The first-look-only row is the learned localiser without its second look: a box whose peak is "
              "unsure (below the card's `confirm_below`) is then kept as it is, instead of being sought again on the "
              "mean of the frame's map and those of its three mirror images. The no-closer-look row never searches "
              "a frame of skin again as tiles when the frame search found nothing."]
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
    ap.add_argument("--compare-with", help="another model folder whose learned localiser to add as a row")
    ap.add_argument("--only", nargs="*", help="run only these rows (by name)")
    ap.add_argument("--out", default="docs/localizer_choice.md")
    args = ap.parse_args()
    result = compare(Path(args.data), Path(args.split), Path(args.model_dir),
                     Path(args.compare_with) if args.compare_with else None, args.only)
    Path(args.out).with_suffix(".json").write_text(json.dumps(result, indent=2) + "\n")
    write_report(Path(args.out), result)


if __name__ == "__main__":
    main()
