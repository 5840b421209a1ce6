"""One picture through the product's photo path: quality gate → localise (closer up on skin where nothing was
found) → crop → classify → "no skin" in the crop → "not a lesion" (and, for a picture turned away so, whether it
shows skin at all).

The same path serves an uploaded photo, each camera frame (``stream.pipeline`` adds the 3-second hold)
and evaluation. Pure: no I/O, no temporal state.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .spec import PipelineSpec
from .vision.classifier import Classifier, Prediction
from .vision.localize import Box, Localizer, look_wider, square_crop, working_copy
from .vision.preprocess import center_square, resize_square
from .vision.quality import Quality


@dataclass(frozen=True)
class Analysis:
    """What was found in one picture and what was judged."""

    quality: Quality
    box: Box | None = None  # the lesion
    crop_box: Box | None = None  # the square actually analysed (the lesion with a margin)
    prediction: Prediction | None = None  # None when the gate refused the picture


def analyse(frame: np.ndarray, classifier: Classifier, localizer: Localizer, spec: PipelineSpec) -> Analysis:
    """One RGB uint8 picture through ``spec``'s gate, the localiser, ``spec``'s crop and the classifier (its crop
    judged as ``spec``'s number of mirror images, for a photo and a camera frame alike)."""
    gate = spec.gate
    small = working_copy(frame, spec.work_side)
    quality = gate.check_frame(small)
    # A colour rule for skin misses some skin tones and lighting; with a model that can say "not a
    # lesion" it is only a hint: the frame goes on, and "no skin" is the answer if nothing is found.
    skin_doubt = quality.reason == "no_skin" and classifier.reject_index is not None
    if not quality.ok and not skin_doubt:
        return Analysis(quality)
    refused = Quality(False, "no_skin", quality.metrics) if skin_doubt else None
    loc = localizer.locate(frame, small)
    if loc.box is None and quality.ok:  # skin in view and no spot found: the skin alone, then closer up
        loc = look_wider(localizer, frame, gate.skin_part(small, frame.shape[1], frame.shape[0]))
    square = view = crop_box = None
    if loc.box is not None:
        crop, crop_box = square_crop(frame, loc.box, spec.crop)
        square = resize_square(crop, spec.classifier.size)
        view = square if min(crop.shape[:2]) >= spec.classifier.size else crop  # never judged enlarged
    quality = gate.check_lesion(Quality(True, "ok", quality.metrics), loc, view)
    if not quality.ok:
        return Analysis(refused or _skin_or_not(quality, frame, classifier, spec), loc.box, crop_box)
    pred = classifier.predict(square, spec.classifier.views)
    if _not_skin(pred, spec):  # the box sits on something skin-coloured that is not skin (a mug, a wall)
        return Analysis(Quality(False, "no_skin", quality.metrics), loc.box, crop_box)
    quality = gate.check_prediction(quality, pred.not_lesion, spec.classifier.reject_threshold)
    if not quality.ok:
        return Analysis(refused or _skin_or_not(quality, frame, classifier, spec), loc.box, crop_box)
    return Analysis(quality, loc.box, crop_box, pred)


def _not_skin(pred: Prediction, spec: PipelineSpec) -> bool:
    """The network's own "this shows no skin" for what it was shown (the card's threshold; never without one)."""
    threshold = spec.classifier.not_skin_threshold
    return threshold is not None and pred.not_skin >= threshold


def _skin_or_not(quality: Quality, frame: np.ndarray, classifier: Classifier, spec: PipelineSpec) -> Quality:
    """A picture turned away for holding no lesion is told "no skin" instead when the network, shown the whole
    picture's centre square, finds no skin in it (a skin-coloured mug passes the colour rule)."""
    if spec.classifier.not_skin_threshold is None or quality.reason not in ("no_lesion", "not_lesion"):
        return quality
    if not _not_skin(classifier.predict(resize_square(center_square(frame), spec.classifier.size)), spec):
        return quality
    return Quality(False, "no_skin", quality.metrics)
