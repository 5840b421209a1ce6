"""Why the page's on-device answers can differ from the server's: the same model files in the two runtimes →
docs/runtime_numerics.md.

Validation crops (phone and dermoscopic, centre squares at the network's input; never test photos) run through
ONNX Runtime on this CPU and through onnxruntime-web (the page's WebAssembly build, under Node), each at two graph
optimisation levels: the largest and mean difference of the logits, and top-1 agreement, for the fp32 and the int8
model. An int8 model rounds every layer's output to 8 bits, so float sums taken in another order land on the other
side of a rounding step now and then, and the step carries on through the layers that follow.

    python bench/runtime_numerics.py [--crops 200] [--out docs/runtime_numerics.md]
"""

from __future__ import annotations

import argparse
import json
import subprocess
import tempfile
from pathlib import Path

import numpy as np
import onnxruntime as ort

from skindoctor.dev.benchmark import machine
from skindoctor.model_card import load_card
from skindoctor.train.collection import read_collection
from skindoctor.train.data import read_split
from skindoctor.vision.image_io import read_image
from skindoctor.vision.preprocess import center_batch
from skindoctor.web.browser_runtime import RUNTIME_DIR
from skindoctor.web.browser_runtime import VERSION as RUNTIME_VERSION

ROOT = Path(__file__).resolve().parents[1]
LEVELS = {"all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL, "disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL}


def crops(data: Path, model_dir: Path, n: int) -> np.ndarray:
    card = load_card(model_dir)
    samples = read_collection(data)
    split = read_split(samples, model_dir / "split.csv")
    val = [s for s in samples if split[str(s.path)] == "val" and s.domain in ("phone", "dermoscopic")]
    chosen = val[::max(1, len(val) // n)][:n]
    return center_batch([read_image(s.path) for s in chosen], card.input)


def server_logits(model: Path, batch: np.ndarray, level: str) -> np.ndarray:
    opts = ort.SessionOptions()
    opts.graph_optimization_level = LEVELS[level]
    opts.intra_op_num_threads = 1
    sess = ort.InferenceSession(str(model), opts, providers=["CPUExecutionProvider"])
    name, out = sess.get_inputs()[0].name, sess.get_outputs()[0].name
    return np.concatenate([sess.run([out], {name: x[None]})[0] for x in batch])


def page_logits(model: Path, batch: np.ndarray, level: str, tmp: Path) -> np.ndarray:
    src, dst = tmp / "batch.bin", tmp / f"out-{level}.bin"
    batch.tofile(src)
    n, c, s, _ = batch.shape
    subprocess.run(["node", str(ROOT / "bench" / "runtime_numerics.mjs"), str(RUNTIME_DIR), str(model), str(src),
                    str(n), str(c), str(s), level, str(dst)], check=True, timeout=1800)
    return np.fromfile(dst, np.float32).reshape(n, -1)


def compare(a: np.ndarray, b: np.ndarray) -> dict:
    d = np.abs(a - b)
    return {"max": float(d.max()), "mean": float(d.mean()), "top1": float(np.mean(a.argmax(1) == b.argmax(1)))}


def report(rows: dict, n: int) -> str:
    m = machine()
    lines = ["# The same model in the two runtimes", "",
             f"Made by `python bench/runtime_numerics.py`: {n} validation crops (phone and dermoscopic), each model "
             "file run by ONNX Runtime on this CPU (the server) and by onnxruntime-web, the page's WebAssembly build "
             "(on-device mode), at both runtimes' full and at no graph optimisation. Differences are of the logits.",
             "", "| model | graph optimisation (both) | largest difference | mean difference | same top class |",
             "|---|---|---|---|---|"]
    for key, r in rows.items():
        variant, level = key.split("/")
        lines.append(f"| {variant} | {level} | {r['max']:.2g} | {r['mean']:.2g} | {r['top1']:.1%} |")
    lines += ["", (
        "The fp32 model agrees to float rounding. The int8 model rounds each layer's output to 8 bits: a float sum "
        "taken in another order lands on the other side of a rounding step now and then, and that step carries on "
        "through the layers after it — with optimisation off on both sides too, where each layer is plain float "
        "arithmetic between the 8-bit roundings. So a photo whose malignant score sits within that spread of a "
        "threshold can get another outcome on the device (docs/ondevice.md); neither optimisation level removes it. "
        f"Machine: {m['cpu']}, onnxruntime {m['onnxruntime']}, onnxruntime-web {RUNTIME_VERSION}.")]
    return "\n".join(lines) + "\n"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    ap.add_argument("--model-dir", default=str(ROOT / "models"))
    ap.add_argument("--crops", type=int, default=200)
    ap.add_argument("--out", default=str(ROOT / "docs" / "runtime_numerics.md"))
    args = ap.parse_args()
    model_dir = Path(args.model_dir)
    card = load_card(model_dir)
    batch = crops(Path(args.data), model_dir, args.crops)
    rows = {}
    with tempfile.TemporaryDirectory() as tmp:
        for variant in ("fp32", "int8"):
            model = model_dir / card.files[variant]
            for level in LEVELS:
                rows[f"{variant}/{level}"] = compare(server_logits(model, batch, level),
                                                     page_logits(model, batch, level, Path(tmp)))
    Path(args.out).write_text(report(rows, len(batch)))
    Path(args.out).with_suffix(".json").write_text(json.dumps(rows, indent=1))
    print(report(rows, len(batch)))


if __name__ == "__main__":
    main()
