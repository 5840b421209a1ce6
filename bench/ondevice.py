"""The page's on-device mode in headless Chromium on this machine → docs/ondevice.md.

1. Parity: test-split photos of each domain (by lesion, ``models/split.csv``; never used to train or choose)
   through the browser's pipeline (onnxruntime-web + ondevice/*.js) and through the Python runtime: the same
   answer (class, or why none), top-1 agreement where both classify, the largest probability difference.
2. Live: a phone-sized page on the fake camera (a test-split mole in camera-like frames, steady from the first
   frame), the server stopped after the first visit: analysed frames per second in the browser, milliseconds per
   frame (and the bare model's), seconds from "start camera" to the result card (the hold is 3 s of that).

    python bench/ondevice.py [--photos 150,100,50] [--out docs/ondevice.md]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import sys
from pathlib import Path

from playwright.sync_api import sync_playwright

import skindoctor
from skindoctor.config import get_settings
from skindoctor.dev.clips import Segment, write_y4m
from skindoctor.dev.ondevice import CHROMIUM, FLAGS, live_run, photo_parity, split_photos
from skindoctor.web import browser_runtime
from skindoctor.web.app import create_app

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
from tests.lesions import Key, steady_lesions  # noqa: E402  (the lesion the browser tests show the camera)
from tests.server import LiveServer  # noqa: E402  (the tests' real uvicorn server on 127.0.0.1)

PHONE = {"viewport": {"width": 390, "height": 844}, "device_scale_factor": 2, "is_mobile": True, "has_touch": True}


def cpu_name() -> str:
    for line in Path("/proc/cpuinfo").read_text().splitlines() if Path("/proc/cpuinfo").is_file() else []:
        if line.startswith("model name"):
            return line.split(":", 1)[1].strip()
    return platform.processor() or "CPU"


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--data", default=str(ROOT.parent / "shared" / "data"))
    p.add_argument("--photos", default="150,100,50", help="dermoscopic,phone,nonlesion test photos")
    p.add_argument("--out", default="docs/ondevice.md")
    p.add_argument("--model-dir", default=str(ROOT / "models"))
    args = p.parse_args()
    if not browser_runtime.installed():
        raise SystemExit("onnxruntime-web is missing: skindoctor fetch-browser-runtime")
    settings = get_settings(model_dir=Path(args.model_dir), llm_provider="none")
    pipeline = skindoctor.load(settings=settings)
    counts = dict(zip(("dermoscopic", "phone", "nonlesion"), map(int, args.photos.split(","))))
    photos = split_photos(Path(args.data), Path(args.model_dir) / "split.csv", counts)
    mole = steady_lesions(Key(pipeline), Key(photos), ("nv",))["nv"]
    (ROOT / "runs").mkdir(exist_ok=True)
    clip = write_y4m([Segment(mole, 12.0, motion=6)], ROOT / "runs" / "ondevice-nv.y4m")
    camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={clip}"]
    with sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS + camera)
        server = LiveServer(create_app(settings)).__enter__()
        parity = photo_parity(browser.new_page(service_workers="block"), server.url, photos, pipeline)
        page = browser.new_context(**PHONE).new_page()
        page.goto(server.url + "/?lang=en")
        page.evaluate("() => navigator.serviceWorker.ready.then(() => true)")
        online = live_run(page, server.url + "/?lang=en")
        server.__exit__()
        offline = {lang: live_run(page, f"{server.url}/?lang={lang}") for lang in ("en", "ko")}
        browser.close()
    results = {"machine": f"{platform.machine()} {cpu_name()}, {os.cpu_count()} cores, headless Chromium",
               "localizer": pipeline.localizer.name, "parity": parity, "live_online": online, "live_offline": offline}
    Path(args.out).with_suffix(".json").write_text(json.dumps(results, indent=2))
    Path(args.out).write_text(report(results))
    print(json.dumps({k: v for k, v in parity.items() if k != "disagreements"}, indent=1))
    print(json.dumps(offline, indent=1))


def report(r: dict) -> str:
    pa = r["parity"]
    lines = ["# On-device mode: parity and speed in the browser", "",
             f"Made by `python bench/ondevice.py` on {r['machine']}. The figures below are this machine's; "
             "a phone's differ (see docs/guide.md, \"On the phone\").", "",
             "## Parity with the Python runtime", "",
             f"{pa['photos']} test-split photos ({', '.join(f'{n} {d}' for d, n in pa['per_domain'].items())}), "
             "each decoded by the browser and by Pillow, then through each side's quality gate, "
             f"{r['localizer']} localiser, crop and int8 model (onnxruntime-web WebAssembly vs ONNX Runtime).", "",
             "| measure | value |", "|---|---|",
             f"| same answer (class, or why none) | {pa['outcome_agreement']:.3f} |",
             f"| same outcome (a doctor, routine care, or no answer) | {pa['group_agreement']:.3f} |",
             f"| classified by both | {pa['classified_by_both']} |",
             f"| top-1 agreement where both classify | {pa['top1_agreement']:.3f} |",
             f"| largest probability difference | {pa['max_prob_diff']:.4f} |",
             f"| mean of each photo's largest difference | {pa['mean_max_prob_diff']:.4f} |",
             f"| lesion box IoU, browser vs Python (mean) | {pa['box_iou_mean']:.3f} |",
             f"| browser ms per photo (whole path / model only) | {pa['browser_ms_per_photo']:.1f} / "
             f"{pa['browser_model_ms_per_photo']:.1f} |", ""]
    if pa["disagreements"]:
        lines += ["Where the lesion boxes are the same, what is left of a difference comes from decoding and resizing "
                  "(a few pixels off by one) and from the two runtimes' int8 kernels (WebAssembly SIMD against x86).",
                  "", "Disagreements:", ""] + [f"- {d['image']} ({d['domain']}): Python {d['python']}, browser "
                                            f"{d['browser']} (outcome: {d['python_group']} / {d['browser_group']})"
                                            for d in pa["disagreements"]] + [""]
    lines += ["## Live, on the fake camera, phone viewport (390×844)", "",
              "| run | card shown | seconds to card | analysed fps | ms per frame | bare model ms |",
              "|---|---|---|---|---|---|"]
    runs = [("server up (first visit)", r["live_online"])] + [(f"server stopped, {lang}", v)
                                                               for lang, v in r["live_offline"].items()]
    for name, v in runs:
        lines.append(f"| {name} | {'yes' if v['confirmed'] else 'no'} | {v['seconds_to_card']:.1f} | {v['fps']:.1f} | "
                     f"{v['ms_per_frame']:.1f} | {v['model_ms_per_frame']:.1f} |")
    lines += ["", "Frames are analysed at most 15 times a second (the server's live rate), so 15 fps is the ceiling. "
              "Seconds to card count from pressing \"start camera\" with the lesion in view from the first frame; "
              "the 3-second hold is part of them.", ""]
    return "\n".join(lines)


if __name__ == "__main__":
    main()
