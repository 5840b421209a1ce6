"""End to end in real headless Chromium, with a fake camera playing clips made from real lesion photos."""

import os
import shutil
import time
from contextlib import contextmanager

import pytest

from skindoctor import i18n
from skindoctor.config import get_settings
from skindoctor.dev.clips import Segment, write_y4m
from skindoctor.web.app import create_app

from .conftest import MODELS, ROOT, needs_ham
from .server import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser, needs_ham,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
ARTIFACTS = ROOT / "test-artifacts"
FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", "--no-first-run"]
UI_EN, UI_KO = i18n.table("en")["ui"], i18n.table("ko")["ui"]


@pytest.fixture(scope="module")
def lesions(classifier, test_split_samples):
    from skindoctor.stream.pipeline import Pipeline

    from .lesions import Key, steady_lesions

    pipeline, samples = Key(Pipeline(classifier)), Key(test_split_samples)
    return {**steady_lesions(pipeline, samples, ("nv", "bkl")), **steady_lesions(pipeline, samples, ("mel", "akiec"))}


@pytest.fixture(scope="module")
def clips(tmp_path_factory, lesions):
    folder = tmp_path_factory.mktemp("cam")

    def alternating(a, b, period, seconds):
        return [Segment(lesions[a if i % 2 == 0 else b], period, motion=3) for i in range(int(seconds / period))]

    return {
        "nv": write_y4m([Segment(lesions["nv"], 6.0, motion=6)], folder / "nv.y4m"),
        # melanoma ↔ actinic keratosis every 0.2 s, both "see a doctor"
        "malignant": write_y4m(alternating("mel", "akiec", 0.2, 8.0), folder / "malignant.y4m"),
        # melanoma ↔ mole every 0.4 s: two outcomes, nothing can be confirmed
        "undecidable": write_y4m(alternating("mel", "nv", 0.4, 8.0), folder / "undecidable.y4m"),
    }


@pytest.fixture(scope="module")
def server():
    with LiveServer(create_app(get_settings(model_dir=MODELS, llm_provider="none"))) as s:
        yield s


@pytest.fixture(scope="module")
def pw():
    with playwright_api.sync_playwright() as p:
        yield p


def launch(pw, clip=None, extra=()):
    camera = ["--use-fake-ui-for-media-stream", "--use-fake-device-for-media-stream",
              f"--use-file-for-fake-video-capture={clip}"] if clip else []
    return pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS + camera + list(extra))


@pytest.fixture(scope="module")
def browser(pw, clips):
    b = launch(pw, clips["nv"])
    yield b
    b.close()


def shot(page, name):
    ARTIFACTS.mkdir(exist_ok=True)
    page.screenshot(path=str(ARTIFACTS / f"{name}.png"), full_page=True)


def wait_text(page, selector, predicate, seconds):
    """Poll (wait_for_function would need eval, which our CSP forbids)."""
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        if page.is_visible(selector) and predicate(page.inner_text(selector)):
            return True
        time.sleep(0.1)
    return False


def watch_failures(page) -> list[str]:
    failed = []
    page.on("requestfailed", lambda r: failed.append(f"{r.method} {r.url} {r.failure}"))
    page.on("console", lambda m: failed.append(m.text) if m.type == "error" else None)
    return failed


def canvas_ink(page, selector) -> int:
    """How many pixels of a canvas are not blank."""
    return page.eval_on_selector(
        selector,
        """c => { const d = c.getContext('2d').getImageData(0, 0, c.width, c.height).data;
        let n = 0; for (let i = 3; i < d.length; i += 4) n += d[i] > 0; return n; }""")


def no_scrollbar(page) -> bool:
    return page.evaluate("""() => { const e = document.scrollingElement;
        return e.scrollHeight <= innerHeight && e.scrollWidth <= innerWidth; }""")


@pytest.mark.parametrize("run", ["device", "server"])  # the model in the browser, or frames over the WebSocket
def test_live_page_confirms_explains_and_prints(server, browser, run):
    page = browser.new_page(viewport={"width": 900, "height": 1100})
    failures = watch_failures(page)
    page.goto(server.url + f"/?lang=en&run={run}")
    page.wait_for_selector(f"#run-mode{'.device' if run == 'device' else ':not(.device)'}", state="attached")
    assert "not a medical device" in page.inner_text(".disclaimer")
    page.click("#start-camera")
    progress, labels, start = [], [], time.monotonic()
    while time.monotonic() - start < 20 and page.is_hidden("#result"):
        progress.append(int(page.get_attribute("#hold", "aria-valuenow")))
        labels.append(page.inner_text("#live-label"))
        if progress[-1] > 30 and not (ARTIFACTS / "live-holding.png").exists():
            shot(page, "live-holding")
        time.sleep(0.2)
    assert page.is_visible("#result"), f"no result; status: {page.inner_text('#status')}"
    assert time.monotonic() - start >= 3.0
    assert max(progress) > 30 and any(b > a for a, b in zip(progress, progress[1:]))
    assert page.inner_text("#result-name") == "Mole"
    assert "Melanocytic nevus" in page.inner_text("#result-term")
    assert page.inner_text("#status") == UI_EN["confirmed"]  # no more "Hold still — analysing"
    card_pct = page.inner_text("#result-confidence").split(":")[1].split("%")[0].strip()
    assert page.inner_text("#live-label").endswith(f" {card_pct}%")  # live and card agree
    assert page.locator("#result-top3 li").count() == 3
    assert page.locator("#result-reasons li").count() >= 1 and "Mole" in page.inner_text("#result-reasons")
    assert "Academy of Dermatology" in page.text_content("#result-sources")  # inside a closed <details>
    assert "knowledge base" in page.inner_text("#result-source")
    assert page.inner_text("#banner").strip()
    assert canvas_ink(page, "#crop") > 1000  # the analysed crop is shown
    assert page.is_hidden("#heat")
    page.check("#heat-toggle")
    assert page.is_visible("#heat") and canvas_ink(page, "#heat") > 1000
    shot(page, "live-result-heatmap")
    page.emulate_media(media="print")
    assert page.is_hidden("#main") and page.is_visible("#print-summary")
    summary = page.inner_text("#print-summary")
    for label in ("summaryTitle", "date", "result", "urgency", "top3", "why", "model"):
        assert UI_EN[label] in summary
    assert "Melanocytic nevus" in summary and "skindoctor-mnv2" in summary
    assert page.get_attribute("#ps-crop", "src").startswith("data:image/jpeg")
    page.pdf(path=str(ARTIFACTS / "print-summary.pdf"))
    page.emulate_media(media="screen")
    page.click("#start-over")
    assert page.is_hidden("#result")
    assert not [f for f in failures if "/api/" in f], failures
    page.close()


def test_language_switch_changes_every_visible_text(server, browser):
    page = browser.new_page(viewport={"width": 900, "height": 1100})
    page.goto(server.url + "/?lang=en")
    page.click("#start-camera")
    page.wait_for_selector("#result:not([hidden])", timeout=25_000)
    page.click("#lang-ko")
    assert wait_text(page, "#result-description", lambda s: any("\uac00" <= ch <= "\ud7a3" for ch in s), 5)
    visible = page.inner_text("body")
    leftovers = [v for k, v in UI_EN.items() if v != UI_KO[k] and len(v) > 3 and v in visible]
    assert not leftovers, leftovers
    assert page.inner_text("#result-name") == "점" and page.inner_text("#status") == UI_KO["confirmed"]
    assert page.inner_text("#live-label").startswith("점 ")
    shot(page, "live-result-ko")
    page.close()


@contextmanager
def filming(pw, clip, url):
    """A page on ``url`` whose camera plays ``clip``, started."""
    b = launch(pw, clip)
    try:
        page = b.new_page(viewport={"width": 900, "height": 1100})
        page.goto(url)
        page.click("#start-camera")
        yield page
    finally:
        b.close()


def test_alternating_malignant_classes_confirm_see_a_doctor(server, pw, clips):
    with filming(pw, clips["malignant"], server.url + "/?lang=en") as page:
        assert wait_text(page, "#live-label", bool, 15), "the lesion was never framed"
        framed = time.monotonic()
        page.wait_for_selector("#result:not([hidden])", timeout=10_000)
        assert time.monotonic() - framed <= 5.0
        assert "doctor" in page.inner_text("#banner").lower() or "dermatologist" in page.inner_text("#banner").lower()
        candidates = page.inner_text("#result-candidates")
        assert "Melanoma" in candidates and "Actinic keratosis" in candidates
        shot(page, "alternating-malignant-result")


def test_undecidable_clip_says_why_and_what_to_do(server, pw, clips):
    with filming(pw, clips["undecidable"], server.url + "/?lang=en&decide=5") as page:
        assert wait_text(page, "#notice", lambda s: "keeps changing" in s, 15), page.inner_text("#status")
        notice = page.inner_text("#notice")
        assert "see a doctor" in notice and page.is_hidden("#result")
        shot(page, "undecidable-notice")
        page.click("#lang-ko")
        assert wait_text(page, "#notice", lambda s: "의사" in s, 3)


@pytest.mark.parametrize("size", [(1280, 800), (1920, 1080)])
def test_kiosk_fits_the_screen_is_hands_free_and_resets_to_the_top(server, browser, size):
    w, h = size
    for lang, name in (("ko", "점"), ("en", "Mole")):
        page = browser.new_page(viewport={"width": w, "height": h})
        page.goto(server.url + f"/kiosk?lang={lang}&reset=5")
        assert page.is_visible("#attract")  # the attract screen until a lesion shows
        assert no_scrollbar(page)
        page.wait_for_selector("#result:not([hidden])", timeout=25_000)
        assert page.inner_text("#result-name") == name
        assert page.is_hidden("#start-camera")  # nothing to press
        assert no_scrollbar(page), f"kiosk scrolls at {w}×{h} ({lang})"
        assert float(page.eval_on_selector("#reset-countdown", "e => parseFloat(getComputedStyle(e).fontSize)")) >= 30
        shot(page, f"kiosk-result-{lang}-{w}x{h}")
        page.wait_for_selector("#result", state="hidden", timeout=12_000)
        assert page.evaluate("scrollY") == 0 and no_scrollbar(page)
        page.close()


def test_kiosk_asks_for_full_screen_on_the_first_touch(server, browser):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    page.goto(server.url + "/kiosk?lang=en")
    page.mouse.click(640, 400)
    deadline = time.monotonic() + 5
    while not page.evaluate("!!document.fullscreenElement") and time.monotonic() < deadline:
        time.sleep(0.1)
    assert page.evaluate("!!document.fullscreenElement")
    page.close()


@pytest.mark.parametrize("run", ["device", "server"])
def test_upload_shows_the_photo_box_and_crop_with_upload_wording(server, pw, test_split_samples, run):
    sample = next(s for s in test_split_samples if s.label == "bkl")
    b = launch(pw, extra=["--deny-permission-prompts"])
    page = b.new_page(viewport={"width": 390, "height": 844}, is_mobile=True, has_touch=True)  # a phone
    page.goto(server.url + f"/?lang=en&run={run}")
    page.click("#start-camera")
    assert wait_text(page, "#status", lambda s: "upload" in s, 10)
    page.set_input_files("#upload", str(sample.path))
    page.wait_for_selector("#result:not([hidden])", timeout=15_000)
    assert page.is_visible("#photo") and page.is_hidden("#placeholder")
    assert canvas_ink(page, "#overlay") > 100  # the lesion box on the photo
    assert canvas_ink(page, "#crop") > 1000
    assert page.inner_text("#status") == i18n.text("upload.ok", "en")
    assert page.inner_text("#result-name") and page.inner_text("#result-care")
    assert page.locator("#result-top3 li").count() == 3
    shot(page, f"phone-upload-result-{run}")
    page.set_input_files("#upload", files=[{"name": "notes.txt", "mimeType": "text/plain", "buffer": b"hello"}])
    assert wait_text(page, "#status", lambda s: UI_EN["uploadFailed"] in s, 10)
    assert page.is_hidden("#result") and page.is_hidden("#photo")
    b.close()


def test_history_is_opt_in_kept_on_the_device_and_deleted_in_one_tap(server, pw, test_split_samples):
    sample = next(s for s in test_split_samples if s.label == "bkl")
    b = launch(pw, extra=["--deny-permission-prompts"])
    page = b.new_page(viewport={"width": 900, "height": 1100})
    sent = []
    page.on("request", lambda r: sent.append(r.url) if r.method == "POST" else None)
    page.goto(server.url + "/?lang=en")
    assert not page.is_checked("#history-enabled")
    for first in (True, False):
        page.set_input_files("#upload", str(sample.path))
        page.wait_for_selector("#result:not([hidden])", timeout=15_000)
        assert page.is_hidden("#save-block") == first  # off by default
        page.check("#history-enabled")
        page.fill("#spot-name", "left shoulder")
        page.click("#save-result")
        page.click("#start-over")
    page.set_input_files("#upload", str(sample.path))
    page.wait_for_selector("#result:not([hidden])", timeout=15_000)
    page.fill("#spot-name", "left shoulder")
    assert page.locator("#compare-list figure").count() == 2  # earlier results, side by side
    shot(page, "history-compare")
    assert page.locator("#history-list figure").count() == 2
    assert all("/api/v1/diagnose" in u or "/api/v1/advice" in u for u in sent)  # nothing else leaves the page
    page.click("#history-delete")
    assert page.locator("#history-list figure").count() == 0
    assert page.evaluate("localStorage.getItem('skindoctor.history.v1')") is None
    b.close()


def test_api_docs_render_offline_under_our_csp(server, pw):
    b = launch(pw)
    page = b.new_page()
    failures = watch_failures(page)
    page.route("**/*", lambda route: route.continue_() if route.request.url.startswith(server.url) else route.abort())
    page.goto(server.url + "/docs")
    page.wait_for_selector(".opblock", timeout=15_000)
    text = page.inner_text("body")
    assert "/api/v1/diagnose" in text and "/api/v1/model" in text
    assert not [f for f in failures if "Content Security Policy" in f or "Refused" in f], failures
    shot(page, "api-docs")
    b.close()


def test_controls_are_labelled_keyboard_operable_and_readable(server, browser):
    page = browser.new_page()
    page.goto(server.url + "/")
    names = page.eval_on_selector_all("button:not([hidden]), label.button, input:not([type=text])",
                                      "els => els.filter(e => e.offsetParent !== null || e.type === 'file')"
                                      ".map(e => (e.innerText || e.labels?.[0]?.innerText || "
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
