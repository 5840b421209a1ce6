"""The lesion localisers: the learned one (the shipped segmentation network the model card names) and the
colour method it falls back to."""

from __future__ import annotations

import json
import logging
import shutil
import subprocess
import sys

import numpy as np
import pytest

import skindoctor
from skindoctor.config import get_settings
from skindoctor.errors import ModelError
from skindoctor.model_card import load_card
from skindoctor.vision.localize import LesionLocalizer
from skindoctor.vision.segment import SegmentLocalizer, best_region, card_localizer

from .conftest import DATA, MODELS, SPLIT, WEIGHTS, needs_ham, needs_torch, needs_weights


@pytest.fixture(scope="module")
def learned():
    card = load_card(MODELS)
    return SegmentLocalizer(MODELS, card.localizer)


def test_the_card_names_the_learned_localiser_and_load_uses_it():
    card = load_card(MODELS)
    assert card.localizer is not None
    assert all((MODELS / f).is_file() for f in card.localizer.files.values())
    assert not card.localizer.default  # the card keeps the colour method until the classifier gains on its crops
    assert isinstance(skindoctor.load().localizer, LesionLocalizer)
    learned = skindoctor.load(settings=get_settings(localizer="learned"))
    assert isinstance(learned.localizer, SegmentLocalizer)
    assert isinstance(skindoctor.load(settings=get_settings(localizer="colour")).localizer, LesionLocalizer)


def test_health_says_which_localiser_runs():
    from fastapi.testclient import TestClient

    from skindoctor.web.app import create_app

    for choice, name in (("learned", "learned"), ("auto", "colour"), ("colour", "colour")):
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
    from skindoctor.train.localizer import load_photos, mask_box

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


@pytest.mark.slow
@needs_ham
@needs_torch
@needs_weights
def test_train_localizer_trains_exports_and_writes_the_card(tmp_path):
    models = tmp_path / "models"
    models.mkdir()
    shutil.copy2(MODELS / "model_card.json", models)
    out = subprocess.run([sys.executable, "-m", "skindoctor.cli", "train-localizer", "--data", str(DATA),
                          "--split", str(SPLIT), "--weights", str(WEIGHTS), "--out", str(tmp_path / "run"),
                          "--model-dir", str(models), "--steps", "3", "--batch-size", "4", "--limit", "24",
                          "--val-frames", "24"], capture_output=True, text=True, timeout=600)
    assert out.returncode == 0, out.stderr[-2000:]
    spec = load_card(models).localizer
    assert spec is not None and set(spec.files) == {"fp32", "int8"}
    assert json.loads(out.stdout)["present_threshold"] == spec.present_threshold
    assert (tmp_path / "run" / "localizer-ckpt.pt").is_file()
    frame = np.full((480, 640, 3), 180, np.uint8)
    SegmentLocalizer(models, spec).locate(frame)  # the exported network runs
