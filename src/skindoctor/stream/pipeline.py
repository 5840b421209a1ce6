"""The live pipeline: frame → quality gate → localise → crop → classify → 3-second confirmation.

``Pipeline.process`` takes one frame; ``Pipeline.run`` drives a source at a bounded rate with
latest-frame semantics and yields a ``FrameResult`` per processed frame; the one that confirms
carries the ``Diagnosis``. No I/O besides the source; the shells render the results.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..vision.classifier import OnnxClassifier, Prediction
from ..vision.localize import Box, LesionLocalizer, square_crop, working_copy
from ..vision.preprocess import resize_square
from ..vision.quality import Quality, QualityGate
from .confirm import HoldConfirmer, HoldState
from .sources import FrameSource, LatestFrame


@dataclass(frozen=True)
class Analysis:
    """One picture through gate, localiser and classifier: what was found and what was judged."""

    quality: Quality
    box: Box | None = None  # the lesion
    crop_box: Box | None = None  # the square actually analysed (the lesion with a margin)
    prediction: Prediction | None = None  # None when the gate refused the picture


@dataclass
class Diagnosis:
    """A confirmed result: the class held steadily for the hold time."""

    code: str
    confidence: float
    probabilities: dict[str, float]
    box: list[int] | None
    t: float
    held_seconds: float
    not_lesion: float = 0.0  # mean P(not a lesion) over the hold
    candidates: list[str] = field(default_factory=list)  # classes of one outcome the hold alternated between
    advice: object | None = None  # filled by the advisor (care guidance) when one is attached

    def to_dict(self) -> dict:
        d = {k: v for k, v in self.__dict__.items() if k != "advice"}
        if self.advice is not None:
            d["advice"] = self.advice.model_dump() if hasattr(self.advice, "model_dump") else self.advice
        return d


@dataclass
class FrameResult:
    t: float
    quality: Quality
    box: Box | None
    prediction: Prediction | None
    hold: HoldState
    classes: tuple[str, ...]
    diagnosis: Diagnosis | None = None
    crop_box: Box | None = None
    stats: dict = field(default_factory=dict)
    frame: np.ndarray | None = field(default=None, repr=False)  # only when asked for (drawing)

    def to_dict(self, lang: str = "en") -> dict:
        pred, hold = self.prediction, self.hold
        undecided = None
        if hold.undecided:
            undecided = {"reason": hold.undecided, "rivals": [self.classes[i] for i in hold.rivals]}
        return {
            "t": round(self.t, 3),
            "quality": {"ok": self.quality.ok, "reason": self.quality.reason, "message": self.quality.message(lang)},
            "box": self.box.as_list() if self.box else None,
            "crop_box": self.crop_box.as_list() if self.crop_box else None,
            "top_class": pred.top_class if pred else None,
            "confidence": round(pred.confidence, 4) if pred else None,
            "probabilities": {c: round(float(p), 4) for c, p in zip(self.classes, pred.probs)} if pred else None,
            "hold": {"phase": hold.phase, "progress": round(hold.progress, 3),
                     "candidate": self.classes[hold.candidate] if hold.candidate is not None else None,
                     "confidence": round(hold.confidence, 4) if hold.confidence is not None else None,
                     "undecided": undecided},
            "diagnosis": self.diagnosis.to_dict() if self.diagnosis else None,
            **({"stats": self.stats} if self.stats else {}),
        }


class Pipeline:
    def __init__(self, classifier: OnnxClassifier, localizer: LesionLocalizer | None = None,
                 gate: QualityGate | None = None, confirmer: HoldConfirmer | None = None, advisor=None):
        self.classifier = classifier
        self.localizer = localizer or LesionLocalizer()
        self.gate = gate or QualityGate()
        self.confirmer = confirmer or HoldConfirmer()
        self.advisor = advisor
        self.classes = classifier.classes

    def reset(self) -> None:
        self.confirmer.reset()

    def analyse(self, frame: np.ndarray) -> Analysis:
        """One frame through gate, localiser and classifier (no temporal state)."""
        small = working_copy(frame)
        quality = self.gate.check_frame(small)
        # A colour rule for skin misses some skin tones and lighting; with a model that can say "not a
        # lesion" it is only a hint: the frame goes on, and "no skin" is the answer if nothing is found.
        skin_doubt = quality.reason == "no_skin" and self.classifier.reject_index is not None
        if not quality.ok and not skin_doubt:
            return Analysis(quality)
        refused = Quality(False, "no_skin", quality.metrics) if skin_doubt else None
        loc = self.localizer.locate(frame, small)
        square = view = crop_box = None
        if loc.box is not None:
            crop, crop_box = square_crop(frame, loc.box)
            square = resize_square(crop, self.classifier.spec.size)
            view = square if min(crop.shape[:2]) >= self.classifier.spec.size else crop  # never judged enlarged
        quality = self.gate.check_lesion(Quality(True, "ok", quality.metrics), loc, view)
        if not quality.ok:
            return Analysis(refused or quality, loc.box, crop_box)
        pred = self.classifier.predict(square)
        quality = self.gate.check_prediction(quality, pred.not_lesion, self.classifier.card.reject_threshold)
        if not quality.ok:
            return Analysis(refused or quality, loc.box, crop_box)
        return Analysis(quality, loc.box, crop_box, pred)

    def process(self, frame: np.ndarray, t: float) -> FrameResult:
        analysis = self.analyse(frame)
        quality, box, pred = analysis.quality, analysis.box, analysis.prediction
        hold = self.confirmer.update(t, pred.probs if pred else None, pred.not_lesion if pred else 0.0,
                                     reason=None if pred else quality.reason)
        result = FrameResult(t, quality, box, pred, hold, self.classes, crop_box=analysis.crop_box)
        if hold.confirmation is not None:
            c = hold.confirmation
            result.diagnosis = Diagnosis(
                code=self.classes[c.class_index], confidence=c.confidence,
                probabilities={k: float(v) for k, v in zip(self.classes, c.probs)},
                box=box.as_list() if box else None, t=c.t, held_seconds=c.held_seconds, not_lesion=c.not_lesion,
                candidates=[self.classes[i] for i in c.candidates])
            if self.advisor is not None:
                result.diagnosis.advice = self.advisor.advise_probs(c.probs, not_lesion=c.not_lesion,
                                                                    candidates=result.diagnosis.candidates)
        return result

    def run(self, source: FrameSource, max_rate: float = 15.0, stop_on_diagnosis: bool = False,
            keep_frames: bool = False) -> Iterator[FrameResult]:
        """Process a source at most ``max_rate`` times a second (frames in between are skipped;
        live sources are read on a thread so only the newest frame is ever processed)."""
        frames = LatestFrame(source) if source.live else source
        min_dt, last_t, skipped = 1.0 / max_rate, None, 0
        try:
            for frame in frames:
                if last_t is not None and frame.t - last_t < 0.9 * min_dt:  # 10 % slack for camera jitter
                    skipped += 1
                    continue
                last_t = frame.t
                result = self.process(frame.image, frame.t)
                result.stats = {"frame": frame.index, "skipped": skipped + getattr(frames, "dropped", 0)}
                if keep_frames:
                    result.frame = frame.image
                yield result
                if stop_on_diagnosis and result.diagnosis is not None:
                    return
        finally:
            source.close()
