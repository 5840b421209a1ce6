"""What each live-path setting costs: CPU share of one core while keeping up with a 30 fps camera → docs/performance.md.

The same camera-like clip (a real test-split lesion photo, hand-held motion, a light change) through the shipped
pipeline, in turns so each setting sees the same machine load: every frame searched by the localiser (the
previous live path) and the steady box (``stream/steady.py``), and OpenCV's thread pool at its default and at one
thread. The bare int8 classifier's latency is printed beside it.

    python bench/live_cpu.py [--image photo.jpg] [--seconds 8] [--rounds 3]
"""

from __future__ import annotations

import argparse
import dataclasses
import tempfile
from pathlib import Path

import cv2
import numpy as np

import skindoctor
from skindoctor.dev.benchmark import default_photo, live_fps, time_interleaved
from skindoctor.dev.clips import Segment, write_video
from skindoctor.model_card import default_models_dir
from skindoctor.stream.pipeline import Pipeline
from skindoctor.stream.steady import SteadySettings
from skindoctor.vision.image_io import read_image

MAX_REUSE = SteadySettings().max_reuse
SETTINGS = {  # name → (OpenCV threads, or None for its default; frames a found box may be kept)
    "every frame searched": (None, 0),
    "steady box (shipped)": (None, MAX_REUSE),
    "every frame searched, OpenCV 1 thread": (1, 0),
    "steady box, OpenCV 1 thread": (1, MAX_REUSE),
}


def bare_model_ms(pipeline, calls: int = 300) -> float:
    x = np.zeros((1, 3, pipeline.classifier.spec.size, pipeline.classifier.spec.size), np.float32)
    timed = time_interleaved({"bare": (lambda: None, lambda: pipeline.classifier.logits(x))}, calls)
    return timed["bare"]["p50_ms"]


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--image", type=Path)
    ap.add_argument("--data", type=Path, default=Path("../shared/data/ham10000"))
    ap.add_argument("--seconds", type=float, default=8.0)
    ap.add_argument("--rounds", type=int, default=3)
    args = ap.parse_args()
    image = args.image or default_photo(default_models_dir(), args.data)
    if image is None:
        raise SystemExit("give --image (no HAM10000 test photo found)")
    lesion = read_image(image)
    default_threads = cv2.getNumThreads()
    shipped = skindoctor.load()
    shares: dict[str, list[float]] = {name: [] for name in SETTINGS}
    with tempfile.TemporaryDirectory() as tmp:
        clip = write_video([Segment(lesion, 2.0), Segment(lesion, 1.0, brightness=0.85), Segment(lesion, 2.0)],
                           Path(tmp) / "clip.avi")
        for _ in range(args.rounds):
            for name, (threads, reuse) in SETTINGS.items():
                cv2.setNumThreads(default_threads if threads is None else threads)
                spec = dataclasses.replace(shipped.spec, steady=SteadySettings(max_reuse=reuse))
                pipeline = Pipeline(shipped.classifier, shipped.localizer, spec, shipped.advisor)
                live = live_fps(pipeline, clip, args.seconds)["realtime_30fps"]
                shares[name].append(live["cpu_of_one_core"])
                print(f"{name}: {live['cpu_of_one_core']:.1%} of a core, {live['fps']:.1f} fps, "
                      f"{live['frames_searched']} of {live['frames_analysed']} frames searched", flush=True)
    print(f"\nphoto {image.name}; bare int8 classifier p50 {bare_model_ms(shipped):.2f} ms (1 thread)")
    for name, values in shares.items():
        print(f"| {name} | {' / '.join(f'{v:.1%}' for v in values)} |")


if __name__ == "__main__":
    main()
