"""Golden cases for the browser port (``web/static/ondevice/``): inputs with the Python runtime's answers, as JSON.

``python -m skindoctor.dev.golden`` writes them to the checkout's ``tests/golden/`` (``--check``: only say which
answers are stale); ``node --test tests/js/`` checks the JS modules against them. Each file but ``bundle.json`` is
``{"cases": [{"in": ..., "out": ...}]}`` (and what its cases share):

- ``bundle.json``: what the page reads: the on-device bundle (colour localiser; URLs and runtime left out) and the
  message tables of every language;
- ``frames.json``: synthetic frames through working copy, frame gate, colour localiser, square crop, the model's
  square and the lesion gate, with the server's spec and again with every number of those stages moved
  (``altered``); ``resize.json``: small pictures through each filter;
- ``hold.json``: the 3-second hold on camera-like timelines; ``steady.json``: which frames of a stream the steady box
  searches again;
- ``advice.json``: triage, top classes and knowledge-base advice in every language (``extra``: two more classes
  the knowledge base does not describe); ``undecided.json``: the messages when nothing was confirmed in time;
- ``engine.json``: one picture's answer (``results.analysis_out``) shaped from given predictions.

A stored picture is its RGB bytes as differences from the byte one pixel to the left (row by row), zlib-compressed,
in base64, with the ``sha256`` of the plain bytes; a computed one is stored as its size and ``sha256`` only.
"""

from __future__ import annotations

import argparse
import base64
import dataclasses
import hashlib
import json
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from .. import i18n
from ..advice.advisor import Advisor
from ..advice.knowledge import load_knowledge
from ..advice.triage import triage
from ..analysis import Analysis
from ..config import default, get_settings
from ..labels import LesionClass
from ..results import TopClassOut, analysis_out
from ..spec import PipelineSpec
from ..stream.confirm import HoldConfirmer
from ..stream.steady import SteadyLocalizer
from ..vision.classifier import Prediction
from ..vision.localize import Box, ColourSettings, LesionLocalizer, Localization, square_crop, working_copy
from ..vision.preprocess import resize_square
from ..vision.quality import Quality
from ..web import ondevice
from ..web.services import Services
from .clips import SURROUND

ROOT = Path(__file__).resolve().parents[3]
GOLDEN = ROOT / "tests" / "golden"
MODELS = ROOT / "models"
KEPT = ("spec", "classes", "knowledge")  # what the JS reads (the URLs vary by machine and model file)
REL = 1e-6  # answers recomputed on another machine: float32 sums may round differently there


def services() -> Services:
    """The server's services on the checkout's model with the colour localiser (the one the JS runs without ONNX)."""
    settings = get_settings(model_dir=MODELS, llm_provider="none", localizer="colour", threads=1,
                            hold_seconds=default("hold_seconds"), decide_seconds=default("decide_seconds"))
    return Services.load(settings)


def served(svc: Services) -> dict:
    """The bundle as /api/v1/ondevice sends it, less what varies by machine or model file, and the message tables."""
    bundle = json.loads(json.dumps(ondevice.bundle(svc)))
    bundle = {k: bundle[k] for k in KEPT}
    return {"bundle": bundle, "tables": {lang: i18n.table(lang) for lang in i18n.LANGUAGES}}


# ---------- pictures ----------

def digest(img: np.ndarray) -> dict:
    return {"width": img.shape[1], "height": img.shape[0],
            "sha256": hashlib.sha256(np.ascontiguousarray(img).tobytes()).hexdigest()}


def stored(img: np.ndarray) -> dict:
    rows = img.reshape(img.shape[0], -1).astype(np.int16)
    delta = rows.copy()
    delta[:, 3:] -= rows[:, :-3]
    packed = zlib.compress((delta & 255).astype(np.uint8).tobytes(), 9)
    return {**digest(img), "zlib": base64.b64encode(packed).decode()}


def picture(s: dict) -> np.ndarray:
    delta = np.frombuffer(zlib.decompress(base64.b64decode(s["zlib"])), np.uint8).reshape(s["height"], -1, 3)
    img = (np.cumsum(delta, axis=1, dtype=np.int64) & 255).astype(np.uint8)
    assert digest(img)["sha256"] == s["sha256"], "a stored picture does not decode to its sha256"
    return img


def synthetic(size, skin, spots=(), noise=0.0, light=(1.0, 1.0), vignette=0.0, hairs=0, blur=0.0, seed=0,
              surround=None):
    """A frame of skin (RGB) lit from one side, with soft-edged ``spots`` ((cx, cy, ax, ay) as shares of the width
    and height, angle, RGB), dark vignette corners, hairs, focus blur and sensor noise; ``surround``: (x0, y0, x1,
    y1) as shares, the skin only there and ``SURROUND`` grey around it (a photo on a screen held up to the camera)."""
    w, h = size
    rng = np.random.default_rng(seed)
    yy, xx = np.mgrid[0:h, 0:w]
    shade = (light[0] + (light[1] - light[0]) * xx / w)[..., None]
    r2 = ((xx - w / 2) ** 2 + (yy - h / 2) ** 2) / ((w / 2) ** 2 + (h / 2) ** 2)
    img = np.float64(skin) * np.ones((h, w, 3))
    for (cx, cy, ax, ay), angle, colour in spots:
        mask = np.zeros((h, w), np.float32)
        cv2.ellipse(mask, (round(cx * w), round(cy * h)), (max(1, round(ax * w)), max(1, round(ay * h))), angle,
                    0, 360, 1.0, -1)
        mask = cv2.GaussianBlur(mask, (0, 0), 1.2)[..., None]
        img = img * (1 - mask) + np.float64(colour) * mask
    for _ in range(hairs):
        p, q = rng.integers(0, [w, h], 2), rng.integers(0, [w, h], 2)
        cv2.line(img, (int(p[0]), int(p[1])), (int(q[0]), int(q[1])), (45.0, 30.0, 25.0), 1)
    img = img * shade * (1 - vignette * r2[..., None] ** 2)
    if blur:
        img = cv2.GaussianBlur(img, (0, 0), blur)
    img = img + rng.normal(0, noise, img.shape) if noise else img
    if surround is not None:
        x0, y0, x1, y1 = (round(a * b) for a, b in zip(surround, (w, h, w, h)))
        inside = img[y0:y1, x0:x1].copy()
        img[:] = SURROUND
        img[y0:y1, x0:x1] = inside
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


SKIN = [(222, 172, 150), (200, 150, 120), (168, 116, 86), (120, 80, 58), (238, 205, 188)]
BROWN, DARK, RED, PALE = (95, 60, 45), (55, 38, 34), (160, 72, 70), (250, 232, 222)
CENTRE = (0.5, 0.5, 0.14, 0.11)
FRAMES = [  # (what it shows, size, synthetic(...) arguments): every gate reason, and the localiser's hard cases
    ("lesion", (160, 120), dict(skin=SKIN[0], spots=[(CENTRE, 20, BROWN)], noise=2.0)),
    ("camera frame", (640, 480), dict(skin=SKIN[1], spots=[((0.52, 0.47, 0.1, 0.08), 30, BROWN)], vignette=0.6,
                                      hairs=4)),
    ("halved to the working copy", (256, 192), dict(skin=SKIN[0], spots=[(CENTRE, 0, DARK)], light=(0.8, 1.0))),
    ("portrait", (120, 160), dict(skin=SKIN[1], spots=[((0.45, 0.55, 0.2, 0.12), 70, BROWN)], noise=1.0)),
    ("small photo", (96, 72), dict(skin=SKIN[0], spots=[(CENTRE, 0, DARK)])),
    ("tiny photo", (60, 45), dict(skin=SKIN[2], spots=[((0.5, 0.5, 0.25, 0.2), 0, DARK)])),
    ("wide, one side down", (150, 60), dict(skin=SKIN[1], spots=[((0.5, 0.5, 0.08, 0.2), 0, BROWN)])),
    ("large lesion", (240, 180), dict(skin=SKIN[1], spots=[((0.5, 0.5, 0.3, 0.26), 10, BROWN)], light=(0.9, 1.05))),
    ("large, red", (224, 168), dict(skin=SKIN[0], spots=[((0.48, 0.52, 0.25, 0.2), 40, RED)], light=(1.0, 0.8))),
    ("odd size", (131, 97), dict(skin=SKIN[2], spots=[((0.55, 0.45, 0.15, 0.13), 30, DARK)])),
    ("at the border", (160, 120), dict(skin=SKIN[0], spots=[((0.08, 0.5, 0.12, 0.15), 0, BROWN)])),
    ("two spots", (160, 120), dict(skin=SKIN[1], spots=[((0.3, 0.4, 0.1, 0.1), 0, BROWN),
                                                       ((0.7, 0.6, 0.13, 0.09), 60, DARK)])),
    ("tiny spot", (160, 120), dict(skin=SKIN[0], spots=[((0.5, 0.5, 0.03, 0.04), 0, DARK)])),
    ("faint spot", (160, 120), dict(skin=SKIN[0], spots=[(CENTRE, 0, (216, 166, 146))])),
    ("pale spot", (160, 120), dict(skin=SKIN[2], spots=[(CENTRE, 0, PALE)])),
    ("out of focus", (160, 120), dict(skin=SKIN[0], spots=[(CENTRE, 0, BROWN)], blur=4.0)),
    ("slightly soft", (160, 120), dict(skin=SKIN[0], spots=[((0.5, 0.5, 0.2, 0.16), 0, BROWN)], blur=1.5)),
    ("bare skin", (160, 120), dict(skin=SKIN[1], noise=2.0)),
    ("flat skin", (128, 96), dict(skin=SKIN[0])),
    ("vignette", (160, 120), dict(skin=SKIN[0], spots=[(CENTRE, 0, BROWN)], vignette=0.8)),
    ("hairs", (160, 120), dict(skin=SKIN[0], spots=[(CENTRE, 0, BROWN)], hairs=6, seed=3)),
    ("dark skin", (160, 120), dict(skin=SKIN[3], spots=[(CENTRE, 0, DARK)], light=(0.8, 1.0))),
    ("pale skin", (160, 120), dict(skin=SKIN[4], spots=[(CENTRE, 0, RED)])),
    ("too dark", (160, 120), dict(skin=(50, 36, 30), spots=[(CENTRE, 0, (20, 14, 12))])),
    ("just dark enough", (160, 120), dict(skin=(72, 52, 44), spots=[(CENTRE, 0, (30, 20, 16))])),
    ("too bright", (160, 120), dict(skin=(255, 250, 245), spots=[(CENTRE, 0, (240, 200, 190))])),
    ("half clipped", (160, 120), dict(skin=(255, 255, 255), light=(0.2, 1.6), spots=[(CENTRE, 0, BROWN)])),
    ("not skin: blue", (160, 120), dict(skin=(60, 90, 170), spots=[(CENTRE, 0, (20, 30, 60))])),
    ("not skin: grey", (160, 120), dict(skin=(128, 128, 128), spots=[(CENTRE, 0, (60, 60, 60))])),
    ("not skin: green", (120, 90), dict(skin=(70, 150, 60), noise=1.0)),
    ("on a dark surround", (160, 120), dict(skin=SKIN[1], spots=[(CENTRE, 0, BROWN)], surround=(0.125, 0, 0.875, 1))),
    ("skin in one corner", (131, 97), dict(skin=SKIN[0], spots=[((0.3, 0.3, 0.08, 0.08), 0, DARK)],
                                           surround=(0.03, 0.05, 0.61, 0.77))),
]


def random_frame(rng: np.random.Generator, seed: int) -> tuple[str, np.ndarray]:
    """A frame of random size, skin, light and spots."""
    size = (int(rng.integers(48, 200)), int(rng.integers(40, 160)))
    spots = [((rng.uniform(0.1, 0.9), rng.uniform(0.1, 0.9), rng.uniform(0.02, 0.3), rng.uniform(0.02, 0.3)),
              float(rng.uniform(0, 180)), tuple(rng.integers(20, 200, 3).tolist()))
             for _ in range(int(rng.integers(0, 3)))]
    skin = np.clip(np.float64(SKIN[int(rng.integers(len(SKIN)))]) + rng.normal(0, 12, 3), 0, 255)
    return f"random {seed}", synthetic(size, tuple(skin.tolist()), spots, noise=float(rng.choice([0.0, 0.0, 1.0])),
                                       light=(rng.uniform(0.6, 1.1), 1.0), vignette=float(rng.choice([0.0, 0.5])),
                                       hairs=int(rng.integers(0, 3)), seed=seed)


# every number of the gate, the colour localiser and the crop moved: the JS must take each from the spec it is given
ALTERED = {
    "gate": dict(thumb_size=(48, 36), min_brightness=50.0, max_brightness=225.0, clip_level=240, max_clipped=0.3,
                 skin_cr=(135, 175), skin_cb=(80, 130), skin_min_luma=40, min_skin=0.3, min_lesion_side=20,
                 min_sharpness=12.0, skin_look_below=0.6),
    "localizer": dict(channel_weights=(1.0, 1.2, 1.6), blur=3, kernel=3, lighter_by=3.0, lighter_weight=0.5,
                      centre_weight=1.4, border_weight=0.7, fill_offset=0.3, min_area=0.006, min_contrast=10.0),
    "crop": dict(margin=0.2, min_side=12),
}


def altered_spec(spec: PipelineSpec) -> PipelineSpec:
    return dataclasses.replace(spec, gate=dataclasses.replace(spec.gate, **ALTERED["gate"]),
                               localizer=dataclasses.replace(ColourSettings(), **ALTERED["localizer"]),
                               crop=dataclasses.replace(spec.crop, **ALTERED["crop"]))


def frame_inputs(svc: Services) -> dict:
    """The frames, each through the server's spec and again through ``ALTERED`` (``altered``: its sections)."""
    rng = np.random.default_rng(0)
    frames = [(name, synthetic(size, **kw)) for name, size, kw in FRAMES]
    frames += [random_frame(rng, seed) for seed in range(12)]
    cases = [{"name": name, "frame": stored(img)} for name, img in frames]
    altered = altered_spec(svc.pipeline.spec).as_dict()
    return {"altered": {k: altered[k] for k in ALTERED},
            "cases": cases + [{**c, "spec": "altered"} for c in cases[:len(FRAMES)]]}


def quality_json(q: Quality) -> dict:
    return {"ok": q.ok, "reason": q.reason, "metrics": q.metrics}


def frame_answer(svc: Services, case: dict) -> dict:
    """One frame through ``analysis.analyse`` up to the classifier: each step's answer."""
    frame, pipeline = picture(case["frame"]), svc.pipeline
    spec = altered_spec(pipeline.spec) if case.get("spec") == "altered" else pipeline.spec
    gate, size = spec.gate, spec.classifier.size
    small = working_copy(frame, spec.work_side)
    quality = gate.check_frame(small)
    loc = LesionLocalizer(spec.localizer).locate(frame, small)
    out = {"small": digest(small), "frame_quality": quality_json(quality),
           "loc": {"box": loc.box.as_list() if loc.box else None, "area_fraction": loc.area_fraction,
                   "contrast": loc.contrast}, "crop_box": None, "square": None}
    skin = gate.skin_part(small, frame.shape[1], frame.shape[0])
    out["skin_part"] = skin.as_list() if skin else None
    view = None
    if loc.box is not None:
        crop, crop_box = square_crop(frame, loc.box, spec.crop)
        square = resize_square(crop, size)
        view = square if min(crop.shape[:2]) >= size else crop
        out |= {"crop_box": crop_box.as_list(), "square": digest(square)}
    out["lesion_quality"] = quality_json(gate.check_lesion(Quality(True, "ok", quality.metrics), loc, view))
    return out


def resize_inputs(svc: Services) -> dict:
    """Noise and smooth pictures, to be shrunk (by whole-number factors too), enlarged, and both at once."""
    rng, cases = np.random.default_rng(4), []
    for i, (w, h) in enumerate([(37, 23), (64, 48), (60, 45), (50, 50), (201, 13)]):
        sizes = [(max(1, w * 2 // 3), max(1, h * 2 // 3)), (w * 2 - 1, h + 3), (w - 1, h * 3), (17, 9), (w, h)]
        sizes += [(w // f, h // f) for f in (2, 3) if w % f == 0 and h % f == 0]
        for img in (rng.integers(0, 256, (h, w, 3), dtype=np.uint8),
                    synthetic((w, h), SKIN[i], [(CENTRE, 0, BROWN)], light=(0.5, 1.1))):
            cases.append({"image": stored(img), "to": sizes})
    return {"cases": cases}


def resize_answer(svc: Services, case: dict) -> dict:
    img = picture(case["image"])
    return {"area": [digest(cv2.resize(img, s, interpolation=cv2.INTER_AREA)) for s in case["to"]],
            "linear": [digest(cv2.resize(img, s, interpolation=cv2.INTER_LINEAR)) for s in case["to"]],
            "square": {str(n): digest(resize_square(img, n)) for n in (8, 32, 160)},
            "working_copy": digest(working_copy(img))}


# ---------- the hold ----------

KINDS = ("steady, then another lesion", "flicker inside an outcome", "flicker across outcomes", "dropouts",
         "an unsure model", "stalls and scene changes")


def hold_timeline(rng: np.random.Generator, groups: list[int], kind: int) -> list:
    """Camera-like frames of one of the ``KINDS`` (as ``HoldConfirmer.update``'s arguments, or ``"reset"``): ~15 fps
    with jitter, a few unusable frames with the gate's reason, exact ties now and then, a rare 'start over'."""
    k = len(groups)
    leader = int(rng.integers(k))
    same = [j for j in range(k) if groups[j] == groups[leader] and j != leader]
    other = [j for j in range(k) if groups[j] != groups[leader]]
    partner = int(rng.choice(same if kind == 1 and same else other))
    flicker = {1: 0.4, 2: 0.35}.get(kind, 0.0)  # share of frames the partner leads
    strength = 1.0 if kind == 4 else float(rng.choice([20.0, 100.0]))  # how sure the model is
    unusable, upsets = (0.3 if kind == 3 else 0.02), (0.04 if kind == 5 else 0.0)
    t, away, frames = round(float(rng.uniform(0, 100)), 3), 0, []
    for i in range(int(rng.integers(60, 90))):
        t = round(t + (rng.uniform(1.1, 3.0) if rng.random() < upsets else rng.uniform(0.7, 1.3) / 15), 3)
        if rng.random() < 0.01:
            frames.append("reset")
        if rng.random() < upsets or (kind == 0 and i == 52):  # the scene changes, another lesion comes into view
            leader = int(rng.choice(other)) if kind == 0 else int(rng.integers(k))
        if kind == 3 and rng.random() < 0.03:
            away = int(rng.integers(5, 25))  # the lesion leaves the view for a while
        if away or rng.random() < unusable:
            away = max(0, away - 1)
            frames.append([t, None, 0.0, str(rng.choice(["blurry", "no_lesion", "too_dark", ""])) or None])
            continue
        if rng.random() < 0.05:  # an exact tie: the first of equals leads
            probs = np.zeros(k)
            probs[[leader, partner]] = 0.5
        else:
            alpha = np.full(k, 0.3)
            alpha[partner if rng.random() < flicker else leader] += strength
            probs = rng.dirichlet(alpha).round(5)
        frames.append([t, probs.tolist(), round(float(rng.uniform(0, 0.1)), 4), None])
    return frames


def hold_inputs(svc: Services, count: int = 18) -> dict:
    """Timelines, each with its settings: the server's (as the bundle sends them), without outcome groups, with
    other decide-within times, without smoothing."""
    rng, server = np.random.default_rng(1), served(svc)["bundle"]["spec"]["hold"]
    return {"cases": [{"settings": {**server, "groups": None if i % 5 == 2 else server["groups"],
                                    "decide_within": [server["decide_within"], 4.0, 2.5, None][i % 4],
                                    "smoothing": 0.0 if i % 7 == 6 else server["smoothing"]},
                       "frames": hold_timeline(rng, server["groups"], i % len(KINDS))} for i in range(count)]}


def hold_state(s) -> dict:
    c = s.confirmation
    confirmation = None if c is None else {
        "class_index": c.class_index, "confidence": c.confidence, "probs": c.probs.tolist(), "t": c.t,
        "held_seconds": c.held_seconds, "not_lesion": c.not_lesion, "candidates": list(c.candidates),
        "group_confidence": c.group_confidence}
    return {"phase": s.phase, "candidate": s.candidate, "progress": s.progress,
            "smoothed": None if s.smoothed is None else s.smoothed.tolist(), "confirmation": confirmation,
            "confidence": s.confidence, "undecided": s.undecided, "rivals": list(s.rivals)}


def hold_answer(svc: Services, case: dict) -> list:
    """The Python hold's state after each frame (None after a reset)."""
    confirmer = HoldConfirmer(**case["settings"])
    return [confirmer.reset() if f == "reset" else hold_state(confirmer.update(*f)) for f in case["frames"]]


# ---------- the steady box ----------

def shifted(base: np.ndarray, shift: int) -> np.ndarray:
    """``base`` lighter (or darker) by ``shift`` levels, clipped: a working copy ``|shift|`` levels from it at most."""
    return np.clip(base.astype(np.int16) + shift, 0, 255).astype(np.uint8)


def steady_inputs(svc: Services, count: int = 6) -> dict:
    """Streams of working copies, each the shared ``base`` shifted by a few levels (inside and outside the spec's
    tolerance, its edge included), now and then at another frame size."""
    rng, tolerance = np.random.default_rng(5), svc.pipeline.spec.steady.tolerance
    base = rng.integers(0, 256, (24, 32, 3), dtype=np.uint8)
    shifts = [0, 0, 0, 1, -1, int(tolerance), -int(tolerance), int(tolerance) + 1, 12]
    cases = [{"frames": [{"shift": int(rng.choice(shifts)), "size": [480, 640] if rng.random() < 0.05 else [640, 480]}
                         for _ in range(40)]} for _ in range(count)]
    return {"base": stored(base), "cases": cases}


def steady_answer(svc: Services, case: dict) -> list[bool]:
    """For each frame, whether the localiser searched it (else the last box was kept)."""
    base = picture(steady_inputs(svc)["base"])
    searched: list[bool] = []

    class Recorder:
        def locate(self, frame, small=None):
            searched[-1] = True
            return Localization(Box(0, 0, 1, 1), 0.1, 20.0)

    steady = SteadyLocalizer(Recorder(), svc.pipeline.spec.steady)
    for f in case["frames"]:
        searched.append(False)
        w, h = f["size"]
        steady.locate(np.zeros((h, w, 3), np.uint8), shifted(base, f["shift"]))
    return searched


# ---------- triage and advice ----------

DYADIC = [  # exact binary fractions: x·100 lands on .5, where Python's {:.0%} rounds half to even
    [0.375, 0.125, 0.125, 0.125, 0.125, 0.0625, 0.0625],
    [0.0625, 0.0625, 0.125, 0.125, 0.125, 0.375, 0.125],
    [0.25, 0.125, 0.125, 0.0625, 0.3125, 0.0625, 0.0625],
    [0.5, 0.5, 0.0, 0.0, 0.0, 0.0, 0.0],  # an exact tie: the first class wins, top3 in class order
    [0.0, 0.0, 0.0, 1 / 3, 1 / 3, 1 / 3, 0.0],
    [0.005, 0.015, 0.025, 0.035, 0.045, 0.055, 0.82],
]
EXTRA = [LesionClass(code="scc", can_be_malignant=True, names={"en": "Squamous cell carcinoma", "ko": "편평세포암"}),
         LesionClass(code="other", can_be_malignant=False, names={"en": "Other spot"})]


def advisor_for(svc: Services, extra: bool) -> Advisor:
    """The server's advisor, or one for a card that brings the ``EXTRA`` classes."""
    advisor = svc.advisor
    return Advisor([*advisor.classes, *EXTRA], advisor.rules) if extra else advisor


def probability_cases(classes: list[LesionClass], doubt: float, count: int, rng: np.random.Generator) -> list:
    """[probs, P(not a lesion), candidates]: one-hot and dyadic answers, near and exact ties, malignant mass under a
    benign top class, flat (unsure) and sure answers, on both sides of the doubt threshold, 0–2 candidates."""
    k, codes = len(classes), [c.code for c in classes]
    malignant = np.array([c.can_be_malignant for c in classes])
    fixed = [list(p) for p in np.eye(k)] + [p for p in DYADIC if len(p) == k]
    cases = []
    for i in range(count):
        if i < len(fixed):
            probs = np.array(fixed[i])
        elif i % 4 == 0:  # a near-tie
            a, b = rng.choice(k, 2, replace=False)
            probs = rng.dirichlet(np.full(k, 0.5)) * 0.1
            probs[a] += 0.45
            probs[b] += 0.45 + float(rng.choice([0.0, 1e-6, -1e-6]))
        elif i % 4 == 1:  # malignant mass spread out, a benign class on top
            probs = rng.dirichlet(np.where(malignant, 3.0, 0.3) + np.eye(k)[rng.choice(np.flatnonzero(~malignant))] * 6)
        elif i % 4 == 2:  # flat
            probs = rng.dirichlet(np.full(k, float(rng.choice([1.0, 3.0, 10.0]))))
        else:  # sure-ish
            probs = rng.dirichlet(np.full(k, 0.3) + np.eye(k)[rng.integers(k)] * float(rng.choice([2.0, 8.0, 40.0])))
        not_lesion = float(rng.choice([0.0, doubt * 0.5, np.nextafter(doubt, 0), doubt, min(1.0, doubt * 1.5)]))
        cases.append([(probs / probs.sum()).tolist(), not_lesion,
                      [str(c) for c in rng.choice(codes, size=int(rng.integers(0, 3)), replace=False)]])
    return cases


def advice_inputs(svc: Services) -> dict:
    rng, doubt = np.random.default_rng(2), svc.advisor.rules.unfamiliar_above
    cases = []
    for extra, count in ((False, 36), (True, 12)):
        for probs, not_lesion, candidates in probability_cases(advisor_for(svc, extra).classes, doubt, count, rng):
            cases += [{"extra": extra, "lang": lang, "probs": probs, "not_lesion": not_lesion,
                       "candidates": candidates} for lang in i18n.LANGUAGES]
    return {"extra": [{"code": c.code, "can_be_malignant": c.can_be_malignant, "urgency": c.urgency,  # as bundle()
                       "names": {lang: c.name(lang) for lang in i18n.LANGUAGES}} for c in EXTRA], "cases": cases}


def advice_answer(svc: Services, case: dict) -> dict:
    advisor, lang, probs = advisor_for(svc, case["extra"]), case["lang"], case["probs"]
    kb, codes = load_knowledge(lang), tuple(c.code for c in advisor.classes)
    t = triage(probs, advisor.classes, kb, advisor.rules, case["not_lesion"])
    return {"advice": advisor.knowledge_advice(probs, lang, case["not_lesion"], case["candidates"])[0].model_dump(),
            "triage": {"top_class": t.top_class, "urgency": t.urgency.name, "malignant_score": t.malignant_score,
                       "uncertain": t.uncertain, "reasons": list(t.reasons)},
            "top": [TopClassOut(code=c, name=advisor.names(c, kb)[0], probability=p).model_dump(by_alias=True)
                    for c, p in Prediction(np.asarray(probs), codes).top_k(4)]}


def undecided_inputs(svc: Services) -> dict:
    """Every reason the message tables word, with 0–2 rivals, in every language."""
    codes = [c.code for c in svc.advisor.classes]
    reasons = [k for k in i18n.table("en")["undecided"] if k != "worried"]
    return {"cases": [{"lang": lang, "reason": reason, "rivals": [codes[(i + j) % len(codes)] for j in range(n)]}
                      for lang in i18n.LANGUAGES for i, reason in enumerate(reasons) for n in (0, 1, 2)]}


def undecided_answer(svc: Services, case: dict) -> str:
    return svc.advisor.undecided_message(case["reason"], case["rivals"], case["lang"])


# ---------- a picture's answer ----------

def engine_inputs(svc: Services) -> dict:
    """Refused pictures (with and without a box) and predictions with and without class maps, for an upload (with
    advice) and a camera frame (rounded), in every language."""
    rng, k = np.random.default_rng(3), len(svc.pipeline.classifier.classes)
    metrics = {"brightness": 140.25, "clipped": 0.0, "skin": 0.75}
    analyses = [{"quality": {"ok": False, "reason": reason, "metrics": metrics}, "box": box, "crop_box": crop,
                 "prediction": None}
                for reason, box, crop in [("too_dark", None, None), ("no_lesion", None, None),
                                          ("blurry", [40, 30, 90, 80], [25, 15, 105, 95])]]
    for i in range(5):
        probs = rng.dirichlet(np.full(k, 0.4) + np.eye(k)[i % k] * 3).round(6)
        analyses.append({"quality": {"ok": True, "reason": "ok", "metrics": {**metrics, "sharpness": 20.5}},
                         "box": [40, 30, 90, 80], "crop_box": [25, 15, 105, 95],
                         "prediction": {"probs": (probs / probs.sum()).tolist(),
                                        "not_lesion": round(float(rng.uniform(0, 0.02)), 5),
                                        "cam": rng.normal(0, 1, (k, 5, 5)).round(4).tolist() if i % 2 == 0 else None}})
    return {"cases": [{"analysis": a, "lang": lang, "context": context, "advice": advice, "digits": digits}
                      for a in analyses for lang in i18n.LANGUAGES
                      for context, advice, digits in (("upload", True, None), ("quality", False, 4))]}


def engine_answer(svc: Services, case: dict) -> dict:
    a, p = case["analysis"], case["analysis"]["prediction"]
    pred = None if p is None else Prediction(np.asarray(p["probs"]), svc.pipeline.classifier.classes, p["not_lesion"],
                                             None if p["cam"] is None else np.asarray(p["cam"]))
    analysis = Analysis(Quality(**a["quality"]), a["box"] and Box(*a["box"]), a["crop_box"] and Box(*a["crop_box"]),
                        pred)
    out = analysis_out(analysis, svc.advisor, case["lang"], case["context"], advice=case["advice"],
                       digits=case["digits"])
    return out.model_dump(mode="json", by_alias=True)


# ---------- files ----------

FILES: dict[str, tuple[Callable, Callable]] = {  # name → (its inputs, one case's answer)
    "frames.json": (frame_inputs, frame_answer), "resize.json": (resize_inputs, resize_answer),
    "hold.json": (hold_inputs, hold_answer), "advice.json": (advice_inputs, advice_answer),
    "undecided.json": (undecided_inputs, undecided_answer), "engine.json": (engine_inputs, engine_answer),
    "steady.json": (steady_inputs, steady_answer),
}


def dumps(content) -> str:
    return json.dumps(content, ensure_ascii=False, allow_nan=False, separators=(",", ":")) + "\n"


def write(folder: Path = GOLDEN) -> list[Path]:
    """Make every golden file anew: inputs, then Python's answers."""
    svc = services()
    contents = {"bundle.json": served(svc)}
    for name, (inputs, answer) in FILES.items():
        made = inputs(svc)
        contents[name] = {**made, "cases": [{"in": c, "out": answer(svc, c)} for c in made["cases"]]}
    folder.mkdir(parents=True, exist_ok=True)
    for name, content in contents.items():
        (folder / name).write_text(dumps(content), encoding="utf-8")
    return [folder / name for name in contents]


def differences(old, new, path: str = "") -> list[str]:
    """Where two JSON values differ (numbers within ``REL``)."""
    if isinstance(old, dict) and isinstance(new, dict):
        if old.keys() != new.keys():
            return [f"{path}: keys {sorted(old)} != {sorted(new)}"]
        return [d for k in old for d in differences(old[k], new[k], f"{path}.{k}")]
    if isinstance(old, list) and isinstance(new, list) and len(old) == len(new):
        return [d for i, (a, b) in enumerate(zip(old, new)) for d in differences(a, b, f"{path}[{i}]")]
    numbers = all(isinstance(x, int | float) and not isinstance(x, bool) for x in (old, new))
    same = abs(old - new) <= REL * max(1.0, abs(old)) if numbers else old == new and type(old) is type(new)
    return [] if same else [f"{path}: {old!r} != {new!r}"]


def stale(folder: Path = GOLDEN) -> list[str]:
    """Where the stored goldens differ from what this checkout answers now: the bundle and the shared parts made
    anew, each stored case's answer recomputed from its stored input (inputs are not made again: a synthetic
    picture may come out a level different on another machine)."""
    svc = services()
    wrong = differences(json.loads((folder / "bundle.json").read_text(encoding="utf-8")), served(svc), "bundle.json")
    for name, (inputs, answer) in FILES.items():
        old = json.loads((folder / name).read_text(encoding="utf-8"))
        shared = {k: v for k, v in inputs(svc).items() if k != "cases"}
        wrong += differences({k: v for k, v in old.items() if k != "cases"}, shared, name)
        wrong += [d for i, c in enumerate(old["cases"])
                  for d in differences(c["out"], json.loads(json.dumps(answer(svc, c["in"]))), f"{name}[{i}]")]
    return wrong


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("folder", nargs="?", type=Path, default=GOLDEN)
    parser.add_argument("--check", action="store_true", help="only list the stored answers that are out of date")
    args = parser.parse_args(argv)
    if args.check:
        wrong = stale(args.folder)
        print("\n".join(wrong[:50]) or "up to date")
        return 1 if wrong else 0
    for path in write(args.folder):
        print(f"{path}: {path.stat().st_size / 1024:.0f} KiB")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
