"""What the web layer needs, built once per app: the classifier, the advisor, a pipeline factory."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field

from ..advice.advisor import Advisor
from ..config import Settings
from ..stream.confirm import HoldConfirmer
from ..stream.pipeline import Pipeline
from ..vision.classifier import OnnxClassifier
from ..vision.localize import LesionLocalizer
from ..vision.quality import QualityGate


@dataclass
class Services:
    settings: Settings
    classifier: OnnxClassifier
    advisor: Advisor
    localizer: LesionLocalizer = field(default_factory=LesionLocalizer)
    gate: QualityGate = field(default_factory=QualityGate)
    live_sessions: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, settings: Settings) -> "Services":
        clf = OnnxClassifier(settings.model_dir, settings.model_variant, threads=settings.threads)
        return cls(settings, clf, Advisor.from_settings(clf.card, settings=settings))

    def pipeline(self, hold_seconds: float | None = None, decide_seconds: float | None = None) -> Pipeline:
        """A pipeline with its own temporal state (one per live session), sharing the models; the hold
        confirms a triage outcome even when the class flickers between classes of that outcome."""
        return Pipeline(self.classifier, self.localizer, self.gate, HoldConfirmer(
            hold_seconds=hold_seconds or self.settings.hold_seconds, groups=self.advisor.outcome_groups(),
            decide_within=decide_seconds or self.settings.decide_seconds))

    def try_open_live(self) -> bool:
        with self._lock:
            if self.live_sessions >= self.settings.max_live_sessions:
                return False
            self.live_sessions += 1
            return True

    def close_live(self) -> None:
        with self._lock:
            self.live_sessions -= 1
