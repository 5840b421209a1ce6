"""The learned localiser's presence threshold, chosen on VALIDATION pictures only → docs/presence_choice.md.

Each candidate threshold runs the validation parts through the product's photo path (``skindoctor.load().analyse``):
smartphone and dermoscopic lesion photos, everyday photos, phone skin beside the lesion, the wide-field frames and the
painted-out phone photos (``bench/widefield_sets.py --part val``, ``bench/plain_skin.py --source phone``). The rule
puts the safety target first: the highest threshold whose malignant smartphone lesions turned away ("no lesion
found", unusable) stay ≤ 2 % while everyday photos turned away stay ≥ 98 %; if none does, the one turning away the
fewest malignant smartphone lesions. ``--apply`` writes it into the card.

    python bench/presence_choice.py [--model-dir models] [--apply]
"""

from __future__ import annotations

import argparse
import json
import tempfile
from pathlib import Path

from skindoctor import load
from skindoctor.config import get_settings
from skindoctor.model_card import load_card
from skindoctor.train.collection import apply_split, read_collection, read_labelled_set
from skindoctor.vision.image_io import read_image

CANDIDATES = (0.5, 0.6, 0.7, 0.8, 0.9)
MAX_MALIGNANT_AWAY, MIN_EVERYDAY_AWAY = 0.02, 0.98


def validation_sets(data: Path, split_csv: Path, runs: Path) -> dict[str, list]:
    samples = read_collection(data) + read_labelled_set(runs / "phone_skin", "phone_skin")
    split = apply_split(samples, split_csv)
    val = [s for s in samples if split[str(s.path)] == "val"]
    sets = {d: [s for s in val if s.domain == d] for d in ("phone", "dermoscopic", "nonlesion", "phone_skin")}
    sets["dermoscopic"] = sets["dermoscopic"][::3]  # a third is plenty: dermoscopic photos are rarely turned away
    sets["widefield"] = read_labelled_set(runs / "eval-sets" / "widefield_val", "widefield")
    sets["bare"] = read_labelled_set(runs / "eval-sets" / "phone_bare_skin_val", "bare")
    return sets


def turned_away(model_dir: Path, threshold: float, sets: dict[str, list], malignant: set[str]) -> dict:
    """Share of each set turned away at ``threshold`` (lesion sets: also their malignant photos)."""
    with tempfile.TemporaryDirectory() as tmp:
        for f in model_dir.iterdir():
            if f.suffix == ".onnx":
                (Path(tmp) / f.name).symlink_to(f.resolve())
        card = load_card(model_dir)
        card.localizer = card.localizer.model_copy(update={"present_threshold": threshold})
        card.save(tmp)
        pipeline = load(settings=get_settings(model_dir=tmp, llm_provider="none"))
        row = {}
        for name, samples in sets.items():
            away = [pipeline.analyse(read_image(s.path)).prediction is None for s in samples]
            mal = [a for a, s in zip(away, samples) if s.label in malignant]
            row[name] = {"n": len(away), "away": sum(away) / len(away)}
            if mal:
                row[name]["malignant_away"] = sum(mal) / len(mal)
        return row


def choose(rows: dict[float, dict]) -> float:
    ok = [t for t, r in rows.items() if r["phone"]["malignant_away"] <= MAX_MALIGNANT_AWAY
          and r["nonlesion"]["away"] >= MIN_EVERYDAY_AWAY]
    return max(ok) if ok else min(rows, key=lambda t: (rows[t]["phone"]["malignant_away"], -t))


def report(rows: dict[float, dict], chosen: float, shipped: float) -> str:
    names = list(next(iter(rows.values())))
    lines = ["# The localiser's presence threshold", "",
             "Made by `python bench/presence_choice.py` on the **validation** parts only, through the product's photo "
             "path. Each cell: the share turned away (no answer: no lesion found, no skin, unusable); for lesion sets, "
             "their malignant photos' share in brackets. Lesion sets should be turned away rarely, the others often.",
             "", f"Rule: the highest threshold with malignant smartphone photos turned away ≤ {MAX_MALIGNANT_AWAY:.0%} "
             f"and everyday photos turned away ≥ {MIN_EVERYDAY_AWAY:.0%}. Chosen: **{chosen:.3f}** "
             f"(the localiser's own, chosen on its composed frames to box ≤ 3 % of lesion-free ones: {shipped:.3f}).",
             "", "| threshold | " + " | ".join(f"{n} ({rows[chosen][n]['n']})" for n in names) + " |",
             "|---|" + "---|" * len(names)]
    for t, r in sorted(rows.items()):
        cells = [f"{c['away']:.1%}" + (f" ({c['malignant_away']:.1%})" if "malignant_away" in c else "")
                 for c in r.values()]
        lines.append(f"| {t:.3f}{' ✓' if t == chosen else ''} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--model-dir", default="models")
    ap.add_argument("--runs", default="runs", help="where bench/widefield_sets.py and bench/plain_skin.py wrote")
    ap.add_argument("--out", default="docs/presence_choice.md")
    ap.add_argument("--apply", action="store_true", help="write the chosen threshold into the card")
    args = ap.parse_args()
    model_dir = Path(args.model_dir)
    card = load_card(model_dir)
    own = card.localizer.metrics.get("own_present_threshold", card.localizer.present_threshold)
    sets = validation_sets(Path(args.data), model_dir / "split.csv", Path(args.runs))
    malignant = {c.code for c in card.lesion_classes() if c.can_be_malignant}
    rows = {t: turned_away(model_dir, t, sets, malignant) for t in sorted({*CANDIDATES, own})}
    chosen = choose(rows)
    Path(args.out).write_text(report(rows, chosen, own))
    Path(args.out).with_suffix(".json").write_text(json.dumps({"chosen": chosen, "rows": rows}, indent=1))
    print(report(rows, chosen, own))
    if args.apply:
        card.localizer = card.localizer.model_copy(update={
            "present_threshold": chosen,
            "metrics": {**card.localizer.metrics, "own_present_threshold": own, "presence_choice": args.out}})
        card.save(model_dir)


if __name__ == "__main__":
    main()
