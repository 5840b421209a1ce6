"""The lesion localisers: the learned one (the shipped segmentation network the model card names) and the
colour method it falls back to."""

from __future__ import annotations

import json
import logging
import re
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

import skindoctor
from skindoctor.config import get_settings
from skindoctor.errors import ModelError
from skindoctor.model_card import load_card
from skindoctor.vision.localize import WORK_SIDE, LesionLocalizer, working_copy
from skindoctor.vision.segment import SegmentLocalizer, best_region, card_localizer, lesion_region

from .conftest import DATA, MODELS, ROOT, SPLIT, WEIGHTS, needs_collection, needs_ham, needs_torch, needs_weights


@pytest.fixture(scope="module")
def learned():
    card = load_card(MODELS)
    return SegmentLocalizer(MODELS, card.localizer)


def test_the_card_names_the_learned_localiser_and_load_uses_it():
    card = load_card(MODELS)
    assert card.localizer is not None
    assert all((MODELS / f).is_file() for f in card.localizer.files.values())
    assert card.localizer.default  # chosen on validation photos (bench/localizer_choice.py)
    assert isinstance(skindoctor.load().localizer, SegmentLocalizer)
    learned = skindoctor.load(settings=get_settings(localizer="learned"))
    assert isinstance(learned.localizer, SegmentLocalizer)
    assert isinstance(skindoctor.load(settings=get_settings(localizer="colour")).localizer, LesionLocalizer)


def test_health_says_which_localiser_runs():
    from fastapi.testclient import TestClient

    from skindoctor.web.app import create_app

    for choice, name in (("learned", "learned"), ("auto", "learned"), ("colour", "colour")):
        with TestClient(create_app(get_settings(model_dir=MODELS, llm_provider="none", localizer=choice))) as client:
            assert client.get("/healthz").json()["localizer"] == name


def test_a_missing_localiser_file_falls_back_to_colour_unless_asked_for(tmp_path, caplog):
    card = load_card(MODELS)
    for name in card.files.values():
        shutil.copy2(MODELS / name, tmp_path / name)
    card.localizer = card.localizer.model_copy(update={"default": True})
    card.save(tmp_path)  # names the localiser as the default, but its files are not in tmp_path
    with caplog.at_level(logging.WARNING):
        assert isinstance(card_localizer(tmp_path, card, "auto"), LesionLocalizer)
    assert "localiser model not found" in caplog.text
    with pytest.raises(ModelError, match="localiser model not found"):
        card_localizer(tmp_path, card, "learned")
    without = card.model_copy(update={"localizer": None})
    assert isinstance(card_localizer(tmp_path, without, "auto"), LesionLocalizer)
    with pytest.raises(ModelError, match="names no learned localiser"):
        card_localizer(tmp_path, without, "learned")


def test_the_region_holding_most_probability_wins():
    prob = np.zeros((30, 40), np.float32)
    prob[2:5, 2:5] = 0.95  # small and sure
    prob[10:25, 10:30] = 0.7  # large: more probability in all
    region = best_region(prob, 0.5)
    assert region.box.as_list() == [10, 10, 30, 25] and region.peak == pytest.approx(0.7)
    assert best_region(np.full((30, 40), 0.2, np.float32), 0.5) is None


def test_an_unsure_box_must_hold_on_the_mirrored_frame():
    spec = load_card(MODELS).localizer.model_copy(update={"present_threshold": 0.9, "confirm_below": 0.99})
    sure, unsure = _heat(((10, 30, 10, 40), 0.995)), _heat(((10, 30, 10, 40), 0.95))

    def never():
        raise AssertionError("a sure box needs no second look")

    assert lesion_region(sure, spec, never).box.as_list() == [10, 10, 40, 30]
    assert lesion_region(_heat(((10, 30, 10, 40), 0.8)), spec, never).peak == pytest.approx(0.8)  # no box anyway
    held = lesion_region(unsure, spec, lambda: [_heat(((10, 30, 10, 40), 0.93))] * 3)
    assert held.peak >= spec.present_threshold and held.box.as_list() == [10, 10, 40, 30]
    assert lesion_region(unsure, spec, lambda: [_heat()] * 3) is None  # gone in the mirror images
    spot = _heat(((10, 30, 10, 40), 0.97))
    two_of_three = lesion_region(unsure, spec, lambda: [spot, spot, _heat()])
    assert two_of_three.peak == pytest.approx((0.95 + 0.97 * 2 + 0.05) / 4)  # the mean of all four looks decides
    off = spec.model_copy(update={"confirm_below": None})
    assert lesion_region(unsure, off, never).peak == pytest.approx(0.95)


@needs_ham
def test_the_shipped_localiser_looks_again_at_the_mirrored_frame(learned, test_split_samples, monkeypatch):
    """The second look runs the network on the frame's mirror images, and their maps come back mirrored to match
    the frame."""
    from skindoctor.train.data import load_rgb

    assert learned.spec.present_threshold < learned.spec.confirm_below < 1  # the card turns the second look on
    photo = load_rgb(test_split_samples[0].path)
    h, w = photo.shape[:2]
    frame = np.zeros((2 * h, 2 * w, 3), np.uint8)
    frame[:h, :w] = photo  # the lesion photo top left, black elsewhere
    small, prob = learned.heatmap(frame)
    first = best_region(prob, 0.5)
    assert first.box.x1 <= prob.shape[1] // 2 + 2 and first.box.y1 <= prob.shape[0] // 2 + 2
    for back in learned.mirrored_heatmaps(small):
        assert first.box.iou(best_region(back, 0.5).box) >= 0.8
    for confirm_below, runs in ((None, 1), (1.01, 2)):  # 1.01: every box counts as unsure; one batched second run
        spec = learned.spec.model_copy(update={"confirm_below": confirm_below})
        localizer = SegmentLocalizer(MODELS, spec)
        calls, run = [], localizer.session.run
        monkeypatch.setattr(localizer.session, "run", lambda *a, run=run, calls=calls: calls.append(1) or run(*a))
        box = localizer.locate(frame).box
        assert len(calls) == runs and box is not None and box.iou(learned.locate(frame).box) >= 0.8


@pytest.mark.parametrize("shape", [(480, 640), (640, 480), (720, 1280), (40, 30), (1, 1)])
def test_any_frame_shape_gives_a_box_inside_the_frame_or_none(learned, shape):
    rng = np.random.default_rng(0)
    frame = np.clip(rng.normal((200, 150, 130), 8, (*shape, 3)), 0, 255).astype(np.uint8)
    h, w = shape
    frame[h // 3: 2 * h // 3, w // 3: 2 * w // 3] = (90, 55, 40)  # a dark brown spot in the middle
    loc = learned.locate(frame)
    if loc.box is not None:
        assert 0 <= loc.box.x0 < loc.box.x1 <= w and 0 <= loc.box.y0 < loc.box.y1 <= h


@needs_ham
def test_learned_localiser_frames_held_out_lesions_better_than_colour(learned, test_split_samples):
    """Held-out test photos on skin in 640×480 camera-like frames: box IoU, and no box on bare skin."""
    from skindoctor.train.composite import bare_skin, scene
    from skindoctor.train.localizer import load_photos
    from skindoctor.vision.localize import mask_box

    photos = load_photos(test_split_samples[:60])
    rng = np.random.default_rng(0)
    lesion_frames = [scene(p, [], rng, size=(640, 480)) for p in photos]
    scores = {}
    for name, localizer in (("learned", learned), ("colour", LesionLocalizer())):
        ious = []
        for frame, mask in lesion_frames:
            box = localizer.locate(frame).box
            ious.append(box.iou(mask_box(mask)) if box else 0.0)
        scores[name] = float(np.mean(ious))
    assert scores["learned"] >= 0.7 and scores["learned"] > scores["colour"], scores
    skins = [scene(None, [bare_skin(p)], rng, size=(640, 480))[0] for p in photos[:30]]
    boxed = {name: sum(loc.locate(f).box is not None for f in skins)
             for name, loc in (("learned", learned), ("colour", LesionLocalizer()))}
    assert boxed["learned"] <= 6 and boxed["colour"] >= 20, boxed  # colour boxes almost any skin texture


@needs_ham
@needs_collection
def test_held_out_lesion_free_frames_are_seldom_answered(test_split_samples):
    """The product answers ≤ 5 % of held-out frames with no lesion: test photos with the lesion painted out that a
    check by eye found free of other spots (bench/lesion_free_audit.json), and everyday test photos. The localiser
    only chooses where to look (its presence threshold is set low, so that malignant phone lesions are not turned
    away) and boxes more of them; the classifier's "not a lesion" and "no skin" turn most of those away."""
    from skindoctor.dev.clips import FRAME_SIZE
    from skindoctor.train.collection import read_nonlesion
    from skindoctor.train.composite import bare_skin
    from skindoctor.train.data import load_rgb, read_split
    from skindoctor.train.localizer import load_photos

    audit = json.loads((ROOT / "bench" / "lesion_free_audit.json").read_text())
    clean = load_photos([s for s in test_split_samples if audit.get(s.path.stem) == "clean"])
    skins = [cv2.resize(bare_skin(p), FRAME_SIZE, interpolation=cv2.INTER_LINEAR) for p in clean]
    items = read_nonlesion(DATA / "nonlesion")
    split = read_split(items, SPLIT)
    everyday = [load_rgb(s.path) for s in items if split[str(s.path)] == "test"]
    assert len(skins) >= 300 and len(everyday) >= 200
    pipeline = skindoctor.load(settings=get_settings(model_dir=MODELS, llm_provider="none", localizer="learned"))
    for name, frames in (("bare skin", skins), ("everyday", everyday)):
        answered = np.mean([pipeline.analyse(f).prediction is not None for f in frames])
        assert answered <= 0.05, (name, answered)


def test_the_working_copy_is_the_networks_input_when_it_has_the_size(learned):
    assert learned.spec.long_side == WORK_SIDE  # the frame is shrunk once per frame, for the gate and the network
    rng = np.random.default_rng(1)
    frame = np.clip(rng.normal((200, 150, 130), 6, (480, 640, 3)), 0, 255).astype(np.uint8)
    cv2.ellipse(frame, (320, 240), (70, 50), 0, 0, 360, (90, 55, 40), -1)
    frame = cv2.GaussianBlur(frame, (0, 0), 3)  # a brown spot with a soft edge, as a camera shows a mole
    found = learned.locate(frame)
    assert found.box is not None
    assert learned.locate(frame, working_copy(frame)) == found
    blank = np.full_like(working_copy(frame), (200, 150, 130))
    assert learned.locate(frame, blank).box is None  # a copy of the input's size is what the network sees
    assert learned.locate(frame, blank[:40, :50]) == found  # any other size is not used


def _heat(*spots, shape=(96, 128)):
    prob = np.full(shape, 0.05, np.float32)
    for (y0, y1, x0, x1), p in spots:
        prob[y0:y1, x0:x1] = p
    return prob


def test_the_presence_threshold_holds_for_each_kind_of_lesion_free_frame():
    from skindoctor.train.localizer import presence_threshold

    spec = load_card(MODELS).localizer
    peaks = {"skin": np.linspace(0.55, 0.7, 60), "everyday": np.linspace(0.6, 0.95, 20)}
    probs, kinds = [], []
    for kind, values in peaks.items():
        for v in values:
            probs.append(_heat(((10, 20, 10, 20), v)))
            kinds.append(kind)
    threshold = presence_threshold(probs, kinds, spec, max_false=0.05)
    for kind, values in peaks.items():  # ≤ 5 % of each kind still boxed, not 5 % of all together
        assert np.mean(values >= threshold) <= 0.05, kind
    assert threshold > np.quantile(np.concatenate(list(peaks.values())), 0.95)


@pytest.mark.slow
@needs_ham
@needs_torch
@needs_weights
def test_train_localizer_trains_exports_and_writes_the_card(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy2(MODELS / "model_card.json", models)
    out = subprocess.run([sys.executable, "-m", "skindoctor.cli", "-v", "train-localizer", "--data", str(DATA),
                          "--split", str(SPLIT), "--weights", str(WEIGHTS), "--out", str(tmp_path / "run"),
                          "--model-dir", str(models), "--steps", "3", "--batch-size", "4", "--limit", "24",
                          "--val-frames", "24"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    assert re.search(r"phone photos with masks: \{'train': \([1-9]\d*, [1-9]\d*\)", out.stderr), out.stderr[-2000:]
    spec = load_card(models).localizer
    assert spec is not None and set(spec.files) == {"fp32", "int8"}
    assert json.loads(out.stdout)["present_threshold"] == spec.present_threshold
    assert (tmp_path / "run" / "localizer-ckpt.pt").is_file()
    frame = np.full((480, 640, 3), 180, np.uint8)
    SegmentLocalizer(models, spec).locate(frame)  # the exported network runs


def test_a_wide_field_frame_holds_the_whole_lesion_small_anywhere():
    from skindoctor.train.composite import WIDE_SHARE, LesionPhoto, wide_field

    rng = np.random.default_rng(0)
    image = np.full((300, 300, 3), (190, 140, 120), np.uint8)
    mask = np.zeros((300, 300), np.uint8)
    cv2.circle(image, (150, 150), 60, (80, 50, 40), -1)
    cv2.circle(mask, (150, 150), 60, 255, -1)
    background = np.full((240, 320, 3), (200, 160, 140), np.uint8)
    shares, near_border = [], 0
    for _ in range(200):
        frame, out = wide_field(LesionPhoto(image, mask), background, rng)
        assert frame.shape == background.shape and out.shape == background.shape[:2]
        ys, xs = np.nonzero(out)
        assert len(xs) and xs.min() >= 0 and ys.min() >= 0  # the whole lesion inside the frame
        shares.append(len(xs) / out.size)
        near_border += min(xs.min(), ys.min(), 319 - xs.max(), 239 - ys.max()) < 10
    assert WIDE_SHARE[0] * 0.7 <= min(shares) and max(shares) <= WIDE_SHARE[1] * 1.3
    assert np.median(shares) < 0.04 and near_border >= 10  # mostly small, and at the border too


@pytest.mark.parametrize("radius", [25, 70])  # a small spot, and one too large for a single patch of skin
def test_painting_out_a_lesion_leaves_skin_with_its_own_grain(radius):
    from skindoctor.train.composite import LesionPhoto, bare_skin

    rng = np.random.default_rng(0)
    skin = np.clip(rng.normal((200, 150, 130), 12, (200, 200, 3)), 0, 255).astype(np.uint8)
    mask = np.zeros((200, 200), np.uint8)
    cv2.circle(mask, (100, 100), radius, 255, -1)
    photo = skin.copy()
    photo[mask > 0] = (90, 50, 40)
    out = bare_skin(LesionPhoto(photo, mask))
    inside, outside = out[mask > 0].astype(float), out[mask == 0].astype(float)
    assert np.abs(inside.mean(axis=0) - outside.mean(axis=0)).max() < 12  # the lesion's colour is gone
    assert inside.std(axis=0).min() > 0.6 * outside.std(axis=0).min()  # and the skin keeps its grain there
    assert np.array_equal(out[cv2.dilate(mask, np.ones((15, 15), np.uint8)) == 0],
                          photo[cv2.dilate(mask, np.ones((15, 15), np.uint8)) == 0])  # the rest is untouched


def test_a_wide_field_lesion_is_never_enlarged_the_frame_is_smaller_instead():
    from skindoctor.train.composite import WIDE_SHARE, LesionPhoto, wide_field

    rng = np.random.default_rng(0)
    image = np.full((80, 80, 3), (190, 140, 120), np.uint8)
    mask = np.zeros((80, 80), np.uint8)
    cv2.circle(mask, (40, 40), 20, 255, -1)
    image[mask > 0] = (80, 50, 40)
    background = np.full((960, 1280, 3), (200, 160, 140), np.uint8)
    for _ in range(20):
        frame, out = wide_field(LesionPhoto(image, mask), background, rng)
        assert frame.shape[:2] == out.shape and frame.shape[0] <= 960 and frame.shape[1] <= 1280
        assert abs(frame.shape[1] / frame.shape[0] - 4 / 3) < 0.05  # the frame keeps its shape
        assert (out > 127).sum() <= (mask > 127).sum() * 1.02  # not enlarged
        assert WIDE_SHARE[0] * 0.7 <= (out > 127).mean() <= WIDE_SHARE[1] * 1.3
    assert frame.shape[1] < 1280  # this small a lesion always needs a smaller frame


@pytest.mark.parametrize("width,height", [(640, 480), (480, 640), (128, 96), (33, 17)])
def test_the_closer_look_tiles_cover_the_frame_and_overlap(width, height):
    from skindoctor.vision.segment import WIDER_GRID, tiles

    parts = tiles(width, height)
    assert len(parts) == WIDER_GRID ** 2 and len({(t.width, t.height) for t in parts}) == 1
    covered = np.zeros((height, width), bool)
    for t in parts:
        assert 0 <= t.x0 < t.x1 <= width and 0 <= t.y0 < t.y1 <= height
        covered[t.y0:t.y1, t.x0:t.x1] = True
    assert covered.all()
    assert parts[0].x1 > parts[1].x0 and parts[0].y1 > parts[-1].y0  # neighbours share a strip


@needs_ham
def test_a_spot_small_in_a_wide_picture_is_found_closer_up(test_split_samples):
    """A held-out lesion shrunk into a large frame of skin: the closer look boxes it where the frame search may not
    (when the card turns the closer look on)."""
    from skindoctor.train.localizer import load_photos
    from skindoctor.vision.localize import mask_box

    spec = load_card(MODELS).localizer
    off = SegmentLocalizer(MODELS, spec.model_copy(update={"look_closer": False}))
    learned = SegmentLocalizer(MODELS, spec.model_copy(update={"look_closer": True}))
    rng = np.random.default_rng(4)
    found = 0
    photos = load_photos(test_split_samples[:12])
    for photo in photos:
        frame = np.clip(rng.normal((200, 150, 130), 4, (960, 1280, 3)), 0, 255).astype(np.uint8)
        small = cv2.resize(photo.image, (200, 150), interpolation=cv2.INTER_AREA)
        mask = cv2.resize(photo.mask, (200, 150), interpolation=cv2.INTER_NEAREST)
        x0, y0 = int(rng.integers(0, 1080)), int(rng.integers(0, 810))
        frame[y0:y0 + 150, x0:x0 + 200] = small
        truth = mask_box(mask)
        loc = learned.look_wider(frame)
        assert off.look_wider(frame).box is None and off.wider_looks == 0
        if loc.box is not None:
            assert 0 <= loc.box.x0 < loc.box.x1 <= 1280 and 0 <= loc.box.y0 < loc.box.y1 <= 960
            found += loc.box.iou(type(truth)(truth.x0 + x0, truth.y0 + y0, truth.x1 + x0, truth.y1 + y0)) >= 0.3
    assert found >= 0.6 * len(photos), found
    blank = np.clip(rng.normal((200, 150, 130), 4, (960, 1280, 3)), 0, 255).astype(np.uint8)
    assert learned.look_wider(blank).box is None


def test_the_skin_part_is_the_skin_pixels_rectangle_when_it_leaves_much_of_the_frame_out():
    from skindoctor.vision.localize import working_copy
    from skindoctor.vision.quality import QualityGate

    gate = QualityGate()
    frame = np.full((480, 640, 3), 40, np.uint8)  # a dark surround ...
    frame[60:420, 200:560] = (200, 150, 130)  # ... around skin
    part = gate.skin_part(working_copy(frame), 640, 480)
    assert part is not None and abs(part.x0 - 200) <= 10 and abs(part.x1 - 560) <= 10
    assert abs(part.y0 - 60) <= 10 and abs(part.y1 - 420) <= 10
    frame[:] = (200, 150, 130)  # skin everywhere: nothing to look at apart
    assert gate.skin_part(working_copy(frame), 640, 480) is None
    frame[:] = 40  # no skin at all
    assert gate.skin_part(working_copy(frame), 640, 480) is None


@needs_ham
def test_a_photo_on_a_dark_surround_is_searched_within_its_skin(test_split_samples):
    """A held-out lesion photo shown small on a dark surround (a phone held up to the camera): the second search
    looks at the skin's part alone and boxes the lesion inside it, in frame pixels, before any tiles."""
    from skindoctor.train.localizer import load_photos
    from skindoctor.vision.localize import Box, look_wider, mask_box, working_copy
    from skindoctor.vision.quality import QualityGate

    spec = load_card(MODELS).localizer.model_copy(update={"look_closer": False})
    learned, gate = SegmentLocalizer(MODELS, spec), QualityGate()
    rng = np.random.default_rng(5)
    found = 0
    photos = load_photos(test_split_samples[:12])
    for photo in photos:
        frame = np.full((480, 640, 3), 40, np.uint8)
        x0, y0 = int(rng.integers(0, 280)), int(rng.integers(0, 210))
        frame[y0:y0 + 270, x0:x0 + 360] = cv2.resize(photo.image, (360, 270), interpolation=cv2.INTER_AREA)
        truth = mask_box(cv2.resize(photo.mask, (360, 270), interpolation=cv2.INTER_NEAREST))
        part = gate.skin_part(working_copy(frame), 640, 480)
        assert part is not None and part.iou(Box(x0, y0, x0 + 360, y0 + 270)) >= 0.8
        loc = look_wider(learned, frame, part)
        assert learned.wider_looks == 0  # the closer look is off: only the skin's part was searched
        if loc.box is not None:
            assert part.x0 <= loc.box.x0 < loc.box.x1 <= part.x1 and part.y0 <= loc.box.y0 < loc.box.y1 <= part.y1
            found += loc.box.iou(Box(truth.x0 + x0, truth.y0 + y0, truth.x1 + x0, truth.y1 + y0)) >= 0.3
    assert found >= 0.6 * len(photos), found
    assert look_wider(learned, frame).box is None  # without a skin part, and no closer look: nothing


def test_the_gate_asks_for_a_closer_picture_by_the_spots_size_in_pixels():
    from skindoctor.vision.localize import Box, Localization
    from skindoctor.vision.quality import Quality, QualityGate

    gate = QualityGate()
    crop = np.random.default_rng(0).integers(0, 255, (160, 160, 3), dtype=np.uint8)
    ok = Quality(True, "ok", {})
    side = gate.min_lesion_side
    tiny_share = Localization(Box(0, 0, side, side), 0.0005, 20.0)  # small in a large photo, but enough pixels
    assert gate.check_lesion(ok, tiny_share, crop).ok
    few_pixels = Localization(Box(0, 0, side - 1, side - 1), 0.2, 20.0)
    assert gate.check_lesion(ok, few_pixels, crop).reason == "too_small"
