"""The outputs read from the pooled features: ``skin`` and what the product says with it, ``dermoscopic`` and the
calibration it chooses."""

import numpy as np
import pytest

from skindoctor.advice.advisor import Advisor
from skindoctor.config import get_settings
from skindoctor.model_card import load_card
from skindoctor.stream.pipeline import Pipeline
from skindoctor.vision.classifier import DOMAIN_OUTPUT, SKIN_OUTPUT, OnnxClassifier, Prediction, softmax, split_reject
from skindoctor.vision.localize import LesionLocalizer

from .conftest import MODELS, needs_torch


class SaysNoSkin:
    """A stand-in model that finds no lesion in any crop and gives the whole picture a fixed P(no skin)."""

    has_skin = True

    def __init__(self, not_skin: float, not_lesion: float = 0.99):
        card = load_card(MODELS)
        self.card = card.model_copy(update={"not_skin_threshold": 0.8})
        self.spec = card.input
        self.classes = tuple(c.code for c in card.lesion_classes())
        self.reject_index = card.output_codes().index(card.reject_class)
        self.not_skin, self.not_lesion = not_skin, not_lesion

    def predict(self, crop, views=1):
        return self.predict_batch([crop], views)[0]

    def predict_batch(self, crops, views=1):
        probs = np.full(len(self.classes), 1 / len(self.classes))
        return [Prediction(probs, self.classes, self.not_lesion, None, self.not_skin) for _ in crops]


def skin_coloured_frame() -> np.ndarray:
    """Even, skin-coloured and sharp: the gate lets it through and there is no spot in it."""
    rng = np.random.default_rng(1)
    return np.clip(np.full((240, 320, 3), (200, 150, 125), np.float64) + rng.normal(0, 6, (240, 320, 3)),
                   0, 255).astype(np.uint8)


def analyse(model, frame):
    advisor = Advisor.from_settings(model.card, settings=get_settings(llm_provider="none"))
    return Pipeline(model, LesionLocalizer(), advisor=advisor).analyse(frame)


def test_a_picture_with_nothing_found_and_no_skin_in_it_is_told_so():
    assert analyse(SaysNoSkin(0.95), skin_coloured_frame()).quality.reason == "no_skin"


def test_a_picture_the_network_finds_skin_in_keeps_its_own_reason():
    assert analyse(SaysNoSkin(0.5), skin_coloured_frame()).quality.reason in ("no_lesion", "not_lesion")


def spotted_frame() -> np.ndarray:
    frame = skin_coloured_frame()
    frame[90:150, 130:190] = (80, 50, 40)  # a dark spot
    return frame


def test_a_spot_whose_crop_the_network_finds_no_skin_in_is_told_no_skin():
    analysis = analyse(SaysNoSkin(0.99, not_lesion=0.0), spotted_frame())  # a box on a mug's pattern, say
    assert analysis.quality.reason == "no_skin" and analysis.prediction is None and analysis.box is not None


def test_a_spot_on_skin_is_answered():
    analysis = analyse(SaysNoSkin(0.5, not_lesion=0.0), spotted_frame())
    assert analysis.quality.ok and analysis.prediction is not None


def test_a_model_without_the_output_has_no_threshold_in_its_spec():
    model = SaysNoSkin(0.99)
    model.has_skin = False
    assert Pipeline(model, LesionLocalizer()).spec.classifier.not_skin_threshold is None
    assert analyse(model, skin_coloured_frame()).quality.reason in ("no_lesion", "not_lesion")


@pytest.fixture(scope="module")
def with_heads(tmp_path_factory):
    """The shipped weights exported to fp32 again, with both outputs added from known weights, and the torch model."""
    from skindoctor.train.export import export_fp32
    from skindoctor.train.heads import add_linear_output
    from skindoctor.train.train import load_checkpoint

    folder = tmp_path_factory.mktemp("heads")
    card = load_card(MODELS)
    model, _ = load_checkpoint(MODELS / card.torch_weights)
    export_fp32(model, card.input.size, folder / card.files["fp32"])
    rng = np.random.default_rng(0)
    heads = {name: (rng.normal(0, 0.05, 1280).astype(np.float32), bias) for name, bias in
             ((SKIN_OUTPUT, 0.3), (DOMAIN_OUTPUT, -0.2))}
    for name, (w, b) in heads.items():
        assert add_linear_output(folder / card.files["fp32"], name, w, b)
    card.temperatures = {"dermoscopic": 0.7, "camera": 1.4}
    card.save(folder)
    return folder, model, heads


def _pictures():
    rng = np.random.default_rng(1)
    pictures = [rng.integers(0, 256, (200, 260, 3), np.uint8) for _ in range(3)]
    return pictures, [p[:, 30:230] for p in pictures]  # and their centre squares, as pooled_features takes them


@needs_torch
def test_the_skin_output_is_the_regression_on_the_pooled_features(with_heads):
    from skindoctor.train.heads import pooled_features

    folder, model, heads = with_heads
    clf = OnnxClassifier(folder, variant="fp32")
    assert clf.has_skin
    pictures, squares = _pictures()
    features, _ = pooled_features(model, pictures, clf.spec)
    w, b = heads[SKIN_OUTPUT]
    expected = 1 / (1 + np.exp(features.astype(np.float64) @ w + b))
    np.testing.assert_allclose([p.not_skin for p in clf.predict_batch(squares)], expected, atol=1e-4)


@needs_torch
def test_each_crop_is_calibrated_at_the_temperature_its_kind_of_picture_asks_for(with_heads):
    from skindoctor.train.heads import pooled_features

    folder, model, heads = with_heads
    clf = OnnxClassifier(folder, variant="fp32")
    assert clf.temperatures == {"dermoscopic": 0.7, "camera": 1.4}
    pictures, squares = _pictures()
    features, logits = pooled_features(model, pictures, clf.spec)
    w, b = heads[DOMAIN_OUTPUT]
    p = 1 / (1 + np.exp(-(features.astype(np.float64) @ w + b)))
    temperature = (p * 0.7 + (1 - p) * 1.4)[:, None]
    expected, _ = split_reject(softmax(logits, temperature), clf.reject_index)
    np.testing.assert_allclose([q.probs for q in clf.predict_batch(squares)], expected, atol=1e-4)
    card = load_card(folder)
    card.temperatures = None  # without the card's temperatures, the one temperature
    flat = OnnxClassifier(folder, variant="fp32", card=card)
    expected, _ = split_reject(softmax(logits, card.temperature), clf.reject_index)
    np.testing.assert_allclose([q.probs for q in flat.predict_batch(squares)], expected, atol=1e-4)
