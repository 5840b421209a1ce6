"""ONNX Runtime classifier: crop in, calibrated class probabilities out."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Protocol, runtime_checkable

import numpy as np
import onnxruntime as ort

from ..errors import ModelError
from ..model_card import InputSpec, ModelCard, default_models_dir, load_card
from .preprocess import MIRRORS, mirror_axes, to_tensor

OUTPUT_NAME, CAM_OUTPUT = "logits", "cam"  # the model's outputs (the second and those below are optional)
SKIN_OUTPUT, DOMAIN_OUTPUT = "skin", "dermoscopic"  # logits: skin in view; a dermatoscope's picture (train/heads.py)
VIEW_AXES = ((), *(mirror_axes(*m, first=2) for m in MIRRORS))  # a crop's views: as it is, then its mirror images


@dataclass(frozen=True)
class Prediction:
    """Calibrated probabilities over the model card's lesion classes (summing to 1), the
    probability that the crop shows no skin lesion at all (``not_lesion``; 0 for a model without
    a reject class) and that it shows no skin at all (``not_skin``; 0 for a model without that output)."""

    probs: np.ndarray
    classes: tuple[str, ...]
    not_lesion: float = 0.0
    cam: np.ndarray | None = None  # class activation maps (lesion classes × h × w), when the model has them
    not_skin: float = 0.0

    @property
    def top_index(self) -> int:
        return int(self.probs.argmax())

    @property
    def top_class(self) -> str:
        return self.classes[self.top_index]

    @property
    def confidence(self) -> float:
        return float(self.probs.max())

    def heatmap(self, class_index: int | None = None) -> np.ndarray | None:
        """Where the network saw evidence for a class (default: the top one), scaled to 0..1; None without maps."""
        if self.cam is None:
            return None
        m = np.maximum(self.cam[self.top_index if class_index is None else class_index], 0.0)
        return m / m.max() if m.max() > 0 else m

    def top_k(self, k: int = 3) -> list[tuple[str, float]]:
        order = np.argsort(-self.probs, kind="stable")[:k]
        return [(self.classes[i], float(self.probs[i])) for i in order]


def softmax(logits: np.ndarray, temperature: float = 1.0) -> np.ndarray:
    z = logits / temperature
    z = z - z.max(axis=-1, keepdims=True)
    e = np.exp(z)
    return e / e.sum(axis=-1, keepdims=True)


def split_reject(probs: np.ndarray, reject_index: int | None) -> tuple[np.ndarray, np.ndarray]:
    """Output probabilities (N×K) → (lesion-class probabilities renormalised to sum 1, P(not a lesion))."""
    if reject_index is None:
        return probs, np.zeros(len(probs))
    p_reject = probs[:, reject_index]
    lesion = np.delete(probs, reject_index, axis=1)
    return lesion / np.maximum(lesion.sum(1, keepdims=True), 1e-12), p_reject


class OnnxClassifier:
    """Loads an ONNX variant named in the model card and classifies RGB crops."""

    def __init__(self, model_dir: str | Path | None = None, variant: str | None = None,
                 threads: int = 1, card: ModelCard | None = None):
        self.model_dir = Path(model_dir or default_models_dir())
        self.card = card or load_card(self.model_dir)
        self.variant = variant or self.card.default_variant
        if self.variant not in self.card.files:
            raise ModelError(f"model variant {self.variant!r} is not in the card (have: {', '.join(self.card.files)})")
        self.path = self.model_dir / self.card.files[self.variant]
        if not self.path.is_file():
            raise ModelError(f"model file not found: {self.path}")
        opts = ort.SessionOptions()
        opts.intra_op_num_threads = threads
        opts.inter_op_num_threads = 1
        opts.graph_optimization_level = ort.GraphOptimizationLevel.ORT_ENABLE_ALL
        try:
            self.session = ort.InferenceSession(str(self.path), opts, providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types for broken files
            raise ModelError(f"model file {self.path} cannot be loaded: {str(e).splitlines()[0]}") from None
        self.input_name = self.session.get_inputs()[0].name
        self.output_name = self.session.get_outputs()[0].name  # the logits (a converted model names them its own way)
        outputs = {o.name for o in self.session.get_outputs()}
        self.has_cam, self.has_skin = CAM_OUTPUT in outputs, SKIN_OUTPUT in outputs
        self.temperatures = self.card.temperatures if DOMAIN_OUTPUT in outputs else None
        self.spec = self.card.input
        self.classes = tuple(c.code for c in self.card.lesion_classes())
        codes = self.card.output_codes()
        self.reject_index = codes.index(self.card.reject_class) if self.card.reject_class in codes else None
        self.temperature = self.card.temperature

    def logits(self, batch: np.ndarray) -> np.ndarray:
        """Raw logits for a preprocessed float32 batch (N×3×S×S)."""
        return self.session.run([self.output_name], {self.input_name: batch})[0]

    def predict(self, crop: np.ndarray, views: int = 1) -> Prediction:
        """One RGB uint8 crop (any size) → calibrated prediction, averaged over ``views`` of its mirror images."""
        return self.predict_batch([crop], views)[0]

    def probabilities(self, batch: np.ndarray, views: int = 1) -> tuple[np.ndarray, np.ndarray]:
        """Preprocessed batch → (calibrated lesion-class probabilities, P(not a lesion)) per image, each the mean
        over its first ``views`` mirror images (``VIEW_AXES``), run as one batch."""
        return self._calibrated(self._run(batch, views, [self.output_name]), views)

    def predict_batch(self, crops: list[np.ndarray], views: int = 1) -> list[Prediction]:
        batch = np.stack([to_tensor(c, self.spec) for c in crops])
        out = self._run(batch, views, [self.output_name] + [CAM_OUTPUT] * self.has_cam + [SKIN_OUTPUT] * self.has_skin)
        probs, p_reject = self._calibrated(out, views)
        n = len(crops)
        cams = [None] * n
        if self.has_cam:  # each view's maps mirrored back onto the crop before averaging
            maps = out[CAM_OUTPUT]
            cams = np.mean([np.flip(maps[k * n:(k + 1) * n], axes) for k, axes in enumerate(VIEW_AXES[:views])], axis=0)
            if self.reject_index is not None:
                cams = np.delete(cams, self.reject_index, axis=1)
        not_skin = np.zeros(n)
        if self.has_skin:
            not_skin = _mean_of_views(_sigmoid(-out[SKIN_OUTPUT]), views)[:, 0]
        return [Prediction(p, self.classes, float(r), c, float(q))
                for p, r, c, q in zip(probs, p_reject, cams, not_skin)]

    def _run(self, batch: np.ndarray, views: int, names: list[str]) -> dict[str, np.ndarray]:
        """The named outputs (and the dermoscopic one, when the card calibrates by it) for the batch's views."""
        names = names + [DOMAIN_OUTPUT] * (self.temperatures is not None)
        return dict(zip(names, self.session.run(names, {self.input_name: _views(batch, views)})))

    def _calibrated(self, out: dict[str, np.ndarray], views: int) -> tuple[np.ndarray, np.ndarray]:
        """Each view's softmax at its temperature (the card's, or the dermoscopic and camera ones mixed by
        P(dermoscopic)), averaged over views → (lesion-class probabilities, P(not a lesion))."""
        temperature = self.temperature
        if self.temperatures is not None:
            p = _sigmoid(out[DOMAIN_OUTPUT])
            temperature = p * self.temperatures["dermoscopic"] + (1 - p) * self.temperatures["camera"]
        return split_reject(_mean_of_views(softmax(out[self.output_name], temperature), views), self.reject_index)


def _sigmoid(x: np.ndarray) -> np.ndarray:
    return 1 / (1 + np.exp(-x.astype(np.float64)))


def _views(batch: np.ndarray, views: int) -> np.ndarray:
    """An NCHW batch followed by its mirror images: ``views`` blocks of N (``VIEW_AXES`` order)."""
    if not 1 <= views <= len(VIEW_AXES):
        raise ValueError(f"views must be 1–{len(VIEW_AXES)}, got {views}")
    return batch if views == 1 else np.ascontiguousarray(np.concatenate([np.flip(batch, a) for a in VIEW_AXES[:views]]))


def _mean_of_views(probs: np.ndarray, views: int) -> np.ndarray:
    """(views·N)×K probabilities → N×K, each image's mean over its views."""
    return probs.reshape(views, -1, probs.shape[-1]).mean(axis=0)


@runtime_checkable
class Classifier(Protocol):
    """What the photo path and the pipeline need of a classifier (``OnnxClassifier`` is one; a model of one's own
    drops in by passing it to ``Pipeline``): the card it goes with, its input, and predictions for crops."""

    card: ModelCard  # its classes, thresholds (``reject_threshold``) and ``views``
    spec: InputSpec  # the model's input: crops are resized to ``spec.size`` squares
    classes: tuple[str, ...]  # the card's lesion classes, in the order of ``Prediction.probs``
    reject_index: int | None  # the model's "not a lesion" output, if it has one

    def predict(self, crop: np.ndarray, views: int = 1) -> Prediction:
        """One RGB uint8 crop (any size) → calibrated prediction, averaged over ``views`` of its mirror images."""
        ...

    def predict_batch(self, crops: list[np.ndarray], views: int = 1) -> list[Prediction]:
        """Several crops, one prediction each."""
        ...
