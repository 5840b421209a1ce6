"""End to end in real headless Chromium with a fake camera playing a clip made from a real lesion photo."""

import os
import shutil
import time

import pytest

from skindoctor.config import get_settings
from skindoctor.stream.clips import Segment, write_y4m
from skindoctor.web.app import create_app

from .conftest import MODELS, ROOT, needs_ham
from .server import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser, needs_ham,
    pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="Debian chromium is not installed (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]


@pytest.fixture(scope="module")
def clip(tmp_path_factory, classifier, test_split_samples):
    from skindoctor.stream.pipeline import Pipeline

    from .lesions import Key, steady_lesions

    lesion = steady_lesions(Key(Pipeline(classifier)), Key(test_split_samples), ("nv", "bkl"))["nv"]
    return write_y4m([Segment(lesion, 6.0, motion=6)], tmp_path_factory.mktemp("cam") / "lesion.y4m")


@pytest.fixture(scope="module")
def server():
    with LiveServer(create_app(get_settings(model_dir=MODELS, llm_provider="none"))) as s:
        yield s


@pytest.fixture(scope="module")
def pw():
    with playwright_api.sync_playwright() as p:
        yield p


@pytest.fixture(scope="module")
def browser(pw, clip):
    b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS + [
        "--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
        f"--use-file-for-fake-video-capture={clip}"])
    yield b
    b.close()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def test_live_page_confirms_the_lesion(server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 1100})
    page.goto(server.url + "/?lang=en")
    assert "not a medical device" in page.inner_text(".disclaimer")
    page.click("#start-camera")
    progress, start = [], time.monotonic()
    while time.monotonic() - start < 20 and page.is_hidden("#result"):
        progress.append(int(page.get_attribute("#hold", "aria-valuenow")))
        if progress[-1] > 30 and not (ARTIFACTS / "live-holding.png").exists():
            shot(page, "live-holding")
        time.sleep(0.2)
    assert page.is_visible("#result"), f"no result; status: {page.inner_text('#status')}"
    assert time.monotonic() - start >= 3.0
    assert max(progress) > 30 and any(b > a for a, b in zip(progress, progress[1:]))
    assert page.inner_text("#result-name") == "Melanocytic nevus (mole)"
    assert page.inner_text("#banner").strip()
    assert "knowledge base" in page.inner_text("#result-source")
    shot(page, "live-result")
    page.click("#start-over")
    assert page.is_hidden("#result")
    page.close()


def test_kiosk_is_hands_free_korean_and_resets(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(server.url + "/kiosk?lang=ko&reset=5")
    page.wait_for_selector("#result:not([hidden])", timeout=25_000)
    assert page.inner_text("#result-name") == "멜라닌세포 모반 (점)"
    assert "의료기기" in page.inner_text(".disclaimer")
    assert page.is_hidden("#start-camera")  # nothing to press
    shot(page, "kiosk-result-ko")
    page.wait_for_selector("#result", state="hidden", timeout=12_000)
    shot(page, "kiosk-after-reset")
    page.close()


def test_upload_when_the_camera_is_denied(server, pw, test_split_samples):
    sample = next(s for s in test_split_samples if s.label == "bkl")
    b = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS + ["--deny-permission-prompts"])
    page = b.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)  # a phone
    page.goto(server.url + "/?lang=en")
    page.click("#start-camera")
    deadline = time.monotonic() + 10  # (wait_for_function would need eval, which our CSP forbids)
    while "upload" not in page.inner_text("#status") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert "upload" in page.inner_text("#status")
    page.set_input_files("#upload", str(sample.path))
    page.wait_for_selector("#result:not([hidden])", timeout=15_000)
    assert page.inner_text("#result-name")
    assert page.inner_text("#result-care")
    shot(page, "phone-upload-result")
    b.close()


def test_controls_are_labelled_keyboard_operable_and_readable(server, browser):
    page = browser.new_page()
    page.goto(server.url + "/")
    names = page.eval_on_selector_all("button, label.button, input",
                                      "els => els.map(e => (e.innerText || e.labels?.[0]?.innerText || "
                                      "e.getAttribute('aria-label') || '').trim())")
    assert all(names), names
    focused = []
    for _ in range(5):
        page.keyboard.press("Tab")
        focused.append(page.evaluate("document.activeElement.id || document.activeElement.tagName"))
    assert {"lang-en", "lang-ko", "start-camera", "upload"} <= set(focused)
    page.focus("#lang-ko")
    page.keyboard.press("Enter")
    assert page.inner_text("#start-camera") == "카메라 켜기"
    ratio = page.evaluate("""() => {
      const lum = c => { const v = c.match(/\\d+/g).slice(0, 3).map(x => { x /= 255;
        return x <= 0.03928 ? x / 12.92 : ((x + 0.055) / 1.055) ** 2.4; });
        return 0.2126 * v[0] + 0.7152 * v[1] + 0.0722 * v[2]; };
      const el = document.getElementById('start-camera'); const s = getComputedStyle(el);
      const [a, b] = [lum(s.color), lum(s.backgroundColor)].sort((x, y) => y - x);
      return (a + 0.05) / (b + 0.05); }""")
    assert ratio >= 4.5
    page.close()
