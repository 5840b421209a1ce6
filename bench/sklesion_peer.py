"""Measure the peer `sklesion` (PyPI; Keras Xception + metadata, TensorFlow 2.17) in its own virtual
environment, so its TensorFlow never meets our runtime. Prints one JSON object for `skindoctor bench`.

Set-up once (about 1 GB):  python3 -m venv bench/.venv-sklesion && bench/.venv-sklesion/bin/pip install sklesion==0.2.2
Run:                       bench/.venv-sklesion/bin/python bench/sklesion_peer.py IMAGE.jpg [--iters 20] [--split …]

With --split and --data it also scores our test split — not a fair number: sklesion was trained on HAM10000
images, very likely including some of our test lesions.
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


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("image")
    ap.add_argument("--iters", type=int, default=20)
    ap.add_argument("--split", help="our split CSV, to score the test images")
    ap.add_argument("--data", default="../shared/data/ham10000")
    ap.add_argument("--limit", type=int, default=300, help="test images to score at most")
    args = ap.parse_args()
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "3")
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
        rows = [r for r in csv.DictReader(open(args.split, newline="")) if r["split"] == "test"][: args.limit]
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
