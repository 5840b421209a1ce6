"""Do a live camera and an upload agree on the same picture? → docs/live_vs_upload.md.

Each test photo is uploaded (``Pipeline.analyse``) and shown still to a 640×480 camera (framed each way of ``FRAMINGS``,
at 15 frames a second through ``Pipeline.process`` with its hold, until a result or the hold's decide time). The
outcome compared is what a person is sent to do: see a doctor (any "see a doctor" urgency, or uncertain), routine
care, or no answer (with the reason). In both modes: the server's Python pipeline, and the page's on-device
engine (ondevice/engine.js in headless Chromium, ``diagnose`` for the upload and ``process`` frame by frame for the
camera, the same 640×480 picture with its own sensor noise).

    python bench/live_vs_upload.py [--data ../shared/data] [--per-domain 100] [--modes server device]
        [--framings fill whole screen]
"""

from __future__ import annotations

import argparse
import sys
from collections import Counter
from pathlib import Path

import cv2
import numpy as np

import skindoctor
from skindoctor.advice.knowledge import load_knowledge
from skindoctor.advice.triage import triage
from skindoctor.config import get_settings
from skindoctor.dev.clips import FRAMINGS, shown_to_camera
from skindoctor.dev.ondevice import CANVAS_OF_JS, CHROMIUM, ENGINE_OF_JS, FLAGS, split_photos
from skindoctor.vision.image_io import read_image

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.server import LiveServer  # noqa: E402  (the tests' real uvicorn server on 127.0.0.1)

PREFIX = "/__live_vs_upload/"

CAMERA = (640, 480)
RATE = 15.0
NOISE = 2.0  # a camera's sensor noise, in 8-bit levels (as dev/clips.py renders frames)


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


ENGINE_JS = """async ({ lang }) => {
  const engineOf = ENGINE_OF;
  window.engine = await engineOf(lang);
}""".replace("ENGINE_OF", ENGINE_OF_JS)
# one photo: uploaded (engine.diagnose), then its camera picture at RATE frames a second (engine.process) until a
# result, the hold's "no result yet", or the last frame; each frame gets its own sensor noise (a window, at a random
# shift, of one Gaussian field drawn from a generator seeded with the photo's index), floored as numpy's astype does
PHOTO_JS = """async ({ i, frames, rate, noise, prefix }) => {
  const engine = window.engine, canvasOf = CANVAS_OF, shifts = 1 << 16;
  let state = (i + 1) * 0x9e3779b9;
  const random = () => {  // mulberry32
    state = (state + 0x6d2b79f5) | 0;
    let t = Math.imul(state ^ (state >>> 15), 1 | state);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
  const group = (advice) => (advice.see_a_doctor || advice.uncertain ? 'see a doctor' : 'routine');
  const up = await engine.diagnose(await canvasOf(prefix + 'photo/' + i), 'en');
  const upload = up.advice ? group(up.advice) : 'no answer: ' + up.quality.reason;
  const camera = await canvasOf(prefix + 'frame/' + i);
  const clean = camera.getContext('2d', { willReadFrequently: true }).getImageData(0, 0, camera.width, camera.height);
  const field = new Float32Array(clean.data.length + shifts);
  for (let j = 0; j < field.length; j++) {
    field[j] = noise * Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  }
  const shown = document.createElement('canvas');
  shown.width = camera.width; shown.height = camera.height;
  const ctx = shown.getContext('2d', { willReadFrequently: true });
  engine.reset();
  let live = null, last = null;
  for (let k = 0; k < frames && !live; k++) {
    const frame = new ImageData(clean.width, clean.height), at = Math.floor(random() * shifts);
    for (let j = 0; j < frame.data.length; j++) {
      frame.data[j] = (j & 3) === 3 ? 255 : Math.floor(clean.data[j] + field[at + j]);
    }
    ctx.putImageData(frame, 0, 0);
    last = await engine.process(shown, k / rate, 'en');
    if (last.diagnosis) live = group(last.diagnosis.advice);
    else if (last.hold.undecided) live = 'no answer: undecided, ' + last.hold.undecided.reason;
  }
  return { upload, live: live || 'no answer: ' + last.quality.reason };
}""".replace("CANVAS_OF", CANVAS_OF_JS)


def on_device(samples, seconds: float, framing: str) -> list[tuple[str, str, str]]:
    """(domain, upload, live) per photo through the page's own engine in headless Chromium."""
    from playwright.sync_api import sync_playwright

    from skindoctor.web.app import create_app

    photos = [Path(s.path).read_bytes() for s in samples]
    frames = [cv2.imencode(".png", cv2.cvtColor(shown_to_camera(read_image(s.path), framing=framing),
                                                       cv2.COLOR_RGB2BGR))[1].tobytes()
              for s in samples]

    def serve(route):
        kind, i = route.request.url.rsplit("/", 2)[1:]
        route.fulfill(body=(photos if kind == "photo" else frames)[int(i)], content_type="application/octet-stream")

    rows = []
    with sync_playwright() as pw, LiveServer(create_app(get_settings(llm_provider="none"))) as server:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        try:
            page = browser.new_page(service_workers="block")  # the route must see the page's requests
            page.route(f"{server.url}{PREFIX}**", serve)
            page.goto(server.url + "/?run=server")
            page.evaluate(ENGINE_JS, {"lang": "en"})
            for i, s in enumerate(samples):
                r = page.evaluate(PHOTO_JS, {"i": i, "frames": int(seconds * RATE) + 1, "rate": RATE, "noise": NOISE,
                                             "prefix": PREFIX})
                rows.append((s.domain, r["upload"], r["live"]))
        finally:
            browser.close()
    return rows


def table(mode: str, framing: str, rows: list[tuple[str, str, str]]) -> list[str]:
    lines = []
    for domain in sorted({d for d, _, _ in rows}):
        part = [(u, v) for d, u, v in rows if d == domain]
        same = np.mean([(u == v) or (u.startswith("no answer") and v.startswith("no answer")) for u, v in part])
        no_answer = np.mean([v.startswith("no answer") for _, v in part])
        lost = sum(v in ("no answer: undecided, lost", "no answer: undecided, no_lesion") for _, v in part)
        lines.append(f"| {mode} | {framing} | {domain} | {len(part)} | {same:.0%} | {no_answer:.0%} | {lost} |")
    return lines


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--split", default="models/split.csv")
    ap.add_argument("--per-domain", type=int, default=100)
    ap.add_argument("--out", default="docs/live_vs_upload.md")
    ap.add_argument("--modes", nargs="+", choices=("server", "device"), default=["server", "device"])
    ap.add_argument("--framings", nargs="+", choices=tuple(FRAMINGS), default=list(FRAMINGS))
    args = ap.parse_args()
    pipeline = skindoctor.load()
    seconds = pipeline.confirmer.decide_within + 1.0
    counts = {"dermoscopic": args.per_domain, "phone": args.per_domain}
    samples = split_photos(Path(args.data), Path(args.split), counts)
    results = {}
    if "server" in args.modes:
        photos = [read_image(s.path) for s in samples]
        uploads = [upload(pipeline, photo) for photo in photos]
        for framing in args.framings:
            results["server", framing] = [
                (s.domain, u, live(pipeline, shown_to_camera(photo, framing=framing), seconds, i))
                for i, (s, photo, u) in enumerate(zip(samples, photos, uploads))]
    if "device" in args.modes:
        for framing in args.framings:
            results["device", framing] = on_device(samples, seconds, framing)
    lines = ["# Live camera and upload on the same picture", "",
             f"`python bench/live_vs_upload.py --per-domain {args.per_domain}`: test-split photos uploaded, and shown "
             f"still to a {CAMERA[0]}×{CAMERA[1]} camera (each frame with sensor noise, σ = {NOISE:.0f} levels) at "
             f"{RATE:.0f} frames a second with the {pipeline.confirmer.hold_seconds:.0f}-second hold, in each mode: "
             "the server's Python pipeline, and the page's on-device engine in headless Chromium. Same outcome: both "
             "send the person to a doctor, both say routine care, or both give no answer.", "",
             "How the photo sits in the camera's view:", "",
             *(f"- *{name}*: {what}" for name, what in FRAMINGS.items() if name in args.framings), "",
             "| mode | framing | photos | n | same outcome | live gave no answer "
             "| live told the spot is found only now and then |",
             "|---|---|---|---|---|---|---|"]
    for (mode, framing), rows in results.items():
        lines += table(mode, framing, rows)
    for (mode, framing), rows in results.items():
        differ = Counter((u, v) for _, u, v in rows if u != v).most_common()
        lines += ["", f"Where they differ, {mode}, {framing} (upload → live): "
                  + ("; ".join(f"{k[0]} → {k[1]} ×{n}" for k, n in differ) if differ else "nowhere") + "."]
    Path(args.out).write_text("\n".join(lines) + "\n")
    print("\n".join(lines))


if __name__ == "__main__":
    main()
