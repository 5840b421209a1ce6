"""Temporal confirmation: a diagnosis counts only when one class has held steadily for a while.

Pure: fed ``(timestamp, calibrated probabilities or None)``; no clock, no I/O. ``None`` means no
usable lesion in this frame (lost, blurred, too dark). Probabilities are smoothed with an
exponential moving average whose time constant is in seconds, so the behaviour does not depend on
the frame rate. Brief flicker (another class, or a lost lesion, for less than ``grace`` seconds) is
tolerated, but over the whole hold the class must average at least ``min_confidence`` and be the
top class of at least ``min_agreement`` of the frames;
longer changes restart the hold; a gap in the timestamps longer than ``max_gap`` (frames
dropped, camera stalled) restarts it too. After a confirmation the confirmer stays locked on that
result until the scene changes: the lesion leaves the view, or another class takes over.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class Confirmation:
    class_index: int
    confidence: float  # mean probability of the class over the hold
    probs: np.ndarray  # mean calibrated probabilities over the hold
    t: float  # timestamp of confirmation
    held_seconds: float
    not_lesion: float = 0.0  # mean P(not a lesion) over the hold


@dataclass(frozen=True)
class HoldState:
    phase: str  # "searching" | "holding" | "confirmed"
    candidate: int | None
    progress: float  # 0..1, for the UI's hold ring
    smoothed: np.ndarray | None
    confirmation: Confirmation | None = None  # set only on the update that confirms


class HoldConfirmer:
    def __init__(self, hold_seconds: float = 3.0, min_confidence: float = 0.5, grace: float = 0.6,
                 max_gap: float = 1.0, smoothing: float = 0.3, min_agreement: float = 0.8):
        if hold_seconds <= 0:
            raise ValueError("hold_seconds must be positive")
        self.hold_seconds, self.min_confidence = hold_seconds, min_confidence
        self.grace, self.max_gap, self.smoothing = grace, max_gap, smoothing
        self.min_agreement = min_agreement
        self.reset()

    def reset(self) -> None:
        """Forget everything, including a confirmed result (e.g. the user pressed 'start over')."""
        self._restart()
        self.locked: int | None = None
        self._last_t: float | None = None

    def _restart(self, candidate: int | None = None, t: float | None = None) -> None:
        self.ema: np.ndarray | None = None
        self.candidate, self.start = candidate, t
        self.off_since: float | None = None
        self.lost_since: float | None = None
        self.sum_probs: np.ndarray | None = None
        self.sum_not_lesion = 0.0
        self.n_probs = 0
        self.n_agree = 0  # frames of the hold whose own top class is the candidate

    def update(self, t: float, probs: np.ndarray | None, not_lesion: float = 0.0) -> HoldState:
        if self._last_t is not None and t - self._last_t > self.max_gap:
            self._restart()  # a stall: what was held before is not known to have held through it
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        if probs is None:
            return self._lost(t)
        self.lost_since = None
        probs = np.asarray(probs, dtype=np.float64)
        if self.ema is None or self.smoothing <= 0:
            self.ema = probs.copy()
        else:
            self.ema += (1.0 - np.exp(-dt / self.smoothing)) * (probs - self.ema)
        top, conf = int(self.ema.argmax()), float(self.ema.max())
        steady = conf >= self.min_confidence

        if self.locked is not None:
            if steady and top != self.locked:
                self.off_since = t if self.off_since is None else self.off_since
                if t - self.off_since >= self.grace:  # another lesion/class took over: re-arm
                    self.locked = None
                    self._begin(top, self.off_since, probs, not_lesion)
                    return self._state("holding")
            else:
                self.off_since = None
            return self._state("confirmed", progress=1.0)

        if self.candidate is None:
            if steady:
                self._begin(top, t, probs, not_lesion)
            return self._state("holding" if steady else "searching")

        if steady and top == self.candidate:
            self.off_since = None
        else:
            self.off_since = t if self.off_since is None else self.off_since
            if t - self.off_since >= self.grace:
                ema = self.ema
                self._restart()
                self.ema = ema
                if steady:
                    self._begin(top, t, probs, not_lesion)
                    return self._state("holding")
                return self._state("searching")
        self.sum_probs = self.sum_probs + probs
        self.sum_not_lesion += not_lesion
        self.n_probs += 1
        self.n_agree += int(probs.argmax()) == self.candidate
        held = t - self.start
        mean = self.sum_probs / self.n_probs
        if (held >= self.hold_seconds and self.off_since is None and int(mean.argmax()) == self.candidate
                and mean[self.candidate] >= self.min_confidence
                and self.n_agree >= self.min_agreement * self.n_probs):
            confirmation = Confirmation(self.candidate, float(mean[self.candidate]), mean, t, held,
                                        self.sum_not_lesion / self.n_probs)
            self.locked = self.candidate
            return self._state("confirmed", progress=1.0, confirmation=confirmation)
        return self._state("holding")

    def _begin(self, candidate: int, t: float, probs: np.ndarray, not_lesion: float = 0.0) -> None:
        self.candidate, self.start, self.off_since = candidate, t, None
        self.sum_probs, self.sum_not_lesion, self.n_probs = probs.copy(), not_lesion, 1
        self.n_agree = int(int(probs.argmax()) == candidate)

    def _lost(self, t: float) -> HoldState:
        self.lost_since = t if self.lost_since is None else self.lost_since
        if t - self.lost_since >= self.grace:
            self._restart()
            self.locked = None  # the lesion left the view: the next one can be confirmed
            return self._state("searching")
        if self.locked is not None:
            return self._state("confirmed", progress=1.0)
        return self._state("holding" if self.candidate is not None else "searching")

    def _state(self, phase: str, progress: float | None = None, confirmation: Confirmation | None = None) -> HoldState:
        if progress is None:  # 1.0 is kept for a confirmation; a hold still checking its frames shows 0.99
            progress = 0.0 if self.start is None else min(0.99, (self._last_t - self.start) / self.hold_seconds)
        return HoldState(phase, self.locked if self.locked is not None else self.candidate, progress,
                         None if self.ema is None else self.ema.copy(), confirmation)
