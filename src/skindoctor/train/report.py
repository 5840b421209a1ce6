"""Render ``docs/model_card.md`` from ``models/model_card.json`` (the card is the source of truth)."""

from __future__ import annotations

from pathlib import Path

from ..model_card import ModelCard

TARGETS = [  # (label, metric path, comparison, value)
    ("balanced accuracy", ("balanced_accuracy",), ">=", 0.80),
    ("macro AUC", ("macro_auc",), ">=", 0.95),
    ("malignant sensitivity", ("malignant", "sensitivity"), ">=", 0.95),
    ("malignant specificity", ("malignant", "specificity"), ">=", 0.70),
    ("ECE", ("ece",), "<=", 0.05),
]


def _get(d: dict, path: tuple[str, ...]):
    for k in path:
        d = d[k]
    return d


def render(card: ModelCard) -> str:
    classes = card.lesion_classes()
    test = card.metrics.get("test", {})
    lines = [
        f"# Model card — {card.name}",
        "",
        "**A decision aid, not a medical device.** It does not diagnose; a clinician does.",
        "",
        f"- Architecture: {card.architecture}, input {card.input.size}×{card.input.size} RGB, "
        f"normalised with mean {card.input.mean} and std {card.input.std}",
        "- Files: " + ", ".join(f"`{v}` ({k})" for k, v in card.files.items()) + f"; default `{card.default_variant}`",
        f"- Calibration temperature (fitted on the validation split): {card.temperature:.3f}",
        f"- Malignant-score threshold (summed probability of {', '.join(c.code for c in classes if c.can_be_malignant)}; "
        f"chosen on the validation split for sensitivity ≥ 0.95): "
        + (f"{card.malignant_threshold:.4f}" if card.malignant_threshold is not None else "not set"),
        "",
        "## Classes",
        "",
        "| code | English | 한국어 | can be malignant |",
        "|---|---|---|---|",
        *[f"| {c.code} | {c.name_en} | {c.name_ko} | {'yes' if c.can_be_malignant else 'no'} |" for c in classes],
        "",
    ]
    if test:
        variants = [v for v in card.files if v in test]
        lines += ["## Test split results", "",
                  f"Held-out test split: {test[variants[0]]['n']} images, no lesion shared with training or validation; "
                  "each photo classified on its centred square (the standard protocol). The live pipeline and "
                  "uploads classify a square around the localised lesion instead: its balanced accuracy is the "
                  "extra row.", "",
                  "| metric | " + " | ".join(variants) + " | target |", "|---|" + "---|" * len(variants) + "---|"]
        for label, path, op, value in TARGETS:
            cells = []
            for v in variants:
                x = _get(test[v], path)
                if x is None:
                    cells.append("n/a")
                    continue
                ok = x >= value if op == ">=" else x <= value
                cells.append(f"{x:.4f} {'✅' if ok else '❌'}")
            lines.append(f"| {label} | " + " | ".join(cells) + f" | {op} {value} |")
        lines.append("| accuracy | " + " | ".join(f"{test[v]['accuracy']:.4f}" for v in variants) + " | |")
        if all("balanced_accuracy_pipeline_crop" in test[v] for v in variants):
            lines.append("| balanced accuracy, live-pipeline crop (localiser) | " + " | ".join(
                f"{test[v]['balanced_accuracy_pipeline_crop']:.4f}" for v in variants) + " | |")
        lines.append("| malignant-vs-benign AUC | " + " | ".join(
            f"{test[v]['malignant']['auc']:.4f}" if test[v]["malignant"]["auc"] is not None else "n/a"
            for v in variants) + " | |")
        if "int8_vs_fp32" in test:
            q = test["int8_vs_fp32"]
            lines += ["", f"int8 vs fp32 on the test split: top-1 agreement {q['top1_agreement']:.4f} (target ≥ 0.99), "
                          f"accuracy drop {q['accuracy_drop_points']:.2f} points (target ≤ 0.5), balanced-accuracy drop "
                          f"{q['balanced_accuracy_drop_points']:.2f} points."]
        for v in variants:
            lines += ["", f"### Per class ({v})", "", "| class | precision | recall | F1 | support |", "|---|---|---|---|---|"]
            for c, m in test[v]["per_class"].items():
                lines.append(f"| {c} | {m['precision']:.3f} | {m['recall']:.3f} | {m['f1']:.3f} | {m['support']} |")
            lines += ["", f"![confusion matrix {v}](confusion_{v}.png) ![reliability {v}](reliability_{v}.png)"]
    check = card.metrics.get("export_check")
    if check:
        lines += ["", "## Export check (ONNX vs the torch model)", "", "| file | images | top-1 agreement | max probability difference | size |",
                  "|---|---|---|---|---|"]
        for v, c in check.items():
            lines.append(f"| {card.files[v]} | {c['images']} | {c['top1_agreement']:.4f} | {c['max_prob_diff']:.2e} | "
                         f"{c['bytes'] / 1e6:.2f} MB |")
    quant = card.metrics.get("quantization")
    if quant:
        lines += ["", "## int8 quantisation", "",
                  "Static QDQ (ONNX Runtime): per-channel int8 weights, uint8 activations calibrated on training images, "
                  f"bias correction on {quant.get('bias_corrected_convs', 0)} convolutions, classifier kept in float."]
        if quant.get("tried"):
            lines[-1] += (f" The first {quant['float_leading_convs']} convolutions stay in float, the fewest that best "
                          f"kept top-1 agreement with fp32 on {quant['check_images']} other training images: " +
                          ", ".join(f"{t['float_leading_convs']} → {t['agreement']:.4f}" for t in quant["tried"]) + ".")
    ablation = card.metrics.get("init_ablation")
    if ablation:
        lines += ["", "## What ImageNet initialisation buys", "", ablation["summary"], "",
                  "| initialisation | epochs | val balanced accuracy | val accuracy |", "|---|---|---|---|"]
        for row in ablation["runs"]:
            lines.append(f"| {row['init']} | {row['epochs']} | {row['val_bacc']:.4f} | {row['val_acc']:.4f} |")
    hist = card.training.get("history") or []
    if hist:
        cfg = card.training.get("config") or {}
        lines += ["", "## Training", "",
                  f"Fine-tuned from ImageNet for {len(hist)} epochs at {cfg.get('size')} px, batch {cfg.get('batch_size')}, "
                  f"AdamW lr {cfg.get('lr')} (cosine, warm-up), batch-norm statistics frozen (the shared weights have BN "
                  "folded into the convolutions), class balance by frequency^-½ sampling × frequency^-½ loss weights, "
                  "camera-like augmentation (scale, rotation, flips, colour, white balance, lighting gradient, blur, "
                  f"noise, JPEG). Best epoch by validation balanced accuracy: {card.training.get('checkpoint_epoch')}.", "",
                  "| epoch | train loss | val accuracy | val balanced accuracy | seconds |", "|---|---|---|---|---|"]
        lines += [f"| {h['epoch']} | {h['train_loss']:.4f} | {h['val_acc']:.4f} | {h['val_bacc']:.4f} | {h['seconds']:.0f} |"
                  for h in hist]
    lines += ["", "## Data, provenance and licence", ""]
    lines += [f"- **{k}**: {v}" for k, v in {**card.provenance, **card.license}.items()]
    return "\n".join(lines) + "\n"


def write(card: ModelCard, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(card))
    return path
