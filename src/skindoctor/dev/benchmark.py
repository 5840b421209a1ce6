"""``skindoctor bench``: speed and size on this machine, measured in one run → docs/benchmarks.md.

Batch-1 model latency (torch eager fp32 when the [train] extra and the torch weights are there,
ONNX Runtime fp32 and int8 at the thread counts and graph-optimisation levels that matter),
end-to-end per-frame latency with a per-stage breakdown, the live pipeline's frame rate and CPU
use on a camera-like clip, cold start, memory and file sizes. Timing only; no assertions.
"""

from __future__ import annotations

import contextlib
import json
import os
import platform
import resource
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

from ..model_card import load_card

ROUNDS = 5  # engines take turns this many times in one latency run


def _stats(times: list[float]) -> dict:
    a = np.asarray(times) * 1000
    return {"p50_ms": float(np.percentile(a, 50)), "p95_ms": float(np.percentile(a, 95)),
            "per_s": float(1000 / a.mean()), "n": len(a)}


def time_interleaved(engines: dict, iters: int, rounds: int = ROUNDS, warmup: int = 5) -> dict:
    """Time every engine in turns (``rounds`` × ``iters / rounds`` calls each, warm-up each turn).

    On a shared machine the background load drifts over a run; taking turns gives every engine
    the same conditions, so the ratios between them hold even when the absolute figures move.
    """
    times = {name: [] for name in engines}
    per_round = max(1, iters // rounds)
    for _ in range(rounds):
        for name, (prepare, fn) in engines.items():
            prepare()
            for _ in range(warmup):
                fn()
            for _ in range(per_round):
                t0 = time.perf_counter()
                fn()
                times[name].append(time.perf_counter() - t0)
    return {name: _stats(t) for name, t in times.items()}


def model_latency(model_dir: Path, iters: int) -> list[dict]:
    """Batch-1 latency of torch eager and ONNX Runtime fp32/int8, timed in turns in one process."""
    import onnxruntime as ort

    card = load_card(model_dir)
    size = card.input.size
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, size, size)).astype(np.float32)
    engines = {}
    torch_weights = model_dir / (card.torch_weights or "-")
    if card.torch_weights and torch_weights.is_file():
        try:
            import torch

            from ..train.train import load_checkpoint

            model, _ = load_checkpoint(torch_weights)
            xt = torch.from_numpy(x)

            def torch_call():
                with torch.inference_mode():
                    model(xt)

            for threads in (1, 2):
                key = ("torch eager fp32", threads, "-")
                engines[key] = (lambda t=threads: torch.set_num_threads(t), torch_call)
        except ImportError:
            pass
    levels = {"disabled": ort.GraphOptimizationLevel.ORT_DISABLE_ALL,
              "all": ort.GraphOptimizationLevel.ORT_ENABLE_ALL}
    for variant in ("fp32", "int8"):
        for threads in (1, 2):
            for name, level in levels.items():
                opts = ort.SessionOptions()
                opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
                opts.graph_optimization_level = level
                sess = ort.InferenceSession(str(model_dir / card.files[variant]), opts,
                                            providers=["CPUExecutionProvider"])
                feed = {sess.get_inputs()[0].name: x}
                engines[(f"onnxruntime {variant}", threads, name)] = (
                    lambda: None, lambda s=sess, f=feed: s.run(None, f))
    timed = time_interleaved(engines, iters)
    return [{"engine": e, "threads": t, "opt": o, **timed[(e, t, o)]} for e, t, o in engines]


def paced_threads(model_dir: Path, calls: int = 90, fps: float = 30.0) -> list[dict]:
    """int8 latency and CPU time per call when called at a camera's pace, per thread setting.

    Back-to-back timing flatters extra threads: between camera frames ONNX Runtime's idle worker
    threads either spin (burning CPU) or sleep (and are slow to wake). This shows which one costs what.
    """
    import onnxruntime as ort

    card = load_card(model_dir)
    x = np.random.default_rng(0).uniform(-1, 1, (1, 3, card.input.size, card.input.size)).astype(np.float32)
    rows = []
    for threads, spinning in ((1, "1"), (2, "1"), (2, "0")):
        opts = ort.SessionOptions()
        opts.intra_op_num_threads, opts.inter_op_num_threads = threads, 1
        opts.add_session_config_entry("session.intra_op.allow_spinning", spinning)
        sess = ort.InferenceSession(str(model_dir / card.files["int8"]), opts, providers=["CPUExecutionProvider"])
        feed = {sess.get_inputs()[0].name: x}
        for _ in range(5):
            sess.run(None, feed)
        times, cpu = [], 0.0
        for _ in range(calls):
            c0, t0 = time.process_time(), time.perf_counter()
            sess.run(None, feed)
            times.append(time.perf_counter() - t0)
            time.sleep(max(0.0, 1 / fps - times[-1]))
            cpu += time.process_time() - c0  # includes what spinning threads burn while we wait
        rows.append({"threads": threads, "spinning": spinning == "1", **_stats(times),
                     "cpu_ms_per_frame": cpu / calls * 1000})
    return rows


def speedups(latency: list[dict]) -> dict:
    """int8 ONNX Runtime vs torch eager, from one run: best vs best, and at equal thread counts."""
    def best(engine, threads=None):
        rows = [x for x in latency if x["engine"] == engine and threads in (None, x["threads"])]
        return min(rows, key=lambda x: x["p50_ms"]) if rows else None

    torch_best, int8_best = best("torch eager fp32"), best("onnxruntime int8")
    if torch_best is None or int8_best is None:
        return {}
    out = {"best_vs_best": torch_best["p50_ms"] / int8_best["p50_ms"],
           "torch_best": torch_best, "int8_best": int8_best}
    for threads in (1, 2):
        t, q = best("torch eager fp32", threads), best("onnxruntime int8", threads)
        if t and q:
            out[f"threads_{threads}"] = t["p50_ms"] / q["p50_ms"]
    return out


def frame_latency(pipeline, frames: list[np.ndarray]) -> dict:
    """Per-frame latency of the whole chain on 640×480 frames, and where the time goes (the pipeline's
    own gate, localiser, classifier and hold, stage by stage)."""
    from ..vision.localize import square_crop, working_copy
    from ..vision.preprocess import normalize, resize_square

    clf, gate, loc, conf = pipeline.classifier, pipeline.gate, pipeline.localizer, pipeline.fresh().confirmer
    stages = {k: [] for k in ("downscale+quality", "localise", "crop+resize", "preprocess", "classify", "confirm",
                              "total")}
    for i, frame in enumerate(frames):
        t0 = time.perf_counter()
        small = working_copy(frame)
        q = gate.check_frame(small)
        t1 = time.perf_counter()
        found = loc.locate(frame, small)
        t2 = time.perf_counter()
        crop = square_crop(frame, found.box, pipeline.spec.crop)[0] if found.box else None
        square = resize_square(crop, clf.spec.size) if crop is not None else None
        gate.check_lesion(q, found, square) if square is not None else None
        t3 = time.perf_counter()
        x = normalize(square, clf.spec)[None] if square is not None else None
        t4 = time.perf_counter()
        # calibrated lesion-class probabilities, the crop judged as the spec's views
        probs = clf.probabilities(x, pipeline.spec.classifier.views)[0] if x is not None else None
        t5 = time.perf_counter()
        conf.update(i / 30, probs[0] if probs is not None else None)
        t6 = time.perf_counter()
        for k, (a, b) in zip(stages, [(t0, t1), (t1, t2), (t2, t3), (t3, t4), (t4, t5), (t5, t6), (t0, t6)]):
            stages[k].append(b - a)
    return {k: _stats(v) for k, v in stages.items()}


def live_fps(pipeline, clip: Path, realtime_seconds: float) -> dict:
    """Uncapped throughput on the clip, and CPU use while keeping up with a 30 fps camera in real time."""
    from ..stream.sources import FrameSource, open_source

    pipeline = pipeline.fresh()
    c0, w0 = time.process_time(), time.perf_counter()
    n = sum(1 for _ in pipeline.run(open_source(str(clip)), max_rate=1000))
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    uncapped = {"frames": n, "fps": n / wall, "cpu_cores": cpu / wall}

    frames = [f.image for f in open_source(str(clip))]

    class Camera30(FrameSource):
        live = True

        def __iter__(self):
            start = time.monotonic()
            for i in range(int(realtime_seconds * 30)):
                delay = start + i / 30 - time.monotonic()
                if delay > 0:
                    time.sleep(delay)
                from ..stream.sources import Frame

                yield Frame(frames[i % len(frames)], time.monotonic(), i)

    pipeline.reset()
    # this stream's own steady box (``fresh`` above) searches through a counter; the shared localiser is untouched
    searched = pipeline.stream_localizer.localizer = CountingLocalizer(pipeline.localizer)
    looks = getattr(pipeline.localizer, "second_looks", 0)
    c0, w0 = time.process_time(), time.perf_counter()
    m = sum(1 for _ in pipeline.run(Camera30(), max_rate=1000))  # the camera sets the pace
    wall, cpu = time.perf_counter() - w0, time.process_time() - c0
    looks = getattr(pipeline.localizer, "second_looks", 0) - looks
    return {"uncapped": uncapped, "realtime_30fps": {"seconds": wall, "frames_analysed": m, "fps": m / wall,
                                                     "cpu_of_one_core": cpu / wall, "frames_searched": searched.calls,
                                                     "second_looks": looks,
                                                     "max_reuse": pipeline.spec.steady.max_reuse}}


class CountingLocalizer:
    """A localiser's calls counted (how many live frames were searched rather than kept their box)."""

    def __init__(self, localizer):
        self.localizer, self.calls = localizer, 0

    def locate(self, frame, small=None):
        self.calls += 1
        return self.localizer.locate(frame, small)


COLD_START = """
import time, sys
t0 = float(sys.argv[1])
from skindoctor.vision.classifier import OnnxClassifier
import numpy as np
clf = OnnxClassifier(sys.argv[2])
clf.predict(np.zeros((160, 160, 3), np.uint8))
elapsed = time.time() - t0
# VmHWM, not ru_maxrss: after fork+exec ru_maxrss can still report the parent's peak
hwm = next(int(l.split()[1]) for l in open("/proc/self/status") if l.startswith("VmHWM:"))
print(elapsed, hwm / 1024)
"""


def cold_start(model_dir: Path, runs: int = 3) -> dict:
    """Process start → first prediction, in fresh Python processes (best of ``runs``)."""
    times, rss = [], []
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", COLD_START, str(time.time()), str(model_dir)],
                             capture_output=True, text=True, check=True).stdout.split()
        times.append(float(out[0]))
        rss.append(float(out[1]))
    return {"best_s": min(times), "median_s": float(np.median(times)), "classifier_process_rss_mb": max(rss)}


@contextlib.contextmanager
def served(model_dir: Path | None = None, env: dict | None = None):
    """A real ``skindoctor serve`` process on a free loopback port; yields (process, base URL)."""
    import httpx

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "skindoctor.cli", "serve", "--port", str(port)]
    if model_dir is not None:
        cmd += ["--model-dir", str(model_dir)]
    proc = subprocess.Popen(cmd, env={**os.environ, "SKINDOCTOR_LLM_PROVIDER": "none", **(env or {})},
                            stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        for _ in range(200):
            try:
                httpx.get(url + "/healthz", timeout=1)
                break
            except httpx.HTTPError:
                time.sleep(0.1)
        yield proc, url
    finally:
        proc.terminate()
        proc.wait(10)


def serving_rss(model_dir: Path, image: Path | None, requests: int = 30) -> dict:
    """RSS of a real ``skindoctor serve`` process after start and after uploads."""
    import httpx

    with served(model_dir) as (proc, url):
        idle = rss_mb(proc.pid)
        if image is not None:
            data = image.read_bytes()
            for _ in range(requests):
                httpx.post(url + "/api/v1/diagnose", files={"file": ("x.jpg", data)}, timeout=30)
        return {"idle_mb": idle, "after_uploads_mb": rss_mb(proc.pid), "uploads": requests if image else 0}


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


def test_samples(model_dir: Path, data: Path) -> list | None:
    """The model's held-out test split (``split.csv`` beside the model) over the HAM10000 folder ``data``."""
    split_file = model_dir / "split.csv"
    if not (data / "images").is_dir() or not split_file.is_file():
        return None
    from ..train.data import read_ham10000, read_split

    samples = read_ham10000(data)
    split = read_split(samples, split_file)
    return [s for s in samples if split[str(s.path)] == "test"]


def test_split_accuracy(model_dir: Path, data: Path, limit: int | None = None) -> dict | None:
    """fp32 vs int8 on the model's held-out test split (centre crops, as in the model card)."""
    test = test_samples(model_dir, data)
    if not test:
        return None
    from ..train.evaluate import compare_variants

    return compare_variants(model_dir, test[:limit])


def default_photo(model_dir: Path, data: Path) -> Path | None:
    """The first photo of the model's test split, when that data is on this machine."""
    test = test_samples(model_dir, data)
    return test[0].path if test else None


def peer(python: Path, image: Path | None, data: Path, model_dir: Path) -> dict | None:
    """sklesion measured in its own virtual environment (bench/sklesion_peer.py)."""
    script = Path(__file__).resolve().parents[2] / "bench" / "sklesion_peer.py"
    if not python.exists() or image is None or not script.is_file():
        return None
    cmd = [str(python), str(script), str(image)]
    if (model_dir / "split.csv").is_file() and (data / "images").is_dir():
        cmd += ["--split", str(model_dir / "split.csv"), "--data", str(data)]
    r = subprocess.run(cmd, capture_output=True, text=True, timeout=1800)
    lines = [ln for ln in r.stdout.splitlines() if ln.startswith("{")]
    return json.loads(lines[-1]) if r.returncode == 0 and lines else {"error": r.stderr[-500:]}


def machine() -> dict:
    cpu = next((ln.split(":", 1)[1].strip() for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")), platform.processor())
    import onnxruntime

    return {"cpu": cpu, "cores": os.cpu_count(), "python": platform.python_version(),
            "onnxruntime": onnxruntime.__version__, "platform": platform.platform()}


def run(model_dir: Path, out: Path | None, iters: int = 300, frames: int = 200, realtime_seconds: float = 10.0,
        image: Path | None = None, data: Path = Path("../shared/data/ham10000"),
        peer_python: Path = Path("bench/.venv-sklesion/bin/python"), accuracy_limit: int | None = None) -> dict:
    from .. import load
    from ..stream.pipeline import Pipeline
    from ..vision.image_io import read_image
    from .clips import Segment, write_video
    from .clips import frames as clip_frames

    card = load_card(model_dir)
    image = image or default_photo(model_dir, data)
    lesion = read_image(image) if image else None
    if lesion is None:  # a synthetic dark lesion on skin, when no real photo is given
        import cv2

        lesion = np.full((150, 200, 3), (205, 160, 140), np.uint8)
        cv2.ellipse(lesion, (100, 75), (45, 35), 0, 0, 360, (90, 55, 40), -1)
    segments = [Segment(lesion, 2.0), Segment(lesion, 1.0, brightness=0.85), Segment(lesion, 2.0)]
    results = {"machine": machine(), "model": card.name, "input_size": card.input.size,
               "photo": image.name if image else None}
    results["model_latency"] = model_latency(model_dir, iters)
    results["speedup"] = speedups(results["model_latency"])
    results["paced_threads"] = paced_threads(model_dir, calls=max(10, min(iters, 90)))
    pipeline = load(model_dir, threads=1)
    chain = list(clip_frames(segments))[:frames]
    results["views"] = pipeline.spec.classifier.views
    results["frame_latency"] = frame_latency(pipeline, chain)
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_video(segments, Path(tmp) / "clip.avi")
        results["live"] = live_fps(pipeline, clip, realtime_seconds)
        if results["views"] > 1:  # what the card's views cost beside one, in the same run
            one_view = Pipeline(pipeline.classifier, pipeline.localizer, pipeline.spec.with_views(1),
                                pipeline.advisor)
            results["one_view"] = {"frame_total": frame_latency(one_view, chain)["total"],
                                   "live": live_fps(one_view, clip, realtime_seconds)["realtime_30fps"]}
    results["cold_start"] = cold_start(model_dir)
    results["serving"] = serving_rss(model_dir, image)
    results["files_mb"] = {v: (model_dir / f).stat().st_size / 1e6 for v, f in card.files.items()}
    results["accuracy"] = test_split_accuracy(model_dir, data, accuracy_limit)
    results["peer"] = peer(peer_python, image, data, model_dir)
    results["peak_rss_bench_process_mb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    if out is not None:
        write_report(results, out)
    return results


def write_report(r: dict, out: Path) -> None:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    out.parent.mkdir(parents=True, exist_ok=True)
    sp = r.get("speedup") or {}
    base = sp.get("torch_best")
    lines = ["# Benchmarks", "", f"Measured by `skindoctor bench` in one run on {r['machine']['cpu']} "
             f"({r['machine']['cores']} cores), Python {r['machine']['python']}, onnxruntime "
             f"{r['machine']['onnxruntime']}. Model `{r['model']}`, input {r['input_size']} px, batch 1. Photo for the "
             "clip, the uploads and the peer: " + (f"`{r['photo']}`" if r.get("photo") else
                                                  "none (a drawn lesion; pass `--image`)") + ".", "",
             "## Model latency", "", "| engine | threads | graph opt | p50 ms | p95 ms | images/s | vs torch eager |",
             "|---|---|---|---|---|---|---|"]
    if sp:
        lines[-2:-2] = [f"Engines timed in turns ({ROUNDS} rounds) so each sees the same machine load. "
                        "**int8 ONNX Runtime "
                        f"is {sp['best_vs_best']:.1f}× faster than torch eager** (best configuration of each: "
                        f"{sp['int8_best']['p50_ms']:.2f} ms vs {sp['torch_best']['p50_ms']:.2f} ms p50); at equal "
                        "threads " + ", ".join(f"{sp[f'threads_{t}']:.1f}× ({t} thread{'s' * (t > 1)})"
                                                for t in (1, 2) if f"threads_{t}" in sp) + ".", ""]
    for x in r["model_latency"]:
        ratio = f"{base['p50_ms'] / x['p50_ms']:.1f}×" if base else "—"
        lines.append(f"| {x['engine']} | {x['threads']} | {x['opt']} | {x['p50_ms']:.2f} | {x['p95_ms']:.2f} | "
                     f"{x['per_s']:.0f} | {ratio} |")
    if r.get("paced_threads"):
        lines += ["", "### At a camera's pace (int8, one call per 1/30 s)", "",
                  "Idle ONNX Runtime threads spin between frames unless told not to; CPU time per frame counts "
                  "that too. The live pipeline uses 1 thread.", "",
                  "| threads | idle threads spin | p50 ms | p95 ms | CPU ms per frame |", "|---|---|---|---|---|"]
        lines += [f"| {x['threads']} | {'yes' if x['spinning'] else 'no'} | {x['p50_ms']:.2f} | {x['p95_ms']:.2f} | "
                  f"{x['cpu_ms_per_frame']:.2f} |" for x in r["paced_threads"]]
    fl = r["frame_latency"]
    views = r.get("views", 1)
    lines += ["", f"## One 640×480 frame through the whole chain (int8, 1 thread, the crop as {views} "
              f"view{'s' * (views > 1)})", "", "| stage | p50 ms | p95 ms |", "|---|---|---|"]
    lines += [f"| {k} | {v['p50_ms']:.2f} | {v['p95_ms']:.2f} |" for k, v in fl.items()]
    if r.get("one_view"):
        one, total = r["one_view"], fl["total"]["p50_ms"]
        lines += ["", f"The card's {views} views beside one, same run: total p50 {total:.2f} ms vs "
                  f"{one['frame_total']['p50_ms']:.2f} ms ({total / one['frame_total']['p50_ms']:.2f}×); "
                  f"30 fps live {r['live']['realtime_30fps']['cpu_of_one_core']:.0%} vs "
                  f"{one['live']['cpu_of_one_core']:.0%} of one core."]
    lv = r["live"]
    lines += ["", "## Live pipeline on a camera-like clip", "",
              f"- Uncapped (decode + analyse every frame): **{lv['uncapped']['fps']:.0f} fps**, using "
              f"{lv['uncapped']['cpu_cores']:.2f} cores.",
              f"- Keeping up with a 30 fps camera for {lv['realtime_30fps']['seconds']:.0f} s: "
              f"{lv['realtime_30fps']['fps']:.1f} fps analysed, **{lv['realtime_30fps']['cpu_of_one_core']:.0%} of one "
              "core** (process CPU time / wall time). The localiser searched "
              f"{lv['realtime_30fps'].get('frames_searched', 0)} of the {lv['realtime_30fps']['frames_analysed']} "
              "frames: a stream keeps its lesion box while the picture holds still (at most "
              f"{lv['realtime_30fps'].get('max_reuse', 'a few')} frames in a row; `stream/steady.py`); "
              "the stage table above searches every frame. "
              f"{lv['realtime_30fps'].get('second_looks', 0)} searches took the learned localiser's second look "
              "(an unsure box checked on the frame's mirror images).",
              "", "## Start-up, memory, files", "",
              f"- Cold start (process start → first prediction): best {r['cold_start']['best_s']:.2f} s, "
              "median "
              f"{r['cold_start']['median_s']:.2f} s; that process's peak RSS "
              f"{r['cold_start']['classifier_process_rss_mb']:.0f} MB.",
              f"- `skindoctor serve` RSS: {r['serving']['idle_mb']:.0f} MB idle, "
              f"{r['serving']['after_uploads_mb']:.0f} MB "
              f"after {r['serving']['uploads']} uploads.",
              "- Model files: " + ", ".join(f"{k} {v:.2f} MB" for k, v in r["files_mb"].items()) + ".",
              ]
    acc = r.get("accuracy")
    if acc:
        lines += ["", f"## Accuracy, fp32 vs int8 (test split, {acc['images']} images, each as {acc.get('views', 1)} "
                  "view(s), same run)", "",
                  "| model | accuracy | balanced accuracy |", "|---|---|---|"]
        lines += [f"| {v} | {acc[v]['accuracy']:.4f} | {acc[v]['balanced_accuracy']:.4f} |"
                  for v in ("fp32", "int8") if v in acc]
        if "top1_agreement" in acc:
            lines.append(f"\nint8 top-1 agreement with fp32: {acc['top1_agreement']:.4f}.")
    p = r.get("peer")
    if p and "error" not in p:
        ours = next(x for x in r["model_latency"] if x["engine"] == "onnxruntime int8" and x["threads"] == 1
                    and x["opt"] == "all")
        lines += ["", "## Beside the peer: sklesion", "",
                  f"`{p['name']}`, run in its own virtual environment by `bench/sklesion_peer.py` in this same run.",
                  "",
                  "| | skindoctor (int8 ONNX) | sklesion |", "|---|---|---|",
                  f"| model file | {r['files_mb']['int8']:.1f} MB | {p['file_mb']:.1f} MB |",
                  f"| input | {r['input_size']} px | {p['input_px']} px + age/sex/site |",
                  f"| model latency p50 | {ours['p50_ms']:.2f} ms | {p['model_call_p50_ms']:.1f} ms (Keras call) |",
                  f"| photo → probabilities p50 | {r['frame_latency']['total']['p50_ms']:.2f} ms (640×480 frame, "
                  f"whole chain) | {p['predict_p50_ms']:.1f} ms (`predict_P`) |",
                  f"| cold start | {r['cold_start']['best_s']:.2f} s | {p['cold_start_s']:.2f} s |",
                  f"| peak memory | {r['cold_start']['classifier_process_rss_mb']:.0f} MB | "
                  f"{p['peak_rss_mb']:.0f} MB |"]
        if p.get("our_test_split"):
            q = p["our_test_split"]
            lines += ["", f"sklesion on {q['images']} of our test images: accuracy {q['accuracy']:.3f}, balanced "
                          f"accuracy {q['balanced_accuracy']:.3f} — **not a fair comparison**: sklesion was trained on "
                          "HAM10000 images and has very likely seen these lesions."]
    elif p:
        lines += ["", "## Beside the peer: sklesion", "", f"The sklesion run failed: `{p['error'].strip()[-300:]}`"]
    else:
        lines += ["", "## Beside the peer: sklesion", "", "Not measured: it needs a photo and its own virtual "
                  "environment (`bench/.venv-sklesion`, see `bench/sklesion_peer.py`)."]
    lines += ["", "![latency](benchmarks.png)", "", "<details><summary>raw results</summary>", "", "```json",
              json.dumps(r, indent=1), "```", "</details>"]
    out.write_text("\n".join(lines) + "\n")
    fig, ax = plt.subplots(figsize=(8, 4))
    labels = [f"{x['engine']}\n{x['threads']}t {x['opt']}" for x in r["model_latency"]]
    ax.barh(labels, [x["p50_ms"] for x in r["model_latency"]], color="#0b5d7a")
    ax.set_xlabel("p50 latency (ms), batch 1")
    ax.invert_yaxis()
    ax.tick_params(axis="y", labelsize=7)
    fig.tight_layout()
    fig.savefig(out.with_suffix(".png"), dpi=110)
    plt.close(fig)
