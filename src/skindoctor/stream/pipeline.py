"""The pipeline: the photo path (``analysis.analyse``) for one picture, plus the 3-second hold for a stream.

``skindoctor.load`` builds one. ``Pipeline.analyse`` judges one picture; ``Pipeline.process`` takes one
frame of a stream; ``Pipeline.run`` drives a source at a bounded rate with latest-frame semantics and
yields a ``FrameResult`` per processed frame; the one that confirms carries the hold's ``Confirmation``. No I/O
besides the source; ``results`` serialises what it returns, the shells render it.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import numpy as np

from ..analysis import Analysis, analyse
from ..config import default
from ..spec import PipelineSpec, build_spec
from ..vision.classifier import Classifier
from ..vision.localize import LesionLocalizer, Localizer
from .confirm import Confirmation, HoldConfirmer, HoldState
from .sources import FrameSource, LatestFrame
from .steady import SteadyLocalizer


@dataclass
class FrameResult:
    """One frame of a stream: the picture's ``Analysis`` and the hold's state (``hold.confirmation`` is set on the
    frame that confirms); ``results.frame_out`` serialises it."""

    t: float
    analysis: Analysis
    hold: HoldState
    classes: tuple[str, ...]
    stats: dict = field(default_factory=dict)
    frame: np.ndarray | None = field(default=None, repr=False)  # only when asked for (drawing)

    @property
    def confirmation(self) -> Confirmation | None:
        return self.hold.confirmation


class Pipeline:
    """Classifier and localiser, with the gate, crop, hold and steady box built from ``spec`` (default: the
    classifier's card with each stage's defaults, the hold grouped by ``advisor``'s triage outcomes). Per-stream
    state is the confirmer's and the steady box's (``process`` keeps the lesion box while the picture holds
    still); ``fresh`` gives a stream its own."""

    def __init__(self, classifier: Classifier, localizer: Localizer | None = None, spec: PipelineSpec | None = None,
                 advisor=None):
        self.classifier, self.advisor = classifier, advisor
        self.localizer = localizer or LesionLocalizer()
        self.spec = spec = spec or build_spec(classifier, self.localizer, advisor)
        self.gate = spec.gate
        self.confirmer = HoldConfirmer(spec.hold)
        self.stream_localizer = SteadyLocalizer(self.localizer, spec.steady)
        self.classes = classifier.classes

    def fresh(self, hold_seconds: float | None = None, decide_seconds: float | None = None) -> Pipeline:
        """A pipeline sharing these models with a hold of its own (one per live session or video), with another
        hold or decision time if given."""
        return Pipeline(self.classifier, self.localizer, self.spec.with_hold(hold_seconds, decide_seconds),
                        self.advisor)

    def reset(self) -> None:
        self.confirmer.reset()
        self.stream_localizer.reset()

    def analyse(self, image: np.ndarray) -> Analysis:
        """One picture (RGB uint8) through gate, localiser and classifier (no temporal state)."""
        return analyse(image, self.classifier, self.localizer, self.spec)

    def process(self, frame: np.ndarray, t: float) -> FrameResult:
        """One frame of a stream: the photo path (with the steady box) and the hold."""
        analysis = analyse(frame, self.classifier, self.stream_localizer, self.spec)
        pred = analysis.prediction
        hold = self.confirmer.update(t, pred.probs if pred else None, pred.not_lesion if pred else 0.0,
                                     reason=None if pred else analysis.quality.reason)
        return FrameResult(t, analysis, hold, self.classes)

    def run(self, source: FrameSource, max_rate: float = default("live_max_rate"), stop_on_diagnosis: bool = False,
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
                if stop_on_diagnosis and result.confirmation is not None:
                    return
        finally:
            source.close()
