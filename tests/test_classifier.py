"""The shipped model: contract, calibrated output, preprocessing parity, real accuracy."""

import json
import subprocess
import sys

import numpy as np
import pytest

from skindoctor.advice.knowledge import load_knowledge
from skindoctor.labels import CATALOGUE
from skindoctor.model_card import InputSpec, load_card
from skindoctor.train.data import load_rgb
from skindoctor.vision.preprocess import center_square, normalize, to_tensor

from .conftest import DATA, MODELS, SPLIT, needs_collection, needs_ham, needs_torch


def test_card_describes_the_shipped_files():
    card = load_card(MODELS)
    assert set(card.files) == {"fp32", "int8"}
    for f in card.files.values():
        assert (MODELS / f).is_file()
    assert [c.code for c in card.lesion_classes()] == sorted(CATALOGUE)
    assert card.reject_class == "nolesion" and card.output_codes() == [*sorted(CATALOGUE), "nolesion"]
    assert card.temperature > 0 and 0 < card.malignant_threshold < 1 and 0 < card.reject_threshold < 1
    assert "CC BY-NC-SA 4.0" in card.license["license"] and "CC BY 4.0" in card.license["license"]
    domains = card.metrics["domains"]
    assert domains["dermoscopic_test"]["n"] > 1000
    assert {"phone_test", "nonlesion_test", "isic2018_test"} <= set(domains)


def test_prediction_is_a_distribution_over_card_classes(classifier):
    crop = np.random.default_rng(1).integers(0, 255, (150, 150, 3), np.uint8)
    pred = classifier.predict(crop)
    assert pred.probs.shape == (len(classifier.classes),) == (len(classifier.card.classes) - 1,)
    assert pred.probs.sum() == pytest.approx(1.0, abs=1e-5) and 0 <= pred.not_lesion <= 1
    assert pred.top_k(3)[0] == (pred.top_class, pred.confidence)


@needs_ham
def test_real_test_images_are_mostly_right(classifier, test_split_samples):
    rng = np.random.default_rng(0)
    chosen = [test_split_samples[i] for i in rng.choice(len(test_split_samples), 120, replace=False)]
    preds = classifier.predict_batch([center_square(load_rgb(s.path)) for s in chosen])
    acc = np.mean([p.top_class == s.label for p, s in zip(preds, chosen)])
    assert acc > 0.6, acc


def test_normalize_is_per_channel_chw():
    """ImageNet-style per-channel mean/std (Keras imports use them), channels first."""
    spec = InputSpec(size=4, mean=(0.485, 0.456, 0.406), std=(0.229, 0.224, 0.225))
    square = np.random.default_rng(0).integers(0, 256, (4, 4, 3), dtype=np.uint8)
    expected = ((square / 255.0 - spec.mean) / spec.std).transpose(2, 0, 1)
    x = normalize(square, spec)
    assert x.shape == (3, 4, 4) and x.dtype == np.float32 and x.flags.c_contiguous
    np.testing.assert_allclose(x, expected, atol=1e-5)


@needs_ham
@needs_torch
def test_training_eval_input_equals_runtime_input(ham_samples):
    """The tensor the trainer validates on is bit-identical to what OnnxClassifier feeds ONNX."""
    from skindoctor.train.train import LesionDataset

    card = load_card(MODELS)
    spec = card.input
    samples = ham_samples[:5]
    ds = LesionDataset([load_rgb(s.path) for s in samples], samples, {c: i for i, c in enumerate(card.classes)},
                       spec, train=False)
    from skindoctor.vision.image_io import read_image

    for i, s in enumerate(samples):
        runtime = to_tensor(center_square(read_image(s.path)), spec)
        np.testing.assert_array_equal(ds[i][0].numpy(), runtime)


@needs_ham
def test_diagnose_cli_json(test_split_samples):
    paths = [str(s.path) for s in test_split_samples[:3]]
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "diagnose", "--json", "--lang", "ko", *paths],
                       capture_output=True, text=True, timeout=120)
    assert r.returncode == 0, r.stderr
    rows = [json.loads(line) for line in r.stdout.splitlines()]
    assert [row["image"] for row in rows] == paths
    for row in rows:
        assert len(row["top_k"]) == 3
        assert row["top_k"][0]["class"] == row["top_class"]
        assert row["top_k"][0]["name"] == load_knowledge("ko").entry(row["top_class"]).name


@needs_collection
def test_everyday_photos_get_no_diagnosis_and_phone_lesions_do():
    """Through the shipped photo path (the card's localiser and thresholds): held-out everyday photos are turned
    away — no lesion found, or the classifier's own "not a lesion" output — and held-out phone lesion photos
    are not."""
    import skindoctor
    from skindoctor.train.collection import read_collection
    from skindoctor.train.data import read_split

    samples = read_collection(DATA)
    split = read_split(samples, SPLIT)
    test = [s for s in samples if split[str(s.path)] == "test"]
    pipeline = skindoctor.load(MODELS)
    everyday = [pipeline.analyse(load_rgb(s.path)).quality for s in test if s.domain == "nonlesion"][:60]
    assert np.mean([not q.ok for q in everyday]) >= 0.9, [q.reason for q in everyday]
    phone = [pipeline.analyse(load_rgb(s.path)).quality for s in test if s.domain == "phone"][:60]
    assert np.mean([not q.ok for q in phone]) <= 0.1, [q.reason for q in phone]


def test_a_photo_is_judged_as_the_mean_of_its_mirror_images(classifier):
    from skindoctor.vision.classifier import VIEW_AXES

    crop = np.random.default_rng(3).integers(0, 255, (160, 160, 3), dtype=np.uint8)
    crop[20:60, 30:90] = (60, 40, 30)  # a dark patch off-centre: its mirror images differ
    mirrors = [np.ascontiguousarray(np.flip(crop, [a - 2 for a in axes])) for axes in VIEW_AXES]
    alone = classifier.predict_batch(mirrors)
    for views in (2, 4):
        mean = classifier.predict(crop, views=views)
        # the views' full outputs (lesion classes and "not a lesion") averaged, then the lesion classes renormalised
        lesion = np.mean([p.probs * (1 - p.not_lesion) for p in alone[:views]], axis=0)
        assert np.allclose(mean.probs, lesion / lesion.sum(), atol=1e-5)
        assert mean.not_lesion == pytest.approx(np.mean([p.not_lesion for p in alone[:views]]), abs=1e-5)
        if mean.cam is not None:  # each view's map mirrored back onto the crop before averaging
            back = [np.flip(p.cam, [a - 1 for a in axes]) for p, axes in zip(alone[:views], VIEW_AXES)]
            assert np.allclose(mean.cam, np.mean(back, axis=0), atol=1e-4)
    assert not np.allclose(alone[0].probs, alone[1].probs)  # the views do differ
    with pytest.raises(ValueError):
        classifier.predict(crop, views=5)


def test_photos_and_live_frames_use_the_cards_views(classifier, monkeypatch):
    from skindoctor.stream.pipeline import Pipeline

    monkeypatch.setattr(classifier.card, "views", 3)  # neither the shipped number nor the default
    seen = []
    real = classifier.predict
    monkeypatch.setattr(classifier, "predict", lambda crop, views=1: seen.append(views) or real(crop, views))
    pipeline = Pipeline(classifier)
    rng = np.random.default_rng(0)
    frame = np.clip(rng.normal((200, 150, 130), 6, (480, 640, 3)), 0, 255).astype(np.uint8)
    frame[200:280, 280:360] = (90, 55, 40)
    pipeline.analyse(frame)
    pipeline.process(frame, 0.0)
    assert seen == [3, 3]  # the same picture gets the same answer shown live or uploaded


def test_a_card_written_before_views_covered_live_frames_still_loads(tmp_path):
    data = json.loads((MODELS / "model_card.json").read_text())
    data.pop("views", None)
    data["photo_views"] = 2
    (tmp_path / "model_card.json").write_text(json.dumps(data))
    card = load_card(tmp_path)
    assert card.views == 2 and "photo_views" not in card.model_dump()
