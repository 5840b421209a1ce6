"""The on-device mode's pure logic in real headless Chromium beside its Python originals: the 3-second hold
(hold.js ↔ stream/confirm.py), triage and the knowledge-base advice (advice.js ↔ advice/triage.py, Advisor).
The browser reads the real server's bundle and message tables; every answer must equal Python's."""

import os
import shutil

import numpy as np
import pytest

import skindoctor
from skindoctor import i18n
from skindoctor.advice.advisor import Advisor
from skindoctor.advice.knowledge import load_knowledge
from skindoctor.advice.triage import triage
from skindoctor.config import get_settings
from skindoctor.dev.golden import DYADIC, hold_state
from skindoctor.dev.ondevice import FLAGS
from skindoctor.labels import LesionClass
from skindoctor.results import TopClassOut
from skindoctor.stream.confirm import HoldConfirmer, HoldSettings
from skindoctor.vision.classifier import Prediction
from skindoctor.web.app import create_app

from .conftest import MODELS
from .server import LiveServer

CHROMIUM = shutil.which("chromium") or "/usr/bin/chromium"
pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not os.path.exists(CHROMIUM),
                       reason="Debian chromium is not installed (apt-get install chromium)"),
]
playwright_api = pytest.importorskip("playwright.sync_api", reason="needs playwright (dev extra)")
TOL = 1e-9
LOAD = """async (langs) => {
  const get = async (url) => (await fetch(url)).json();
  const tables = {};
  for (const lang of langs) tables[lang] = await get('/api/v1/messages/' + lang);
  return { bundle: await get('/api/v1/ondevice'), tables };
}"""


@pytest.fixture(scope="module")
def settings():
    return get_settings(model_dir=MODELS, llm_provider="none")


@pytest.fixture(scope="module")
def advisor(settings):
    return skindoctor.load(model_dir=MODELS, settings=settings).advisor


@pytest.fixture(scope="module")
def page(settings):
    """A page of the real server (server mode, so it loads no model), for importing the on-device modules."""
    with playwright_api.sync_playwright() as pw, LiveServer(create_app(settings)) as server:
        browser = pw.chromium.launch(executable_path=CHROMIUM, args=FLAGS)
        page = browser.new_page(service_workers="block")
        page.goto(server.url + "/?run=server")
        yield page
        browser.close()


@pytest.fixture(scope="module")
def served(page):
    """The bundle of /api/v1/ondevice and the message tables, as the browser received them."""
    return page.evaluate(LOAD, list(i18n.LANGUAGES))


def differences(py, js, path="") -> list[str]:
    """Where two JSON-like values differ (floats within TOL, booleans only equal booleans)."""
    if py is None or js is None or isinstance(py, (bool, str)) or isinstance(js, (bool, str)):
        same = py is js if isinstance(py, bool) or isinstance(js, bool) else py == js
    elif isinstance(py, (int, float)) and isinstance(js, (int, float)):
        same = abs(py - js) <= TOL if isinstance(py, float) else py == js and float(js).is_integer()
    elif isinstance(py, dict) and isinstance(js, dict):
        if py.keys() != js.keys():
            return [f"{path}: keys {sorted(py)} != {sorted(js)}"]
        return [d for k in py for d in differences(py[k], js[k], f"{path}.{k}")]
    elif isinstance(py, list) and isinstance(js, list) and len(py) == len(js):
        return [d for i, (a, b) in enumerate(zip(py, js)) for d in differences(a, b, f"{path}[{i}]")]
    else:
        same = False
    return [] if same else [f"{path}: python {py!r} != browser {js!r}"]


# ---------- the hold ----------

def hold_sequences(n_classes: int, groups: list[int], count: int, seed: int = 0):
    """Camera-like frame sequences: ~15 fps with jitter and stalls, unusable frames with the gate's reason, a
    lesion held steadily, flicker inside and across outcome groups, scene changes, unsure models, exact ties,
    start-overs."""
    rng = np.random.default_rng(seed)
    same_group = [[j for j in range(n_classes) if groups[j] == groups[i] and j != i] for i in range(n_classes)]
    sequences = []
    for _ in range(count):
        leader = int(rng.integers(n_classes))
        partner = int(rng.choice(same_group[leader])) if same_group[leader] and rng.random() < 0.8 \
            else int(rng.integers(n_classes))  # the class it flickers with: same outcome or not
        flicker = float(rng.choice([0.0, 0.3, 0.5]))  # share of frames the partner leads
        strength = float(rng.choice([1.0, 4.0, 15.0, 60.0]))  # how sure the model is
        unusable = float(rng.choice([0.0, 0.05, 0.2, 0.6]))
        upsets = float(rng.choice([0.0, 0.005, 0.02]))  # how often stalls, scene changes and absences come
        switch_at = int(rng.integers(50, 80)) if rng.random() < 0.6 else -1  # another lesion comes into view
        t, away, frames = float(rng.uniform(0, 100)), 0, []
        for k in range(int(rng.integers(40, 121))):
            t += rng.uniform(1.1, 3.0) if rng.random() < upsets else rng.uniform(0.7, 1.3) / 15  # a stall, or a frame
            if rng.random() < 0.005:
                frames.append("reset")  # the person pressed 'start over'
            if rng.random() < 2 * upsets:
                leader = int(rng.integers(n_classes))  # the scene changes
            if k == switch_at:
                leader = int(rng.choice([j for j in range(n_classes) if groups[j] != groups[leader]]))
            if rng.random() < upsets:
                away = int(rng.integers(10, 60))  # the lesion leaves the view for a while
            if away or rng.random() < unusable:
                away = max(0, away - 1)
                reason = rng.choice(["blurry", "no_lesion", "too_dark", "too_small", ""])
                frames.append([t, None, 0.0, str(reason) or None])
                continue
            if rng.random() < 0.03:  # an exact tie: argmax takes the first of equals
                probs = np.zeros(n_classes)
                probs[[leader, partner]] = 0.5 if leader != partner else 1.0
            else:
                alpha = np.full(n_classes, 0.3)
                alpha[partner if rng.random() < flicker else leader] += strength
                probs = rng.dirichlet(alpha)
            frames.append([t, probs.tolist(), float(rng.uniform(0, 0.1)), None])
        sequences.append(frames)
    return sequences


def hold_settings(hold: dict, count: int, seed: int = 0) -> list[dict]:
    """The server's hold settings, with and without outcome groups, and several decide-within times."""
    rng = np.random.default_rng(seed)
    return [{**hold, "groups": hold["groups"] if i % 2 == 0 else None,
             "decide_within": [hold["decide_within"], 5.0, 2.5, None][int(rng.integers(4))],
             "smoothing": hold["smoothing"] if rng.random() < 0.9 else 0.0} for i in range(count)]


def test_browser_hold_matches_the_python_hold(page, served, advisor):
    hold = served["bundle"]["spec"]["hold"]
    assert hold["groups"] == list(advisor.outcome_groups())
    assert hold["candidate_share"] == HoldSettings().candidate_share
    sequences = hold_sequences(len(served["bundle"]["classes"]), hold["groups"], 200)
    configs = hold_settings(hold, len(sequences))
    browser = page.evaluate("""async ({ configs, sequences }) => {
      const { HoldConfirmer } = await import('/static/ondevice/hold.js');
      return sequences.map((frames, i) => {
        const hold = new HoldConfirmer(configs[i]);
        return frames.map((f) => (f === 'reset' ? hold.reset() ?? null : hold.update(...f)));
      });
    }""", {"configs": configs, "sequences": sequences})
    seen = {"confirmed": 0, "undecided": 0, "two rivals": 0, "two candidates": 0, "re-armed": 0}
    for n, (frames, config, js_states) in enumerate(zip(sequences, configs, browser, strict=True)):
        confirmer = HoldConfirmer(**config)
        for i, (frame, js) in enumerate(zip(frames, js_states, strict=True)):
            if frame == "reset":
                confirmer.reset()
                continue
            py = hold_state(confirmer.update(*frame))
            wrong = differences(py, js)
            assert not wrong, f"sequence {n} frame {i} ({config}): {wrong}"
            c = py["confirmation"]
            seen["confirmed"] += c is not None
            seen["two candidates"] += c is not None and len(c["candidates"]) > 1
            seen["undecided"] += py["undecided"] is not None
            seen["two rivals"] += len(py["rivals"]) == 2
            seen["re-armed"] += py["phase"] == "holding" and i > 0 and js_states[i - 1] is not None \
                and js_states[i - 1]["phase"] == "confirmed"
    assert min(seen.values()) >= 5, str(seen)  # every path was exercised


# ---------- triage and the advice ----------

def advice_cases(classes: list[dict], doubt: float, count: int, seed: int = 0):
    """Sure and one-hot answers, near and exact ties, malignant mass under a benign top class, low confidence,
    pictures on both sides of the card's doubt threshold, and 0–2 candidates."""
    rng, k = np.random.default_rng(seed), len(classes)
    codes = [c["code"] for c in classes]
    malignant = np.array([c["can_be_malignant"] for c in classes])
    fixed = [list(p) for p in np.eye(k)] + [p for p in DYADIC if len(p) == k]
    cases = []
    for i in range(count):
        kind = i % 5
        if i < len(fixed):
            probs = np.array(fixed[i])
        elif kind == 0:  # a near-tie between two classes
            a, b = rng.choice(k, 2, replace=False)
            probs = rng.dirichlet(np.full(k, 0.5)) * 0.1
            probs[a] += 0.45
            probs[b] += 0.45 + float(rng.choice([0.0, 1e-6, -1e-6]))
        elif kind == 1:  # malignant mass spread over several classes, a benign one on top
            probs = rng.dirichlet(np.where(malignant, 3.0, 0.3) + np.eye(k)[rng.choice(np.flatnonzero(~malignant))] * 6)
        elif kind == 2:  # unsure: flat
            probs = rng.dirichlet(np.full(k, float(rng.choice([1.0, 3.0, 10.0]))))
        else:  # sure-ish of one class
            probs = rng.dirichlet(np.full(k, 0.3) + np.eye(k)[rng.integers(k)] * float(rng.choice([2.0, 8.0, 40.0])))
        probs = probs / probs.sum()
        not_lesion = float(rng.choice([0.0, doubt * 0.5, np.nextafter(doubt, 0), doubt, min(1.0, doubt * 1.5)]))
        candidates = [str(c) for c in rng.choice(codes, size=int(rng.integers(0, 3)), replace=False)]
        cases.append([probs.tolist(), not_lesion, candidates])
    return cases


def python_answers(advisor: Advisor, cases, lang: str) -> dict:
    kb, classes = load_knowledge(lang), advisor.classes
    out = {"advice": [], "triage": [], "top": []}
    for probs, not_lesion, candidates in cases:
        out["advice"].append(advisor.knowledge_advice(probs, lang, not_lesion, candidates)[0].model_dump())
        t = triage(probs, classes, kb, advisor.rules, not_lesion)
        out["triage"].append({"top_class": t.top_class, "urgency": t.urgency.name, "malignant_score": t.malignant_score,
                              "uncertain": t.uncertain, "reasons": list(t.reasons)})
        top = Prediction(np.asarray(probs), tuple(c.code for c in classes)).top_k(4)
        out["top"].append([TopClassOut(code=c, name=advisor.names(c, kb)[0], probability=p).model_dump(by_alias=True)
                           for c, p in top])
    return out


BROWSER_ANSWERS = """async ({ runs, tables }) => {
  const { knowledgeAdvice, triage, topClasses } = await import('/static/ondevice/advice.js');
  return runs.map(({ bundle, cases, lang }) => ({
    advice: cases.map(([p, n, c]) => knowledgeAdvice(p, lang, n, c, bundle, tables)),
    triage: cases.map(([p, n]) => triage(p, n, bundle, lang)),
    top: cases.map(([p]) => topClasses(p, 4, lang, bundle)),
  }));
}"""


def test_browser_advice_matches_the_knowledge_base_advice(page, served, advisor):
    bundle, doubt = served["bundle"], advisor.rules.unfamiliar_above
    assert [c["code"] for c in bundle["classes"]] == [c.code for c in advisor.classes]
    # a card that brings classes the knowledge base does not describe (one named only in English)
    extra = [LesionClass(code="scc", can_be_malignant=True,
                         names={"en": "Squamous cell carcinoma", "ko": "편평세포암"}),
             LesionClass(code="other", can_be_malignant=False, names={"en": "Other spot"})]
    custom = Advisor([*advisor.classes, *extra], advisor.rules)
    custom_bundle = {**bundle, "classes": bundle["classes"] + [  # as web/ondevice.py's bundle() writes them
        {"code": c.code, "can_be_malignant": c.can_be_malignant, "urgency": c.urgency,
         "names": {lang: c.name(lang) for lang in i18n.LANGUAGES}} for c in extra]}
    cases = advice_cases(bundle["classes"], doubt, 500)
    custom_cases = advice_cases(custom_bundle["classes"], doubt, 60, seed=1)
    runs = [(a, b, c, lang) for lang in i18n.LANGUAGES
            for a, b, c in ((advisor, bundle, cases), (custom, custom_bundle, custom_cases))]
    browser = page.evaluate(BROWSER_ANSWERS, {"tables": served["tables"], "runs": [
        {"bundle": b, "cases": c, "lang": lang} for _, b, c, lang in runs]})
    rules = set()
    for (adv, _, run_cases, lang), js in zip(runs, browser, strict=True):
        py = python_answers(adv, run_cases, lang)
        for part in ("advice", "triage", "top"):
            for i, (a, b) in enumerate(zip(py[part], js[part], strict=True)):
                wrong = differences(a, b)
                assert not wrong, f"{lang} {part} case {i} {run_cases[i]}: {wrong}"
        for a in py["advice"]:
            rules |= {r.split(":")[0] + (":no-knowledge" if r.endswith(":no-knowledge") else "")
                      for r in a["triage_reasons"]}
            entry = load_knowledge(lang).entry(a["code"])
            rules |= {"raised"} if entry and not a["uncertain"] and a["see_doctor"] != entry.see_doctor else set()
            rules |= {"candidates"} if len(a["candidates"]) > 1 else set()
    expected = {"class", "class:no-knowledge", "malignant-score", "prompt-class", "low-confidence",
                "unfamiliar-picture", "raised", "candidates"}
    assert expected <= rules, expected - rules  # every rule and text came up


def test_browser_undecided_message_matches_the_advisor(page, served, advisor):
    codes = [c.code for c in advisor.classes]
    reasons = [k for k in served["tables"]["en"]["undecided"] if k != "worried"]
    assert {"changing", "unsure", "lost", "blurry"} <= set(reasons)
    messages = [[reason, [codes[(i + j) % len(codes)] for j in range(n)]]
                for i, reason in enumerate(reasons) for n in (0, 1, 2)]
    browser = page.evaluate("""async ({ messages, langs, bundle, tables }) => {
      const { undecidedMessage } = await import('/static/ondevice/advice.js');
      return langs.map((lang) => messages.map(([reason, rivals]) =>
        undecidedMessage(reason, rivals, lang, bundle, tables)));
    }""", {"messages": messages, "langs": list(i18n.LANGUAGES), **served})
    for lang, js in zip(i18n.LANGUAGES, browser, strict=True):
        for (reason, rivals), message in zip(messages, js, strict=True):
            assert message == advisor.undecided_message(reason, rivals, lang), (lang, reason, rivals)
