"""Measure the peer `sklesion` (PyPI; Keras Xception + metadata, TensorFlow 2.17) in its own virtual
environment, so its TensorFlow never meets our runtime. Prints one JSON object for `skindoctor bench`.

Set-up once (about 1 GB):  python3 -m venv bench/.venv-sklesion && bench/.venv-sklesion/bin/pip install sklesion==0.2.2
                           bench/.venv-sklesion/bin/pip install scikit-learn   (only for --labelled-set)
Run:                       bench/.venv-sklesion/bin/python bench/sklesion_peer.py IMAGE.jpg [--iters 20] [--split …]

With --split and --data it also scores our test split — not a fair number: sklesion was trained on HAM10000
images, very likely including some of our test lesions.

Labelled sets (the shared `labels.csv` format: filename,label,…; filename relative to DIR):
    bench/.venv-sklesion/bin/python bench/sklesion_peer.py --labelled-set DIR [--aspect 4:3]
        [--split CSV --split-part test] --name NAME --out docs/peer_sklesion.json [--batch 16]
scores every image with sklesion's own pre-processing (`SkinLesionClassifier.preprocess`: decode, plain
resize to 254 × 254 without keeping the aspect, the model's own Normalization layer) and no metadata
(age missing, sex and location "unknown", as above), then merges a result keyed by NAME into --out:
accuracy, balanced accuracy and macro one-vs-rest AUC over the classes present (probabilities
renormalised over them), per-class recall, malignant (akiec+bcc+mel) AUC, seconds per image.
--aspect W:H first resizes each image to k·W × k·H (k = round(height / H): 224 × 224 → 300 × 225) and
hands it to sklesion losslessly as PNG bytes; --split keeps the rows whose file name (the part after
the last "/") has split --split-part in that CSV (columns image,…,split,…).
"""

from __future__ import annotations

import time

T0 = time.time()

import argparse  # noqa: E402
import csv  # noqa: E402
import json  # noqa: E402
import os  # noqa: E402
from pathlib import Path  # noqa: E402


def vm(field: str) -> float:
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith(field + ":"):
            return int(line.split()[1]) / 1024
    return float("nan")


MALIGNANT = ("akiec", "bcc", "mel")
META_UNKNOWN = {"age": None, "sex": "unknown", "location": "unknown"}


def restore_aspect(data: bytes, aspect: str) -> bytes:
    """Resize to k·W × k·H (k = round(height / H)) and re-encode losslessly as PNG, which sklesion's
    `tf.image.decode_jpeg` also decodes."""
    import tensorflow as tf

    w_r, h_r = (int(v) for v in aspect.split(":"))
    img = tf.io.decode_image(data, channels=3, expand_animations=False)
    k = max(1, round(int(img.shape[0]) / h_r))
    out = tf.image.resize(img, (k * h_r, k * w_r))  # bilinear, as sklesion's own resize
    return tf.io.encode_png(tf.cast(tf.clip_by_value(tf.round(out), 0, 255), tf.uint8)).numpy()


def score_labelled_set(clf, args) -> dict:
    """Score every image of a labelled set (labels.csv) and return the metrics dictionary."""
    from importlib.metadata import version

    import numpy as np
    from sklearn.metrics import balanced_accuracy_score, recall_score, roc_auc_score

    root = Path(args.labelled_set)
    rows = list(csv.DictReader(open(root / "labels.csv", newline="")))
    if args.split:
        keep = {r["image"].rsplit("/", 1)[-1] for r in csv.DictReader(open(args.split, newline=""))
                if r["split"] == args.split_part}
        rows = [r for r in rows if r["filename"].rsplit("/", 1)[-1] in keep]
    if args.limit:
        rows = rows[: args.limit]
    classes = [clf.model_props["i_cl_map"][i] for i in range(len(clf.model_props["i_cl_map"]))]
    unknown = sorted({r["label"] for r in rows} - set(classes))
    if unknown:
        raise SystemExit(f"labels outside sklesion's classes: {unknown}")
    probs = []
    t0 = time.perf_counter()
    for i in range(0, len(rows), args.batch):
        images, metas = [], []
        for r in rows[i : i + args.batch]:
            data = (root / r["filename"]).read_bytes()
            if args.aspect:
                data = restore_aspect(data, args.aspect)
            image, meta = next(iter(clf.preprocess({"image": data, "meta": META_UNKNOWN})))[0]
            images.append(image)
            metas.append(meta)
        probs.append(np.asarray(clf.model((np.concatenate(images), np.concatenate(metas)), training=False)))
    seconds = time.perf_counter() - t0
    p = np.concatenate(probs).astype(np.float64)
    y = np.array([r["label"] for r in rows])
    pred = np.array(classes)[p.argmax(1)]
    present = [c for c in classes if c in set(y)]
    idx = [classes.index(c) for c in present]
    p_present = p[:, idx] / p[:, idx].sum(1, keepdims=True)
    mal = np.isin(y, MALIGNANT)
    p_mal = p[:, [classes.index(c) for c in MALIGNANT]].sum(1)
    recall = recall_score(y, pred, labels=present, average=None, zero_division=0)
    return {
        "n": len(rows),
        "per_class_n": {c: int((y == c).sum()) for c in present},
        "accuracy": float((pred == y).mean()),
        "balanced_accuracy": float(balanced_accuracy_score(y, pred)),
        "macro_auc_ovr": float(roc_auc_score(y, p_present, multi_class="ovr", average="macro", labels=present)),
        "malignant_auc": float(roc_auc_score(mal, p_mal)) if 0 < mal.sum() < len(mal) else None,
        "per_class_recall": {c: float(v) for c, v in zip(present, recall)},
        "predicted_counts": {c: int((pred == c).sum()) for c in classes},
        "seconds_per_image": seconds / len(rows),
        "sklesion_version": version("sklesion"),
        "tensorflow_version": version("tensorflow"), "keras_version": version("keras"),
        "classes_present": present,
        "input": {"data": str(args.labelled_set), "aspect": args.aspect, "split": args.split,
                  "split_part": args.split_part if args.split else None, "batch": args.batch,
                  "metadata": "none (age missing, sex/location unknown)",
                  "preprocessing": "sklesion SkinLesionClassifier.preprocess (resize to 254x254, no aspect kept)"
                                   + (f" after resize to {args.aspect} aspect, PNG-encoded" if args.aspect else "")},
        "argmax": "over all 7 classes (accuracy, balanced accuracy, recall); AUCs: classes present, "
                  "probabilities renormalised over them; malignant = akiec+bcc+mel summed probability",
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("image", nargs="?", help="one JPEG to time sklesion on (needed unless --labelled-set)")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--split", help="our split CSV: to score the HAM10000 test images, or with --labelled-set "
                                    "to keep the rows whose file name has split --split-part")
    ap.add_argument("--split-part", default="test", help="with --labelled-set and --split (default test)")
    ap.add_argument("--data", default="../shared/data/ham10000")
    ap.add_argument("--limit", type=int, help="images to score at most (default: 300 HAM test images; "
                                              "all of a --labelled-set)")
    ap.add_argument("--labelled-set", metavar="DIR", help="score every image of DIR/labels.csv")
    ap.add_argument("--aspect", metavar="W:H", help="with --labelled-set: restore this aspect first (e.g. 4:3)")
    ap.add_argument("--name", help="with --labelled-set: the key of the result in --out")
    ap.add_argument("--out", help="with --labelled-set: JSON file to write or merge the result into")
    ap.add_argument("--batch", type=int, default=16, help="with --labelled-set: images per model call")
    args = ap.parse_args()
    if args.labelled_set and not (args.name and args.out):
        ap.error("--labelled-set needs --name and --out")
    if not args.labelled_set and not args.image:
        ap.error("give IMAGE (or --labelled-set DIR)")
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
    if args.labelled_set:
        from sklesion.model import SkinLesionClassifier

        result = score_labelled_set(SkinLesionClassifier(), args)
        out = Path(args.out)
        merged = json.loads(out.read_text()) if out.exists() else {}
        merged[args.name] = result
        out.parent.mkdir(parents=True, exist_ok=True)
        out.write_text(json.dumps(merged, indent=2, sort_keys=True) + "\n")
        print(json.dumps({args.name: result}))
        return
    import numpy as np
    import sklesion
    from sklesion.model import SkinLesionClassifier

    clf = SkinLesionClassifier()
    meta = {"age": None, "sex": "unknown", "location": "unknown"}
    data = Path(args.image).read_bytes()
    clf.predict_P({"image": data, "meta": meta})
    cold = time.time() - T0
    times = []
    for _ in range(args.iters):
        t = time.perf_counter()
        clf.predict_P({"image": data, "meta": meta})
        times.append(time.perf_counter() - t)
    x = clf.preprocess({"image": data, "meta": meta})
    batch = next(iter(x))[0]
    model_times = []
    for _ in range(args.iters):
        t = time.perf_counter()
        clf.model(batch, training=False)
        model_times.append(time.perf_counter() - t)
    ms = np.asarray(times) * 1000
    mms = np.asarray(model_times) * 1000
    out = {
        "name": "sklesion 0.2.2 (Keras Xception + metadata, TensorFlow 2.17)",
        "file_mb": Path(clf.model_path).stat().st_size / 1e6,
        "package_dir_mb": sum(p.stat().st_size for p in Path(sklesion.__file__).parent.rglob("*") if p.is_file()) / 1e6,
        "cold_start_s": cold, "peak_rss_mb": vm("VmHWM"),
        "predict_p50_ms": float(np.percentile(ms, 50)), "predict_p95_ms": float(np.percentile(ms, 95)),
        "model_call_p50_ms": float(np.percentile(mms, 50)), "model_call_p95_ms": float(np.percentile(mms, 95)),
        "input_px": int(clf.model_props["img_shape"][0]),
    }
    if args.split:
        rows = [r for r in csv.DictReader(open(args.split, newline="")) if r["split"] == "test"][: args.limit or 300]
        hits, per_class = 0, {}
        for r in rows:
            p = clf.predict_P({"image": (Path(args.data) / "images" / r["image"]).read_bytes(), "meta": meta})[0]
            pred = clf.model_props["i_cl_map"][int(np.argmax(p))]
            hits += pred == r["label"]
            c = per_class.setdefault(r["label"], [0, 0])
            c[0] += pred == r["label"]
            c[1] += 1
        out["our_test_split"] = {"images": len(rows), "accuracy": hits / len(rows),
                                 "balanced_accuracy": float(np.mean([a / n for a, n in per_class.values()])),
                                 "caveat": "not a fair number: sklesion was trained on HAM10000 images"}
    print(json.dumps(out))


if __name__ == "__main__":
    main()
