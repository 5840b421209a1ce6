"""Do a live camera and an upload agree on the same picture? → docs/live_vs_upload.md.

Each test photo is uploaded (``Pipeline.analyse``) and shown still to a 640×480 camera (the photo filling the view,
at 15 frames a second through ``Pipeline.process`` with its hold, until a result or the hold's decide time). The
outcome compared is what a person is sent to do: see a doctor (any "see a doctor" urgency, or uncertain), routine
care, or no answer (with the reason). Server mode, in Python; the browser's engine is compared with Python
photo by photo in ``bench/ondevice.py``.

    python bench/live_vs_upload.py [--data ../shared/data] [--per-domain 100]
"""

from __future__ import annotations

import argparse
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

import skindoctor
from skindoctor.advice.knowledge import load_knowledge
from skindoctor.advice.triage import triage
from skindoctor.dev.ondevice import split_photos
from skindoctor.vision.image_io import read_image

CAMERA = (640, 480)
RATE = 15.0
NOISE = 2.0  # a camera's sensor noise, in 8-bit levels (as dev/clips.py renders frames)


def shown_to_camera(photo: np.ndarray, size=CAMERA) -> np.ndarray:
    """The photo filling a camera's view (scaled to cover it, centred)."""
    w, h = size
    f = max(w / photo.shape[1], h / photo.shape[0])
    big = cv2.resize(photo, (round(photo.shape[1] * f), round(photo.shape[0] * f)), interpolation=cv2.INTER_LINEAR)
    y0, x0 = (big.shape[0] - h) // 2, (big.shape[1] - w) // 2
    return np.ascontiguousarray(big[y0:y0 + h, x0:x0 + w])


def group(pipeline, probs: np.ndarray, not_lesion: float) -> str:
    advisor = pipeline.advisor
    t = triage(probs, advisor.classes, load_knowledge("en"), advisor.rules, not_lesion)
    return "see a doctor" if t.see_doctor else "routine"


def upload(pipeline, photo: np.ndarray) -> str:
    a = pipeline.analyse(photo)
    if a.prediction is None:
        return f"no answer: {a.quality.reason}"
    return group(pipeline, a.prediction.probs, a.prediction.not_lesion)


def live(pipeline, frame: np.ndarray, seconds: float, seed: int) -> str:
    """The outcome of a camera held still on ``frame`` (each frame with its own sensor noise, as clips.render adds):
    the result, the reason the page gave for having none (``undecided``), or the gate's answer to every frame."""
    stream, rng = pipeline.fresh(), np.random.default_rng(seed)
    for k in range(int(seconds * RATE) + 1):
        noisy = np.clip(frame + rng.normal(0, NOISE, frame.shape), 0, 255).astype(np.uint8)
        r = stream.process(noisy, k / RATE)
        if r.confirmation is not None:
            return group(pipeline, r.confirmation.probs, r.confirmation.not_lesion)
        if r.hold.undecided:
            return f"no answer: undecided, {r.hold.undecided}"
    return f"no answer: {r.analysis.quality.reason}"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--split", default="models/split.csv")
    ap.add_argument("--per-domain", type=int, default=100)
    ap.add_argument("--out", default="docs/live_vs_upload.md")
    args = ap.parse_args()
    pipeline = skindoctor.load()
    seconds = pipeline.confirmer.decide_within + 1.0
    counts = {"dermoscopic": args.per_domain, "phone": args.per_domain}
    samples = split_photos(Path(args.data), Path(args.split), counts)
    rows = []
    for i, s in enumerate(samples):
        photo = read_image(s.path)
        rows.append((s.domain, upload(pipeline, photo), live(pipeline, shown_to_camera(photo), seconds, i)))
    lines = ["# Live camera and upload on the same picture", "",
             f"`python bench/live_vs_upload.py --per-domain {args.per_domain}`: test-split photos uploaded, and shown "
             f"still to a {CAMERA[0]}×{CAMERA[1]} camera (each frame with sensor noise, σ = {NOISE:.0f} levels) at "
             f"{RATE:.0f} frames a second with the "
             f"{pipeline.confirmer.hold_seconds:.0f}-second hold (server mode). Same outcome: both send the person to "
             "a doctor, both say routine care, or both give no answer.", "",
             "| photos | n | same outcome | live gave no answer | live told the spot is found only now and then |",
             "|---|---|---|---|---|"]
    for domain in sorted({d for d, _, _ in rows}):
        part = [(u, v) for d, u, v in rows if d == domain]
        same = np.mean([(u == v) or (u.startswith("no answer") and v.startswith("no answer")) for u, v in part])
        no_answer = np.mean([v.startswith("no answer") for _, v in part])
        lost = sum(v in ("no answer: undecided, lost", "no answer: undecided, no_lesion") for _, v in part)
        lines.append(f"| {domain} | {len(part)} | {same:.0%} | {no_answer:.0%} | {lost} |")
    lines += ["", "Where they differ (upload → live): " + "; ".join(
        f"{k[0]} → {k[1]} ×{n}" for k, n in Counter((u, v) for _, u, v in rows if u != v).most_common()) + "."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
