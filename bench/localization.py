"""Compare the lesion localisers on the same frames → docs/localization.md.

The learned localiser (the model card's segmentation network) against the colour method, on
HAM10000's held-out test split (by lesion, ``models/split.csv``; never used to train or choose):
the photos themselves and camera-like versions of them (placed small in a 640×480 frame and
shifted, rotated by any angle, darker, blurred), plus lesion-free frames (the same photos with
the lesion painted out, everyday photos). For each: mean IoU of the box with the mask's box, the
share of frames whose classifier crop holds the whole lesion, misses, boxes on lesion-free frames,
and milliseconds. A painted-out photo can still show another mole or a piece of the lesion the mask left out,
so its bare-skin frames are also scored on the ones a blind check by eye found clean (``lesion_free_audit.json``
beside this file: the contact sheets ``--audit-sheets DIR`` writes, judged without the localisers' answers). Then the
classifier's balanced accuracy on the crops each localiser gives in the
camera-like frames, beside the mask's own box (the best a localiser can do) and the whole frame
(what one shared pass over the frame, without a crop, would see); and on the smartphone photos of
PAD-UFES-20's test split (by patient; they have diagnoses but no masks), the same balanced accuracy
on each localiser's crops and how often the box takes in most of the photo.

    python bench/localization.py [--data ../shared/data] [--sample 400] [--audit-sheets DIR]
"""

from __future__ import annotations

import argparse
import itertools
import json
import time
from pathlib import Path

import cv2
import numpy as np
from sklearn.metrics import balanced_accuracy_score

from skindoctor.dev.benchmark import time_interleaved
from skindoctor.dev.clips import FRAME_SIZE, skin_colour
from skindoctor.model_card import load_card
from skindoctor.train.collection import read_nonlesion, read_pad_ufes
from skindoctor.train.composite import bare_skin, feather
from skindoctor.train.data import load_rgb, read_ham10000, read_split
from skindoctor.train.localizer import load_photos
from skindoctor.vision.classifier import OnnxClassifier
from skindoctor.vision.localize import WORK_SIDE, Box, LesionLocalizer, mask_box, square_crop, working_copy
from skindoctor.vision.preprocess import center_square
from skindoctor.vision.segment import SegmentLocalizer


def in_frame(img, mask, rng):
    """The photo placed at a random scale and offset in a 640×480 skin-coloured camera frame."""
    w, h = FRAME_SIZE
    s = rng.uniform(1.2, 2.4)
    pw, ph = int(img.shape[1] * s), int(img.shape[0] * s)
    x0, y0 = int(rng.integers(0, w - pw + 1)), int(rng.integers(0, h - ph + 1))
    frame = np.empty((h, w, 3), np.float32)
    frame[:] = skin_colour(img)
    alpha = feather(ph, pw)
    photo = cv2.resize(img, (pw, ph)).astype(np.float32)
    frame[y0:y0 + ph, x0:x0 + pw] = alpha * photo + (1 - alpha) * frame[y0:y0 + ph, x0:x0 + pw]
    big = np.zeros((h, w), np.uint8)
    big[y0:y0 + ph, x0:x0 + pw] = cv2.resize(mask, (pw, ph), interpolation=cv2.INTER_NEAREST)
    return frame.astype(np.uint8), big


def rotated(img, mask, rng):
    h, w = img.shape[:2]
    m = cv2.getRotationMatrix2D((w / 2, h / 2), rng.uniform(-40, 40), 1.0)
    return (cv2.warpAffine(img, m, (w, h), borderMode=cv2.BORDER_REFLECT_101),
            cv2.warpAffine(mask, m, (w, h), flags=cv2.INTER_NEAREST))


VARIANTS = {
    "test-split photos (200 × 150)": lambda img, mask, rng: (img, mask),
    "in a 640×480 frame, scaled ×1.2–2.4, shifted": in_frame,
    "rotated ±40°": rotated,
    "darker (×0.55)": lambda img, mask, rng: ((img * 0.55).astype(np.uint8), mask),
    "blurred (σ = 2 px)": lambda img, mask, rng: (cv2.GaussianBlur(img, (0, 0), 2.0), mask),
}
CAMERA = "in a 640×480 frame, scaled ×1.2–2.4, shifted"
BARE_SKIN = "bare skin (test photos, lesion painted out), 640×480"
CHECKED_SKIN = "bare skin with no other spot left (checked by eye)"
AUDIT = Path(__file__).with_name("lesion_free_audit.json")  # image id → "clean" or "spot", judged by eye


def audit_sheets(skins: list[np.ndarray], ids: list[str], out: Path, cols: int = 8, rows: int = 6) -> None:
    """Numbered contact sheets of the painted-out frames (the localisers' answers not shown) for the check by eye;
    ``index.json`` maps each number to its image id."""
    out.mkdir(parents=True, exist_ok=True)
    tw, th = 240, 180
    per = cols * rows
    for first in range(0, len(skins), per):
        sheet = np.full((rows * (th + 22), cols * (tw + 6), 3), 255, np.uint8)
        for k, skin in enumerate(skins[first:first + per]):
            r, c = divmod(k, cols)
            y, x = r * (th + 22), c * (tw + 6)
            sheet[y + 20:y + 20 + th, x:x + tw] = cv2.resize(skin, (tw, th), interpolation=cv2.INTER_LINEAR)
            cv2.putText(sheet, str(first + k), (x + 2, y + 16), cv2.FONT_HERSHEY_SIMPLEX, 0.55, (0, 0, 0), 1)
        cv2.imwrite(str(out / f"sheet{first // per:02d}.png"), cv2.cvtColor(sheet, cv2.COLOR_RGB2BGR))
    (out / "index.json").write_text(json.dumps(dict(enumerate(ids)), indent=0))
    print(f"wrote {len(skins)} frames to {out}")


def measure(frames, masks, localizer) -> dict:
    ious, contains, fits, misses, false, times, boxes = [], [], [], 0, [], [], []
    looks = getattr(localizer, "second_looks", None)
    for frame, mask in zip(frames, masks):
        t0 = time.perf_counter()
        loc = localizer.locate(frame)
        times.append(time.perf_counter() - t0)
        boxes.append(loc.box)
        truth = mask_box(mask)
        if truth is None:
            false.append(loc.box is not None)
            continue
        fits.append(max(truth.width, truth.height) <= min(frame.shape[:2]))  # a square crop can hold it at all
        if loc.box is None:
            misses += 1
            ious.append(0.0)
            contains.append(False)
            continue
        ious.append(loc.box.iou(truth))
        contains.append(square_crop(frame, loc.box)[1].contains(truth))
    n = len(ious)
    return {"n": n, "mean_iou": float(np.mean(ious)) if n else None,
            "contains": float(np.mean(contains)) if n else None, "fits": float(np.mean(fits)) if n else None,
            "miss": misses / n if n else None, "false": float(np.mean(false)) if false else None,
            "ms_p50": 1000 * float(np.median(times)), "boxes": boxes,
            "second_looks": None if looks is None else (localizer.second_looks - looks) / len(frames)}


def second_look_cost(model_dir: str, spec, frames: list[np.ndarray]) -> dict:
    """``locate`` p50 on the same frames with every box looked at twice and with none, timed in turns."""
    runs = {name: SegmentLocalizer(model_dir, spec.model_copy(update={"confirm_below": below}))
            for name, below in (("first look only", None), ("every box looked at twice", 1.01))}
    calls = {name: (lambda: None, lambda loc=loc, cycle=itertools.cycle(frames): loc.locate(next(cycle)))
             for name, loc in runs.items()}
    return {name: t["p50_ms"] for name, t in time_interleaved(calls, iters=len(frames)).items()}


def balanced_accuracy(classifier, frames, boxes: list[Box | None], labels) -> float:
    """The classifier's balanced accuracy on the crops around ``boxes`` (a missing box: the centre square)."""
    crops = [square_crop(f, b)[0] if b is not None else center_square(f) for f, b in zip(frames, boxes)]
    preds = [p.top_class for p in classifier.predict_batch(crops)]
    return float(balanced_accuracy_score(labels, preds))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--split", default="models/split.csv")
    ap.add_argument("--model-dir", default="models")
    ap.add_argument("--sample", type=int, default=400, help="test-split photos per camera-like variant")
    ap.add_argument("--out", default="docs/localization.md")
    ap.add_argument("--audit-sheets", type=Path, help="only write contact sheets of the bare-skin frames here")
    args = ap.parse_args()
    data = Path(args.data)
    samples = read_ham10000(data / "ham10000")
    split = read_split(samples, args.split)
    test = [s for s in samples if split[str(s.path)] == "test"]
    photos = load_photos(test)
    labels = [s.label for s in test]
    rng = np.random.default_rng(0)
    pick = rng.choice(len(photos), min(args.sample, len(photos)), replace=False)
    skins = [cv2.resize(bare_skin(photos[i]), FRAME_SIZE, interpolation=cv2.INTER_LINEAR) for i in pick]
    ids = [test[i].path.stem for i in pick]
    if args.audit_sheets:
        audit_sheets(skins, ids, args.audit_sheets)
        return
    card = load_card(args.model_dir)
    localizers = {"learned": SegmentLocalizer(args.model_dir, card.localizer), "colour": LesionLocalizer()}
    classifier = OnnxClassifier(args.model_dir)

    rows, camera = [], None
    for name, make in VARIANTS.items():
        chosen = range(len(photos)) if name.startswith("test-split") else pick
        vrng = np.random.default_rng(1)
        pairs = [make(photos[i].image, photos[i].mask, vrng) for i in chosen]
        frames, masks = [p[0] for p in pairs], [p[1] for p in pairs]
        results = {k: measure(frames, masks, loc) for k, loc in localizers.items()}
        rows.append((name, results))
        print(name, {k: {m: v for m, v in r.items() if m != "boxes"} for k, r in results.items()})
        if name == CAMERA:
            camera = (frames, masks, [labels[i] for i in chosen], results)
            cost = second_look_cost(args.model_dir, card.localizer, frames)
            print("second look cost", cost)

    nonlesion = read_nonlesion(data / "nonlesion")
    other = read_split(nonlesion, args.split)
    everyday = [load_rgb(s.path) for s in nonlesion if other[str(s.path)] == "test"]
    empty = {BARE_SKIN: skins, "everyday photos (test split)": everyday}
    if AUDIT.is_file():
        verdict = json.loads(AUDIT.read_text())
        clean = [s for s, i in zip(skins, ids) if verdict.get(i) == "clean"]
        empty[CHECKED_SKIN] = clean
    for name, frames in empty.items():
        masks = [np.zeros(f.shape[:2], np.uint8) for f in frames]
        results = {k: measure(frames, masks, loc) for k, loc in localizers.items()}
        rows.append((name, results))
        print(name, {k: {m: v for m, v in r.items() if m != "boxes"} for k, r in results.items()})

    frames, masks, cam_labels, results = camera
    accuracy = {k: balanced_accuracy(classifier, frames, r["boxes"], cam_labels) for k, r in results.items()}
    accuracy["the mask's own box"] = balanced_accuracy(classifier, frames, [mask_box(m) for m in masks], cam_labels)
    accuracy["whole frame, no crop"] = float(balanced_accuracy_score(
        cam_labels, [p.top_class for p in classifier.predict_batch([center_square(f) for f in frames])]))
    # what one shared pass at the localiser's input size has of the lesion: the learned box's crop cut from the
    # 128-px working copy (enlarged to the classifier's input)
    small = [working_copy(f) for f in frames]
    scaled = [None if b is None else Box(*(round(v * s.shape[1] / f.shape[1]) for v in b.as_list()))
              for f, s, b in zip(frames, small, results["learned"]["boxes"])]
    accuracy[f"learned box, cut from the {WORK_SIDE}-px working copy"] = balanced_accuracy(classifier, small, scaled,
                                                                                           cam_labels)
    print(accuracy)
    phone = phone_results(data / "pad_ufes_20_partial", args.split, localizers, classifier)
    print(phone)
    write_report(Path(args.out), rows, accuracy, phone, card, len(pick), cost)


def phone_results(root: Path, split_csv: str, localizers: dict, classifier) -> dict:
    """Per localiser on the smartphone test photos: the classifier's balanced accuracy on its crops (over the
    classes present), the share of photos with no box, and of boxes covering half the photo or more."""
    items = read_pad_ufes(root)
    split = read_split(items, split_csv)
    test = [s for s in items if split[str(s.path)] == "test"]
    images, labels = [load_rgb(s.path, 640) for s in test], [s.label for s in test]
    out = {"n": len(test)}
    for name, localizer in localizers.items():
        found = [localizer.locate(image) for image in images]
        boxes = [f.box for f in found]
        share = [b.width * b.height / (im.shape[0] * im.shape[1]) for b, im in zip(boxes, images) if b is not None]
        out[name] = {"balanced_accuracy": balanced_accuracy(classifier, images, boxes, labels),
                     "no_box": float(np.mean([b is None for b in boxes])),
                     "half_or_more": float(np.mean([a >= 0.5 for a in share])) if share else 0.0}
    out["whole photo, no crop"] = {"balanced_accuracy": balanced_accuracy(classifier, images, [None] * len(images),
                                                                          labels)}
    return out


def _pct(v):
    return "—" if v is None else f"{v:.1%}"


def write_report(out: Path, rows, accuracy, phone, card, sample: int, cost: dict) -> None:
    spec = card.localizer
    lines = ["# Lesion localisation: learned localiser vs colour method", "",
             "Measured with `python bench/localization.py` on HAM10000's **test split** (by lesion, "
             "`models/split.csv`; the localiser was trained on the train split and its step and presence threshold "
             "chosen on validation frames). Boxes are compared with the bounding box of the ISIC 2018 Task 1 style "
             "mask; *whole lesion in crop* is the share of lesion frames whose classifier crop (the box squared with a "
             "30 % margin, kept inside the frame) holds the mask's whole box; *boxes on lesion-free frames* is the "
             f"share of frames with no lesion that still got a box. Camera-like variants use {sample} test photos "
             "(seed 0); rotation by any angle was not part of the localiser's training (it saw quarter turns only).",
             "",
             "| frames | localiser | n | mean IoU | whole lesion in crop | missed | boxes on lesion-free frames | "
             "second looks | time p50 (ms) |", "|---|---|---|---|---|---|---|---|---|"]
    for name, results in rows:
        for k, r in results.items():
            iou = "—" if r["mean_iou"] is None else f"{r['mean_iou']:.3f}"
            lines.append(f"| {name} | {k} | {r['n'] or len(r['boxes'])} | {iou} | {_pct(r['contains'])} | "
                         f"{_pct(r['miss'])} | {_pct(r['false'])} | {_pct(r['second_looks'])} | {r['ms_p50']:.2f} |")
    first, twice = cost["first look only"], cost["every box looked at twice"]
    lines += ["", f"*Second looks* is the share of frames whose box was unsure (peak below {spec.confirm_below}) and "
              "was checked again on the frame's mirror images (see Method). A second look costs "
              f"{twice - first:.2f} ms: `locate` p50 on the camera-like frames above was {first:.2f} ms with the first "
              f"look only and {twice:.2f} ms with every box looked at twice (timed in turns, this run)."]
    cramped = {name: 1 - r["fits"] for name, results in rows if (r := next(iter(results.values())))["fits"]
               and r["fits"] < 1}
    if cramped:
        lines += ["", f"In the photo-sized rows ({', '.join(cramped)}) {min(cramped.values()):.1%}–"
                  f"{max(cramped.values()):.1%} of the lesions are larger than the frame's short side, so no square "
                  "crop inside the frame can hold them whole: the crop then takes the frame's full height."]
    if any(name == CHECKED_SKIN for name, _ in rows):
        verdict = json.loads(AUDIT.read_text())
        spots = sum(v == "spot" for v in verdict.values())
        lines += ["", f"Painting a lesion out leaves the rest of the photo as it was: in {spots} of the "
                  f"{len(verdict)} bare-skin frames a blind check by eye "
                  "(`bench/lesion_free_audit.json`, judged on contact sheets without the localisers' answers) still "
                  "saw a spot: another mole, a red spot, or part of the lesion the mask left out. Boxing those is "
                  "right, so the checked row, with them left out, is the false-box rate on skin."]
    lines += ["", "## The classifier on each localiser's crops", "",
              f"Balanced accuracy of the shipped classifier ({card.default_variant}) over the 7 classes on the "
              "camera-like frames above, cropped around each box (a frame with no box: its centre square):", "",
              "| crop from | balanced accuracy |", "|---|---|"]
    lines += [f"| {k} | {v:.3f} |" for k, v in accuracy.items()]
    lines += ["", f"On the {phone['n']} smartphone photos of PAD-UFES-20's test split (by patient; 5 classes, no "
              "masks: the photo is the frame, as an upload):", "",
              "| crop from | balanced accuracy | no box | box covers ≥ half the photo |", "|---|---|---|---|"]
    lines += [f"| {k} | {v['balanced_accuracy']:.3f} | {_pct(v.get('no_box'))} | {_pct(v.get('half_or_more'))} |"
              for k, v in phone.items() if k != "n"]
    lines += ["", "Sharing one pass for box and class: a single network over the frame sees the lesion either as the "
              "whole-frame row (the frame at the classifier's input size: the lesion shrinks to a fraction of the "
              f"picture) or, with its class read from the box's region, as the working-copy row (the lesion at the "
              f"localiser's {spec.long_side}-px resolution, the most such a pass has of it). Both lose to classifying "
              "a crop of the full frame, so the product runs two small networks (the localiser on the "
              f"{spec.long_side}-px frame, the classifier on the full-resolution crop) rather than one.", "",
              "## Method", "",
              f"Learned: `{spec.files[spec.variant]}` ({spec.variant}), MobileNetV2's first 14 blocks (ImageNet) "
              "with a small top-down decoder, on the frame shrunk to a "
              f"{spec.long_side}-px long side; a pixel is lesion at p ≥ {spec.mask_threshold}, the connected region "
              "holding the most probability is the box, and a region whose peak is below the presence threshold "
              f"{spec.present_threshold:.3f} (chosen on validation frames for ≤ 3 % boxes on each kind of lesion-free "
              "frame) is no lesion. A box whose peak is below "
              f"{spec.confirm_below} gets a second look: the region is sought again on the mean of the frame's map and "
              "those of its three mirror images (left-right, upside-down, both; one batched run), and stays only if "
              "it still reaches the presence threshold. Trained by `skindoctor train-localizer` on camera-like "
              "frames composed from the train split's photos and masks, plus the train split's smartphone photos "
              "with the masks a first-round localiser was clear about (docs/finding_the_lesion.md). It is the "
              "product's default, chosen on validation photos (docs/localizer_choice.md). Colour: distance from the "
              "skin in Lab on a 128-px working copy, Otsu threshold, the most plausible connected component; the "
              "fallback.", "",
              "Times are p50 of single calls on this machine in the run that wrote this file "
              "(they vary with what else runs; `skindoctor bench` gives the frame path's stages)."]
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text("\n".join(lines) + "\n")
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
