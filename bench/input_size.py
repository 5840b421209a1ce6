"""Input size against milliseconds and validation accuracy → docs/input_size.md.

Exports one trained checkpoint at several input sizes (MobileNetV2 is fully convolutional, so the
same weights run at any size), times ONNX Runtime fp32 on one thread and scores the validation
split per domain on centred squares. The weights were trained at the card's size: the other sizes
show what the network costs and how it transfers, not what training at that size would reach.

    python bench/input_size.py [--checkpoint models/skindoctor-mnv2.pt] [--sizes 128 160 192 224]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import numpy as np
import onnxruntime as ort
import torch
from sklearn.metrics import balanced_accuracy_score

from skindoctor.model_card import InputSpec
from skindoctor.train.collection import read_collection
from skindoctor.train.data import load_images, read_split
from skindoctor.train.export import export_fp32
from skindoctor.train.train import load_checkpoint
from skindoctor.vision.classifier import softmax
from skindoctor.vision.preprocess import center_batch


def session(path: Path) -> ort.InferenceSession:
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1
    return ort.InferenceSession(str(path), opts, providers=["CPUExecutionProvider"])


def p50_ms(sess: ort.InferenceSession, size: int, iters: int) -> float:
    x = np.random.default_rng(0).standard_normal((1, 3, size, size)).astype(np.float32)
    name = sess.get_inputs()[0].name
    for _ in range(10):
        sess.run(None, {name: x})
    times = []
    for _ in range(iters):
        t = time.perf_counter()
        sess.run(None, {name: x})
        times.append(time.perf_counter() - t)
    return 1000 * float(np.median(times))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--checkpoint", default="models/skindoctor-mnv2.pt")
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--split", default="models/split.csv")
    ap.add_argument("--sizes", type=int, nargs="+", default=[128, 160, 192, 224])
    ap.add_argument("--iters", type=int, default=200)
    ap.add_argument("--out", default="docs/input_size.md")
    args = ap.parse_args()
    model, meta = load_checkpoint(args.checkpoint)
    classes = meta["classes"]
    samples = read_collection(args.data)
    split = read_split(samples, args.split)
    val = [s for s in samples if split[str(s.path)] == "val"]
    images, labels = load_images(val), np.array([classes.index(s.label) for s in val])
    domains = np.array([s.domain for s in val])
    rows = []
    with tempfile.TemporaryDirectory() as tmp, torch.no_grad():
        for size in args.sizes:
            path = Path(tmp) / f"m{size}.onnx"
            export_fp32(model, size, path)
            sess = session(path)
            x = center_batch(images, InputSpec(size=size))
            name = sess.get_inputs()[0].name
            probs = np.concatenate([softmax(sess.run(None, {name: x[i:i + 64]})[0]) for i in range(0, len(x), 64)])
            per = {d: float(balanced_accuracy_score(labels[domains == d], probs[domains == d].argmax(1)))
                   for d in sorted(set(domains))}
            rows.append({"size": size, "ms": p50_ms(sess, size, args.iters), **per})
            print(rows[-1], flush=True)
    doms = [k for k in rows[0] if k not in ("size", "ms")]
    lines = ["# Input size: milliseconds and validation accuracy", "",
             f"Checkpoint `{Path(args.checkpoint).name}` (trained at {meta['input']['size']} px) "
             "exported at each size; "
             f"ONNX Runtime fp32, 1 thread, p50 of {args.iters} single-image runs on this machine; validation balanced "
             "accuracy per domain on centred squares (everyday photos: recall of `nolesion`). Only the trained size "
             "is a trained result: the others show cost and how the same weights transfer.", "",
             "| input | ms (fp32, 1 thread) | " + " | ".join(doms) + " |", "|---|---|" + "---|" * len(doms)]
    lines += [f"| {r['size']} | {r['ms']:.2f} | " + " | ".join(f"{r[d]:.3f}" for d in doms) + " |" for r in rows]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
