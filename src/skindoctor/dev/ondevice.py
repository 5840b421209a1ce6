"""Checks of the page's on-device mode in headless Chromium, shared by its tests and ``bench/ondevice.py``.

``photo_parity``: the browser's answers (ondevice/engine.js) against the Python runtime's for the same photo files.
``live_run``: the page with a fake camera confirms a lesion on its own; frames per second and time to the card.
"""

from __future__ import annotations

import csv
import random
import time
from pathlib import Path

import numpy as np

from ..analysis import Analysis
from ..vision.image_io import read_image
from ..vision.localize import Box

PHOTO_PATH = "/__parity/"
CHROMIUM = "/usr/bin/chromium"  # Debian's build (Playwright downloads no browser here)
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
# a fetched image file drawn on a canvas, as the page draws an upload (no colour conversion, EXIF orientation)
CANVAS_OF_JS = """async (url) => {
    const blob = await (await fetch(url)).blob();
    const bitmap = await createImageBitmap(blob, { colorSpaceConversion: 'none', imageOrientation: 'from-image' });
    const canvas = document.createElement('canvas');
    canvas.width = bitmap.width; canvas.height = bitmap.height;
    canvas.getContext('2d').drawImage(bitmap, 0, 0);
    return canvas;
  }"""
# the page's engine, built from the server's spec and the messages of ``lang`` (English too, the fallback)
ENGINE_OF_JS = """async (lang) => {
    const { Engine } = await import('/static/ondevice/engine.js');
    const bundle = await (await fetch('/api/v1/ondevice')).json();
    const tables = { [lang]: await (await fetch('/api/v1/messages/' + lang)).json() };
    if (lang !== 'en') tables.en = await (await fetch('/api/v1/messages/en')).json();
    return Engine.create(bundle, tables);
  }"""
ENGINE_JS = """async ({ n, prefix, lang }) => {
  const engineOf = ENGINE_OF, canvasOf = CANVAS_OF;
  const engine = await engineOf(lang);
  const out = [];
  const started = performance.now();
  for (let i = 0; i < n; i++) {
    const r = await engine.diagnose(await canvasOf(prefix + i), lang);
    out.push({ reason: r.quality.reason, top: r.top_class, probabilities: r.probabilities, box: r.box,
               urgency: r.urgency, see_doctor: r.advice ? r.advice.see_a_doctor || r.advice.uncertain : null });
  }
  return { answers: out, ms: performance.now() - started, model_ms: engine.stats.modelMs };
}""".replace("ENGINE_OF", ENGINE_OF_JS).replace("CANVAS_OF", CANVAS_OF_JS)


def split_photos(data: Path, split: Path, counts: dict[str, int], part: str = "test") -> list:
    """``counts[domain]`` photos of each domain from one part of a split file, drawn with a fixed seed."""
    from ..train.collection import read_collection

    with split.open(newline="") as f:
        names = {row["image"] for row in csv.DictReader(f) if row["split"] == part}
    samples = [s for s in read_collection(data) if Path(s.path).name in names]
    rng, chosen = random.Random(0), []
    for domain, n in counts.items():
        of_domain = [s for s in samples if s.domain == domain]
        chosen += rng.sample(of_domain, min(n, len(of_domain)))
    return chosen


def outcome(analysis: Analysis) -> str:
    """What the person is told: the top class, or why there is no answer."""
    return analysis.prediction.top_class if analysis.prediction else analysis.quality.reason


def advice_group(analysis: Analysis, advisor) -> str:
    """Where the person is sent: to a doctor (any such urgency, or uncertain), routine care, or no answer."""
    p = analysis.prediction
    if p is None:
        return "no answer"
    advice = advisor.knowledge_advice(p.probs, "en", p.not_lesion)[0]
    return "see a doctor" if advice.see_a_doctor or advice.uncertain else "routine"


def photo_parity(page, base_url: str, samples, pipeline, lang: str = "en") -> dict:
    """Run ``samples`` (with ``.path`` and ``.domain``) through Python and through the page's engine; ``page`` must
    not use a service worker (its requests would bypass the route that hands it the photos)."""
    files = [Path(s.path).read_bytes() for s in samples]
    page.route(f"{base_url}{PHOTO_PATH}*", lambda route: route.fulfill(
        body=files[int(route.request.url.rsplit("/", 1)[1])], content_type="application/octet-stream"))
    page.goto(base_url + "/?run=server")
    browser = page.evaluate(ENGINE_JS, {"n": len(samples), "prefix": PHOTO_PATH, "lang": lang})
    rows, diffs, ious = [], [], []
    for s, js in zip(samples, browser["answers"]):
        py = pipeline.analyse(read_image(s.path))
        row = {"image": Path(s.path).name, "domain": s.domain, "python": outcome(py),
               "browser": js["top"] or js["reason"], "python_group": advice_group(py, pipeline.advisor),
               "browser_group": "no answer" if js["see_doctor"] is None else
               "see a doctor" if js["see_doctor"] else "routine"}
        if py.prediction is not None and js["probabilities"]:
            diff = np.abs(py.prediction.probs - np.array([js["probabilities"][c] for c in py.prediction.classes]))
            row["max_prob_diff"] = float(diff.max())
            diffs.append(row["max_prob_diff"])
        if py.box is not None and js["box"]:
            ious.append(py.box.iou(Box(*js["box"])))
        rows.append(row)
    both = [r for r in rows if "max_prob_diff" in r]
    domains = sorted({r["domain"] for r in rows})
    return {
        "photos": len(rows), "per_domain": {d: sum(r["domain"] == d for r in rows) for d in domains},
        "outcome_agreement": sum(r["python"] == r["browser"] for r in rows) / len(rows),
        "group_agreement": sum(r["python_group"] == r["browser_group"] for r in rows) / len(rows),
        "classified_by_both": len(both),
        "top1_agreement": sum(r["python"] == r["browser"] for r in both) / max(1, len(both)),
        "max_prob_diff": max(diffs, default=0.0), "mean_max_prob_diff": float(np.mean(diffs)) if diffs else 0.0,
        "box_iou_mean": float(np.mean(ious)) if ious else None,
        "browser_ms_per_photo": browser["ms"] / len(rows),
        "browser_model_ms_per_photo": browser["model_ms"] / len(rows),
        "disagreements": [r for r in rows if r["python"] != r["browser"] or r["python_group"] != r["browser_group"]],
    }


def live_run(page, url: str, seconds: float = 25.0) -> dict:
    """Open ``url`` (a page on the fake camera), start the camera, wait for the result card; timings and the
    engine's frame count. The page must be in on-device mode (it is by default)."""
    page.goto(url)
    page.wait_for_selector("#run-mode.device", timeout=30_000)
    deadline = time.monotonic() + 30  # the model is ready when "preparing…" leaves the status line
    while page.inner_text("#status") and time.monotonic() < deadline:
        time.sleep(0.05)
    page.click("#start-camera")
    start = time.monotonic()
    first_frame = None
    while time.monotonic() - start < seconds and page.is_hidden("#result"):
        if first_frame is None and page.get_attribute("#hold", "aria-valuenow") not in (None, "0"):
            first_frame = time.monotonic() - start
        time.sleep(0.05)
    elapsed = time.monotonic() - start
    stats = page.evaluate("() => window.skindoctorEngineStats()")
    return {"confirmed": page.is_visible("#result"), "seconds_to_card": elapsed, "seconds_to_hold_start": first_frame,
            "frames": stats["frames"] if stats else None,
            "fps": stats["frames"] / elapsed if stats else None,
            "ms_per_frame": stats["ms"] / stats["frames"] if stats and stats["frames"] else None,
            "model_ms_per_frame": stats["modelMs"] / stats["frames"] if stats and stats["frames"] else None}
