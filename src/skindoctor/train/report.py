"""Render ``docs/model_card.md`` from ``models/model_card.json`` (the card is the source of truth)."""

from __future__ import annotations

from pathlib import Path

from ..advice.knowledge import class_names
from ..i18n import LANGUAGES, table
from ..model_card import ModelCard
from ..vision.preprocess import MIRRORS
from .evaluate import COVERAGES

VIEW_NAMES = ("as it is", *("mirrored " + " and ".join(n for n, on in (("left-right", lr), ("upside-down", ud)) if on)
                            for lr, ud in MIRRORS))

SET_NAMES = {
    "dermoscopic_test": "HAM10000 test split (dermoscopic, lesion-held-out)",
    "phone_test": "PAD-UFES-20 test split (smartphone photos, patient-held-out)",
    "nonlesion_test": "Everyday photos (held out)",
    "isic2018_test": "ISIC 2018 Task 3 official test (external, dermoscopic, 4:3 restored)",
    "plain_skin_test": "Skin without a lesion (cut beside the lesion in HAM10000 test photos)",
    "phone_skin_test": "Phone skin without a lesion (cut beside every annotated lesion in PAD-UFES-20 test photos)",
    "phone_bare_skin_test": "Phone skin without a lesion (PAD-UFES-20 test photos, every annotated lesion painted out)",
    "widefield_test": "Wide-field phone framing (PAD-UFES-20 test lesions pasted small into other patients' photos)",
}
# (label, metric key, comparison, target, format)
ROWS = [
    ("photos", "n", None, None, "{:.0f}"),
    ("balanced accuracy (pipeline crop)", "balanced_accuracy", ">=", 0.80, "{:.3f}"),
    ("balanced accuracy (centred square)", "balanced_accuracy_centre", None, None, "{:.3f}"),
    ("accuracy", "accuracy", None, None, "{:.3f}"),
    ("macro AUC", "macro_auc", ">=", 0.95, "{:.3f}"),
    ("ECE", "ece", "<=", 0.05, "{:.3f}"),
    ("malignant sensitivity", ("malignant", "sensitivity"), ">=", 0.95, "{:.3f}"),
    ("malignant specificity", ("malignant", "specificity"), None, None, "{:.3f}"),
    ("malignant told \"routine\"", "malignant_routine", "<=", 0.02, "{:.3f}"),
    ("malignant turned away (no lesion found, unusable)", "malignant_turned_away", "<=", 0.02, "{:.3f}"),
    ("false reassurance (malignant → routine or turned away)", "false_reassurance", "<=", 0.03, "{:.3f}"),
    ("benign referral (benign → doctor or uncertain)", "benign_referral", "<=", 0.30, "{:.3f}"),
    ("lesion photos wrongly rejected", "wrongly_rejected", "<=", 0.03, "{:.3f}"),
    ("answered confidently (a class, not turned away or uncertain)", "confident_share", ">=", 0.70, "{:.3f}"),
    ("confident answers right", "confident_accuracy", ">=", 0.85, "{:.3f}"),
    *[(f"accuracy of the surest {c:.0%} of lesion photos (risk–coverage)", ("risk_coverage", f"{c:.0%}"),
       ">=" if c == 0.7 else None, 0.85 if c == 0.7 else None, "{:.3f}") for c in COVERAGES],
    ("non-lesion photos rejected", "nonlesion_rejected", ">=", 0.95, "{:.3f}"),
]
CI_KEYS = {"balanced_accuracy": "balanced_accuracy", "false_reassurance": "false_reassurance",
           "benign_referral": "benign_referral", "wrongly_rejected": "wrongly_rejected",
           "nonlesion_rejected": "nonlesion_rejected"}


def _get(d: dict, path):
    for k in (path,) if isinstance(path, str) else path:
        if not isinstance(d, dict) or k not in d:
            return None
        d = d[k]
    return d


def _cell(m: dict, key, op, target, fmt) -> str:
    x = _get(m, key)
    if x is None:
        return "–"
    text = fmt.format(x)
    ci = m.get("ci95", {}).get(CI_KEYS.get(key) if isinstance(key, str) else "")
    if ci and m.get("n", 0) < 1000:
        text += f" [{ci[0]:.2f}–{ci[1]:.2f}]"
    if op:
        text += " ✅" if (x >= target if op == ">=" else x <= target) else " ❌"
    return text


def domain_tables(card: ModelCard) -> list[str]:
    domains = card.metrics.get("domains", {})
    if not domains:
        return []
    names = list(domains)
    lines = ["## Results per domain", "",
             "Every photo goes through the product's photo path: quality gate → lesion localiser → crop → classifier "
             "→ \"not a lesion\" check → triage rules, with the thresholds in this card (chosen on the validation "
             "split, never on a test set). 95 % bootstrap intervals in brackets for sets under 1 000 photos.", "",
             "| metric | " + " | ".join(SET_NAMES.get(n, n) for n in names) + " | target |",
             "|---|" + "---|" * len(names) + "---|"]
    for label, key, op, target, fmt in ROWS:
        if all(_get(domains[n], key) is None for n in names):
            continue
        lines.append(f"| {label} | " + " | ".join(_cell(domains[n], key, op, target, fmt) for n in names)
                     + f" | {op + ' ' + str(target) if op else ''} |")
    lines += ["", f"Variant scored: {', '.join(sorted({domains[n].get('variant', '?') for n in names}))}. "
              "Rejections by reason: " + "; ".join(
                  f"{SET_NAMES.get(n, n).split(' (')[0]}: " + (", ".join(f"{k} {v}" for k, v in
                                                                    domains[n]["rejected_by_reason"].items()) or "none")
                  for n in names if "rejected_by_reason" in domains[n]) + "."]
    for n in names:
        m = domains[n]
        if "per_class" not in m:
            continue
        lines += ["", f"### {SET_NAMES.get(n, n)}", "", "| class | precision | recall | F1 | support |",
                  "|---|---|---|---|---|"]
        lines += [f"| {c} | {x['precision']:.3f} | {x['recall']:.3f} | {x['f1']:.3f} | {x['support']} |"
                  for c, x in m["per_class"].items()]
        lines += ["", f"![confusion matrix]({'confusion_' + n}.png) ![reliability]({'reliability_' + n}.png)"]
    return lines + [""]


def _localizer_line(card: ModelCard) -> str:
    loc = card.localizer
    if loc is None:
        return "the colour method"
    role = ("the default, the colour method its fallback" if loc.default
            else "opt-in (`SKINDOCTOR_LOCALIZER=learned`); the colour method by default")
    second = ("" if loc.confirm_below is None
              else f", boxes with a peak below {loc.confirm_below} checked again on the frame's mirror images")
    return (f"learned, `{loc.files[loc.variant]}` ({loc.variant}; frame shrunk to a {loc.long_side}-px long side, "
            f"presence threshold {loc.present_threshold:.3f}"
            + (f" (chosen through the product on validation pictures: {loc.metrics['presence_choice']})"
               if "presence_choice" in loc.metrics else "") + second
            + ("; a frame of skin where nothing was found is searched again closer up, as overlapping tiles"
               if loc.look_closer else "") + "); " + role)


def render(card: ModelCard) -> str:
    classes = card.lesion_classes()
    lines = [
        f"# Model card — {card.name}",
        "",
        "**A decision aid, not a medical device.** It does not diagnose; a clinician does.",
        "",
        f"- Architecture: {card.architecture}, input {card.input.size}×{card.input.size} RGB, "
        f"normalised with mean {list(card.input.mean)} and std {list(card.input.std)}",
        "- Files: " + ", ".join(f"`{v}` ({k})" for k, v in card.files.items()) + f"; default `{card.default_variant}`",
        f"- Calibration temperature (fitted on the validation split): {card.temperature:.3f}" if not card.temperatures
        else "- Calibration: a temperature per kind of picture, fitted on its validation lesion photos — dermoscopic "
             f"{card.temperatures['dermoscopic']:.3f}, camera {card.temperatures['camera']:.3f} — mixed for each "
             "crop by the network's own P(dermoscopic) (the `dermoscopic` output)",
        *([f"- \"Doesn't look like skin\": a lesion crop, or the centre square of a picture turned away for holding "
           f"no lesion, with P(no skin) ≥ {card.not_skin_threshold:.3f} (the `skin` output; threshold chosen on the "
           f"validation split to tell at most {card.metrics.get('heads', {}).get('max_skin_told_no_skin', 0):.0%} of "
           "any skin domain's photos so) is told it does not look like skin"]
          if card.not_skin_threshold is not None else []),
        f"- A crop, of a photo or of a live frame alike, is classified as {card.views} views "
        f"({', '.join(VIEW_NAMES[:card.views])}) and the probabilities averaged" if card.views > 1
        else "- A crop is classified as it is",
        f"- Lesion localiser: {_localizer_line(card)}",
        "- Malignant-score threshold "
        f"(summed probability of {', '.join(c.code for c in classes if c.can_be_malignant)}; "
        "chosen on the validation split so that sensitivity stays ≥ "
        f"{card.metrics.get('thresholds', {}).get('target_sensitivity', 0.95)} in every domain): "
        + (f"{card.malignant_threshold:.4f}" if card.malignant_threshold is not None else "not set"),
        *([f"- \"Not a skin lesion\": output `{card.reject_class}` (everyday photos, skin without a lesion); a photo "
           f"whose P({card.reject_class}) "
           f"≥ {card.reject_threshold:.3f} gets \"no lesion found\" instead of a diagnosis (threshold chosen on the "
           "validation split to turn away at most "
           f"{card.metrics.get('thresholds', {}).get('max_lesions_rejected', 0):.1%} of any domain's lesion photos, "
           "counting those the quality gate and the localiser turn away)"]
          if card.reject_class else []),
        *([f"- \"Looks unfamiliar → uncertain, have it checked\": a lesion answer whose P({card.reject_class}) ≥ "
           f"{card.doubt_threshold:.3f} (chosen on the validation split to flag at most "
           f"{card.metrics.get('thresholds', {}).get('max_lesions_unfamiliar', 0):.0%} of any domain's lesion photos)"]
          if card.reject_class and card.doubt_threshold else []),
        "",
        "## Classes",
        "",
        "| code | " + " | ".join(table(lang)["name"] for lang in LANGUAGES) + " | can be malignant |",
        "|---" * (len(LANGUAGES) + 2) + "|",
        *[f"| {c.code} | " + " | ".join(class_names(c, lang)[0] for lang in LANGUAGES)
          + f" | {'yes' if c.can_be_malignant else 'no'} |" for c in classes],
        "",
    ]
    lines += domain_tables(card)
    q = card.metrics.get("int8_vs_fp32")
    if q and "top1_agreement" in q:
        views = q.get("views", 1)
        lines += [f"int8 vs fp32 on {q['images']} test lesion photos (centred squares, {views} "
                  f"view{'s' * (views > 1)} each): top-1 agreement "
                  f"{q['top1_agreement']:.4f} (target ≥ 0.99), accuracy {q['fp32']['accuracy']:.4f} → "
                  f"{q['int8']['accuracy']:.4f} (drop {q['accuracy_drop_points']:.2f} points), balanced accuracy drop "
                  f"{q['balanced_accuracy_drop_points']:.2f} points.", ""]
    check = card.metrics.get("export_check")
    if check:
        lines += ["", "## Export check (ONNX vs the torch model)", "",
                  "| file | images | top-1 agreement | max probability difference | size |",
                  "|---|---|---|---|---|"]
        for v, c in check.items():
            lines.append(f"| {card.files[v]} | {c['images']} | {c['top1_agreement']:.4f} | {c['max_prob_diff']:.2e} | "
                         f"{c['bytes'] / 1e6:.2f} MB |")
    quant = card.metrics.get("quantization")
    if quant:
        lines += ["", "## int8 quantisation", "",
                  "Static QDQ (ONNX Runtime): per-channel int8 weights, uint8 activations calibrated on training "
                  "images, "
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
        start = (f"the checkpoint `{cfg['init_checkpoint']}` (its history: docs/camera_domain.md)"
                 if cfg.get("init_checkpoint") else "ImageNet")
        bn = ("real batch-norm statistics measured on training images at the start (the shared ImageNet weights "
              "have BN folded into the convolutions), then BN trained normally") if cfg.get("batchnorm") == "restore" \
            else "batch-norm statistics frozen (folded ImageNet BN)"
        shares = cfg.get("domain_shares") or {}
        lines += ["", "## Training", "",
                  f"Fine-tuned from {start} for {len(hist)} epochs of {cfg.get('steps_per_epoch') or 'one pass'} "
                  f"batches at {cfg.get('size')} px, batch {cfg.get('batch_size')}, AdamW lr {cfg.get('lr')} "
                  f"(cosine, warm-up), {bn}, label smoothing {cfg.get('label_smoothing', 0)}, "
                  + (f"each batch drawn {', '.join(f'{v:.0%} {k}' for k, v in shares.items())} with classes "
                     "∝ frequency^½ inside a domain and loss weights ∝ (drawn share)^-½, " if shares else "")
                  + "camera-like augmentation (scale, rotation, flips, colour, white balance, lighting gradient, blur, "
                  f"noise, JPEG). Best epoch by the validation score (mean over domains of the domain's balanced "
                  f"accuracy): {card.training.get('checkpoint_epoch')}.", "",
                  "| epoch | train loss | val score | val balanced accuracy per domain | seconds |",
                  "|---|---|---|---|---|"]
        lines += [f"| {h['epoch']} | {h['train_loss']:.4f} | {h.get('val_score', h['val_bacc']):.4f} | "
                  + ", ".join(f"{d} {v:.3f}" for d, v in h.get("val_bacc_by_domain", {}).items())
                  + f" | {h['seconds']:.0f} |" for h in hist]
    lines += ["", "## Data, provenance and licence", ""]
    lines += [f"- **{k}**: {v}" for k, v in {**card.provenance, **card.license}.items()]
    return "\n".join(lines) + "\n"


def write(card: ModelCard, path: str | Path) -> Path:
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(render(card))
    return path
