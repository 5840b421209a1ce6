"""How the page frames the lesion with each localiser: Chromium screenshots side by side → docs/img/framing-*.png.

Two servers on 127.0.0.1 (the card's learned localiser, and ``SKINDOCTOR_LOCALIZER=colour``), the same
photos uploaded at a phone viewport and the same fake-camera clip played to the live page; each pair of
screenshots is joined left (learned) | right (colour). Photos: held-out smartphone photos (PAD-UFES-20
test split) and HAM10000 test photos.

    python bench/framing.py [--data ../shared/data] [--photos 4]
"""

from __future__ import annotations

import argparse
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np
from playwright.sync_api import sync_playwright
from tests.server import LiveServer

from skindoctor.config import get_settings
from skindoctor.dev.clips import Segment, write_y4m
from skindoctor.dev.ondevice import CHROMIUM
from skindoctor.train.collection import read_pad_ufes
from skindoctor.train.data import load_rgb, read_ham10000, read_split
from skindoctor.web.app import create_app

FLAGS = ["--no-sandbox", "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream"]


def upload_shot(browser, url: str, photo: Path, out: Path) -> None:
    page = browser.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)
    page.goto(url + "/?lang=en")
    page.set_input_files("#upload", str(photo))
    page.wait_for_selector("#result:not([hidden])", timeout=20_000)
    time.sleep(0.5)
    page.locator(".stage").screenshot(path=str(out))
    page.close()


def live_shot(browser, url: str, out: Path, seconds: float = 2.5) -> None:
    page = browser.new_page(viewport={"width": 900, "height": 900})
    page.goto(url + "/?lang=en")
    page.click("#start-camera")
    time.sleep(seconds)
    page.locator(".stage").screenshot(path=str(out))
    page.close()


def side_by_side(left: Path, right: Path, out: Path) -> None:
    a, b = cv2.imread(str(left)), cv2.imread(str(right))
    h = max(a.shape[0], b.shape[0])
    pad = [cv2.copyMakeBorder(x, 0, h - x.shape[0], 0, 0, cv2.BORDER_CONSTANT, value=(255, 255, 255)) for x in (a, b)]
    gap = np.full((h, 12, 3), 255, np.uint8)
    cv2.imwrite(str(out), np.concatenate([pad[0], gap, pad[1]], axis=1))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data")
    ap.add_argument("--split", default="models/split.csv")
    ap.add_argument("--photos", type=int, default=4, help="photos per domain")
    ap.add_argument("--out", default="docs/img")
    args = ap.parse_args()
    data, out = Path(args.data), Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    phone = read_pad_ufes(data / "pad_ufes_20_partial")
    ham = read_ham10000(data / "ham10000")
    split = read_split(phone, args.split) | read_split(ham, args.split)
    rng = np.random.default_rng(0)
    picks = []
    for name, samples in (("phone", phone), ("ham", ham)):
        test = [s for s in samples if split[str(s.path)] == "test"]
        picks += [(f"{name}{i}", test[j].path) for i, j in enumerate(rng.choice(len(test), args.photos, replace=False))]
    work = Path(tempfile.mkdtemp())
    first = load_rgb(picks[0][1])
    clip = write_y4m([Segment(first, 4.0, scale=420 / first.shape[1], motion=4)], work / "phone.y4m")
    apps = {k: create_app(get_settings(llm_provider="none", localizer=k)) for k in ("learned", "colour")}
    with LiveServer(apps["learned"]) as learned, LiveServer(apps["colour"]) as colour, sync_playwright() as pw:
        for name, photo in picks:
            shots = []
            for key, server in (("learned", learned), ("colour", colour)):
                browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
                upload_shot(browser, server.url, photo, work / f"{name}-{key}.png")
                browser.close()
                shots.append(work / f"{name}-{key}.png")
            side_by_side(*shots, out / f"framing-upload-{name}.png")
            print("wrote", out / f"framing-upload-{name}.png", photo.name)
        shots = []
        for key, server in (("learned", learned), ("colour", colour)):
            browser = pw.chromium.launch(executable_path=CHROMIUM,
                                         args=FLAGS + [f"--use-file-for-fake-video-capture={clip}"])
            live_shot(browser, server.url, work / f"live-{key}.png")
            browser.close()
            shots.append(work / f"live-{key}.png")
        side_by_side(*shots, out / "framing-live-phone.png")
        print("wrote", out / "framing-live-phone.png")


if __name__ == "__main__":
    main()
