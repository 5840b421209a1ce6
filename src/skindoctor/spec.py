"""The pipeline spec: every number every stage runs with, as plain data, built once per pipeline.

``skindoctor.load`` builds it from the model card and the settings; ``Pipeline`` builds its stages from it (the
quality gate, the colour localiser's scores or the learned one's thresholds and search, the crop, the classifier's
views, the steady box, the hold, the triage rules), and ``/api/v1/ondevice`` serves ``as_dict()`` as it is, so the
browser's ports take every number from here and keep none of their own. Each section's defaults are defined once,
beside the stage that reads them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass

from .advice.advisor import DOCTOR
from .advice.triage import TriageRules
from .stream.confirm import HoldSettings
from .stream.steady import SteadySettings
from .vision.classifier import Classifier
from .vision.localize import WORK_SIDE, ColourSettings, CropSettings, Localizer
from .vision.preprocess import MIRRORS
from .vision.quality import QualityGate
from .vision.segment import LearnedSettings


@dataclass(frozen=True)
class ClassifierSettings:
    """The classifier's input contract and the card's calibration, doubt and view choices."""

    size: int
    mean: tuple[float, float, float]
    std: tuple[float, float, float]
    temperature: float | None  # the card's calibration (None: a classifier of one's own, calibrated by itself)
    reject_index: int | None  # the "not a lesion" output, if the model has one
    reject_threshold: float  # P(not a lesion) from which a crop gets no diagnosis
    views: int  # a crop (of a photo or a camera frame alike) is judged as this many of its mirror images
    not_skin_threshold: float | None = None  # P(no skin) of the whole picture from which "no lesion" is "no skin"
    temperatures: dict[str, float] | None = None  # dermoscopic and camera calibration, mixed by P(dermoscopic)


@dataclass(frozen=True)
class PipelineSpec:
    work_side: int  # the working copy's longest side, shared by the gate and the localisers
    mirrors: tuple[tuple[bool, bool], ...]  # (left-right, upside-down) flips of the second looks and views
    gate: QualityGate
    localizer: ColourSettings | LearnedSettings | None  # None: a custom localiser the browser cannot run
    crop: CropSettings
    classifier: ClassifierSettings
    steady: SteadySettings
    hold: HoldSettings
    triage: TriageRules

    def with_hold(self, hold_seconds: float | None = None, decide_within: float | None = None) -> PipelineSpec:
        """This spec with another hold time or decision time (a live session's or a video's own)."""
        changes = {k: v for k, v in (("hold_seconds", hold_seconds), ("decide_within", decide_within)) if v}
        return dataclasses.replace(self, hold=dataclasses.replace(self.hold, **changes))

    def with_views(self, views: int) -> PipelineSpec:
        """This spec with its crops judged as another number of views (to measure what the card's number costs)."""
        return dataclasses.replace(self, classifier=dataclasses.replace(self.classifier, views=views))

    def as_dict(self) -> dict:
        """The spec as JSON-ready data (what ``/api/v1/ondevice`` serves)."""
        return _plain(dataclasses.asdict(self))


def _plain(value):
    if isinstance(value, dict):
        return {k: _plain(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    return value


def build_spec(classifier: Classifier, localizer: Localizer, advisor=None, hold_seconds: float | None = None,
               decide_within: float | None = None) -> PipelineSpec:
    """The spec of a pipeline of this classifier (its card) and localiser; ``advisor`` brings the triage rules and
    the hold's outcome groups (without one: the default rules, each class its own group); the hold and decision
    times default to the settings' built-in defaults."""
    card, clf_spec = classifier.card, classifier.spec
    hold = HoldSettings() if advisor is None else HoldSettings(groups=advisor.outcome_groups(), settle_group=DOCTOR)
    settings = getattr(localizer, "settings", None)
    return PipelineSpec(
        work_side=WORK_SIDE, mirrors=MIRRORS, gate=QualityGate(),
        localizer=settings if isinstance(settings, (ColourSettings, LearnedSettings)) else None,
        crop=CropSettings(),
        classifier=ClassifierSettings(clf_spec.size, tuple(clf_spec.mean), tuple(clf_spec.std),
                                      getattr(classifier, "temperature", None), classifier.reject_index,
                                      card.reject_threshold, card.views,
                                      card.not_skin_threshold if getattr(classifier, "has_skin", False) else None,
                                      getattr(classifier, "temperatures", None)),
        steady=SteadySettings(), hold=hold, triage=advisor.rules if advisor is not None else TriageRules(),
    ).with_hold(hold_seconds, decide_within)
