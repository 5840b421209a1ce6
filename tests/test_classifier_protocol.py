"""A classifier of one's own (anything with the ``Classifier`` protocol) runs through the pipeline end to end: a
photo and a camera stream, to the answers the API sends. (``skindoctor.load`` builds its own ``OnnxClassifier``;
another classifier goes to ``Pipeline`` directly.)"""

import cv2
import numpy as np

from skindoctor.advice.advisor import Advisor
from skindoctor.config import get_settings
from skindoctor.model_card import load_card
from skindoctor.results import analysis_out, frame_out
from skindoctor.stream.pipeline import Pipeline
from skindoctor.vision.classifier import Classifier, Prediction
from skindoctor.vision.localize import LesionLocalizer

from .conftest import MODELS


class SureItIsANaevus:
    """A stand-in model: every crop is a naevus, 90 % sure. Records the crops and views it is asked about."""

    def __init__(self):
        self.card = load_card(MODELS)
        self.spec = self.card.input
        self.classes = tuple(c.code for c in self.card.lesion_classes())
        self.reject_index = None
        self.asked: list[tuple[tuple[int, ...], int]] = []

    def predict(self, crop: np.ndarray, views: int = 1) -> Prediction:
        return self.predict_batch([crop], views)[0]

    def predict_batch(self, crops: list[np.ndarray], views: int = 1) -> list[Prediction]:
        self.asked += [(c.shape, views) for c in crops]
        probs = np.full(len(self.classes), 0.1 / (len(self.classes) - 1))
        probs[self.classes.index("nv")] = 0.9
        return [Prediction(probs, self.classes) for _ in crops]


def lesion_photo() -> np.ndarray:
    rng = np.random.default_rng(0)
    img = np.full((300, 400, 3), (205, 160, 140), np.float64)
    cv2.ellipse(img, (200, 150), (60, 45), 0, 0, 360, (90, 55, 40), -1)
    return np.clip(img + rng.normal(0, 3, img.shape), 0, 255).astype(np.uint8)


def pipeline(classifier) -> Pipeline:
    advisor = Advisor.from_settings(classifier.card, settings=get_settings(llm_provider="none"))
    return Pipeline(classifier, LesionLocalizer(), advisor=advisor)


def test_the_shipped_classifier_and_a_stand_in_both_have_the_protocol(classifier):
    assert isinstance(classifier, Classifier) and isinstance(SureItIsANaevus(), Classifier)


def test_a_photo_goes_through_a_custom_classifier():
    model = SureItIsANaevus()
    p = pipeline(model)
    analysis = p.analyse(lesion_photo())
    assert analysis.quality.ok and analysis.prediction.top_class == "nv", analysis.quality
    size = model.spec.size
    assert model.asked == [((size, size, 3), model.card.views)]  # the square, as the card's views
    out = analysis_out(analysis, p.advisor, "en")
    assert out.top_class == "nv" and out.advice.code == "nv" and out.quality.ok


def test_a_camera_stream_is_confirmed_with_a_custom_classifier():
    live = pipeline(SureItIsANaevus()).fresh()
    photo = lesion_photo()
    results = [live.process(photo, i / 15) for i in range(60)]
    confirmed = [r for r in results if r.confirmation is not None]
    assert confirmed and confirmed[0].t >= 3.0
    out = frame_out(confirmed[0], live.advisor, "en", size=(photo.shape[1], photo.shape[0]))
    assert out.diagnosis.code == "nv" and out.hold.phase == "confirmed"
