"""What the web layer needs, built once per app: the pipeline (models shared by every request) and the
live-session count; routes receive it through ``ServicesDep``."""

from __future__ import annotations

import threading
from dataclasses import dataclass, field
from typing import Annotated

from fastapi import Depends
from starlette.requests import HTTPConnection

from .. import load
from ..advice.advisor import Advisor
from ..config import Settings
from ..stream.pipeline import Pipeline
from ..vision.classifier import OnnxClassifier


@dataclass
class Services:
    settings: Settings
    pipeline: Pipeline  # stateless for photos; each live session gets ``live_pipeline()``, a hold of its own
    live_sessions: int = 0
    _lock: threading.Lock = field(default_factory=threading.Lock)

    @classmethod
    def load(cls, settings: Settings) -> Services:
        return cls(settings, load(settings=settings))

    @property
    def classifier(self) -> OnnxClassifier:
        return self.pipeline.classifier

    @property
    def advisor(self) -> Advisor:
        return self.pipeline.advisor

    def live_pipeline(self, hold_seconds: float | None = None, decide_seconds: float | None = None) -> Pipeline:
        """A pipeline with its own temporal state, sharing the models; the hold confirms a triage outcome
        even when the class flickers between classes of that outcome."""
        return self.pipeline.fresh(hold_seconds or self.settings.hold_seconds,
                                   decide_seconds or self.settings.decide_seconds)

    def try_open_live(self) -> bool:
        with self._lock:
            if self.live_sessions >= self.settings.max_live_sessions:
                return False
            self.live_sessions += 1
            return True

    def close_live(self) -> None:
        with self._lock:
            self.live_sessions -= 1


def get_services(conn: HTTPConnection) -> Services:
    """The app's services (a FastAPI dependency, for HTTP routes and WebSockets alike)."""
    return conn.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]
