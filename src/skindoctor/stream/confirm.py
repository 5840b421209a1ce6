"""Temporal confirmation: a result counts only when it has held steadily for a while.

Pure: fed ``(timestamp, calibrated probabilities or None)``; no clock, no I/O. ``None`` means no
usable lesion in this frame (lost, blurred, too dark; the gate's reason may be given). What must
hold is an *outcome group* of classes: by default each class is its own group, and the shells group
classes by the triage outcome they lead to ("see a doctor" vs "routine"), so frames that flip
between melanoma and actinic keratosis still confirm "see a doctor", naming both candidates.

Probabilities are smoothed with an exponential moving average whose time constant is in seconds,
so the behaviour does not depend on the frame rate. Brief flicker (another group, or a lost lesion,
for less than ``grace`` seconds) is tolerated, but over the whole hold the group must average at
least ``min_confidence`` and be the top group of at least ``min_agreement`` of the frames; longer
changes restart the hold; a gap in the timestamps longer than ``max_gap`` restarts it too. After a
confirmation the confirmer stays locked on that result until the scene changes: the lesion leaves
the view, or another group takes over.

When a lesion has been in view for ``decide_within`` seconds without a confirmation, every state
carries ``undecided`` — why (the gate's most common reason, ``changing`` or ``unsure``) — until a
confirmation, a reset, or the lesion staying away that long. If the answer keeps changing between groups and one
of them is ``settle_group`` (the shells': "see a doctor"), leading in at least ``candidate_share`` of the frames,
that group is confirmed instead, on the mean of the attempt's frames: the cautious answer rather than none.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, replace

import numpy as np

from ..config import default


@dataclass(frozen=True)
class HoldSettings:
    """The hold's numbers (the module's docstring says what each does)."""

    hold_seconds: float = default("hold_seconds")
    decide_within: float | None = default("decide_seconds")
    min_confidence: float = 0.5
    grace: float = 0.6
    max_gap: float = 1.0
    smoothing: float = 0.3  # seconds: the time constant of the moving average
    min_agreement: float = 0.8
    candidate_share: float = 0.2  # a class on top in this share of a hold's frames is named as a candidate
    progress_cap: float = 0.99  # the ring of a hold still checking its frames stops here (1.0: a confirmation)
    groups: tuple[int, ...] | None = None  # each class's outcome group (None: each class its own)
    settle_group: int | None = None  # the group confirmed when the answer keeps changing into it (module docstring)


@dataclass(frozen=True)
class Confirmation:
    class_index: int  # the class with the highest mean probability over the hold
    confidence: float  # mean probability of that class over the hold
    probs: np.ndarray  # mean calibrated probabilities over the hold
    t: float  # timestamp of confirmation
    held_seconds: float
    not_lesion: float = 0.0  # mean P(not a lesion) over the hold
    candidates: tuple[int, ...] = ()  # classes of the confirmed group that were on top often (best first)
    group_confidence: float = 0.0  # mean summed probability of the confirmed group


@dataclass(frozen=True)
class HoldState:
    phase: str  # "searching" | "holding" | "confirmed"
    candidate: int | None  # the leading class of the group being held (or confirmed)
    progress: float  # 0..1, for the UI's hold ring
    smoothed: np.ndarray | None
    confirmation: Confirmation | None = None  # set only on the update that confirms
    confidence: float | None = None  # mean probability of ``candidate`` over the hold so far (the card's figure)
    undecided: str | None = None  # why nothing was confirmed within ``decide_within`` seconds
    rivals: tuple[int, ...] = ()  # the classes most often on top since the lesion came into view


class HoldConfirmer:
    def __init__(self, settings: HoldSettings | None = None, **changes):
        """``settings`` (default: ``HoldSettings()``) with ``changes`` to any of its fields."""
        if changes.get("groups") is not None:
            changes["groups"] = tuple(int(g) for g in changes["groups"])
        self.settings = s = replace(settings or HoldSettings(), **changes)
        if s.hold_seconds <= 0:
            raise ValueError("hold_seconds must be positive")
        self.hold_seconds, self.min_confidence = s.hold_seconds, s.min_confidence
        self.grace, self.max_gap, self.smoothing = s.grace, s.max_gap, s.smoothing
        self.min_agreement, self.decide_within = s.min_agreement, s.decide_within
        self.groups = None if s.groups is None else np.asarray(s.groups, dtype=int)
        self.reset()

    def reset(self) -> None:
        """Forget everything, including a confirmed result (e.g. the user pressed 'start over')."""
        self._restart()
        self.locked: int | None = None
        self._last_t: float | None = None
        self._forget_attempt()

    def _forget_attempt(self) -> None:
        self.trying_since: float | None = None  # first frame with a lesion since the last result
        self.last_seen: float | None = None
        self.unusable: Counter[str] = Counter()
        self.tops: Counter[int] = Counter()
        self.weak = self.changes = 0
        self.attempt_sum: np.ndarray | None = None  # the attempt's usable frames: summed probabilities, P(not a lesion)
        self.attempt_not_lesion, self.attempt_n = 0.0, 0

    def _restart(self, candidate: int | None = None, t: float | None = None) -> None:
        self.ema: np.ndarray | None = None
        self.candidate, self.start = candidate, t
        self.off_since: float | None = None
        self.lost_since: float | None = None
        self.sum_probs: np.ndarray | None = None
        self.sum_not_lesion = 0.0
        self.n_probs = 0
        self.n_agree = 0  # frames of the hold whose own top group is the candidate
        self.class_tops: Counter[int] = Counter()  # each frame's own top class during the hold

    def _group_probs(self, probs: np.ndarray) -> np.ndarray:
        if self.groups is None:
            return probs
        return np.bincount(self.groups, weights=probs, minlength=int(self.groups.max()) + 1)

    def update(self, t: float, probs: np.ndarray | None, not_lesion: float = 0.0,
               reason: str | None = None) -> HoldState:
        if self._last_t is not None and t - self._last_t > self.max_gap:
            self._restart()  # a stall: what was held before is not known to have held through it
        dt = 0.0 if self._last_t is None else max(0.0, t - self._last_t)
        self._last_t = t
        if probs is None:
            return self._lost(t, reason)
        self.lost_since = None
        probs = np.asarray(probs, dtype=np.float64)
        self._track_attempt(t, probs, not_lesion)
        if self.ema is None or self.smoothing <= 0:
            self.ema = probs.copy()
        else:
            self.ema += (1.0 - np.exp(-dt / self.smoothing)) * (probs - self.ema)
        group_ema = self._group_probs(self.ema)
        top, conf = int(group_ema.argmax()), float(group_ema.max())
        steady = conf >= self.min_confidence
        self.weak += not steady

        if self.locked is not None:
            if steady and top != self.locked:
                self.off_since = t if self.off_since is None else self.off_since
                if t - self.off_since >= self.grace:  # another lesion/outcome took over: re-arm
                    self.locked = None
                    self._forget_attempt()
                    self._track_attempt(t, probs, not_lesion)
                    self._begin(top, self.off_since, probs, not_lesion)
                    return self._state("holding")
            else:
                self.off_since = None
            return self._state("confirmed", progress=1.0)

        if (settled := self._settled(t)) is not None:
            return settled

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
                self.changes += 1
                if steady:
                    self._begin(top, t, probs, not_lesion)
                    return self._state("holding")
                return self._state("searching")
        self._add(probs, not_lesion)
        held = t - self.start
        mean = self.sum_probs / self.n_probs
        group_mean = self._group_probs(mean)
        if (held >= self.hold_seconds and self.off_since is None and int(group_mean.argmax()) == self.candidate
                and group_mean[self.candidate] >= self.min_confidence
                and self.n_agree >= self.min_agreement * self.n_probs):
            confirmation = self._confirmation(mean, group_mean, t, held)
            self.locked = self.candidate
            self._forget_attempt()
            return self._state("confirmed", progress=1.0, confirmation=confirmation)
        return self._state("holding")

    def _named(self, mean: np.ndarray, group: int, tops: Counter[int], frames: int) -> tuple[int, tuple[int, ...]]:
        """A confirmed group's class (the highest mean) and its candidates: its classes on top in ``candidate_share``
        of the ``frames`` counted in ``tops``, best first."""
        members = [i for i in range(len(mean)) if self._group_of(i) == group]
        best = max(members, key=lambda i: mean[i])
        often = [i for i in members if tops[i] >= self.settings.candidate_share * frames]
        return best, tuple(sorted(set(often) | {best}, key=lambda i: -mean[i]))

    def _confirmation(self, mean: np.ndarray, group_mean: np.ndarray, t: float, held: float) -> Confirmation:
        best, candidates = self._named(mean, self.candidate, self.class_tops, self.n_probs)
        return Confirmation(best, float(mean[best]), mean, t, held, self.sum_not_lesion / self.n_probs,
                            candidates, float(group_mean[self.candidate]))

    def _group_of(self, class_index: int) -> int:
        return class_index if self.groups is None else int(self.groups[class_index])

    def _begin(self, candidate: int, t: float, probs: np.ndarray, not_lesion: float = 0.0) -> None:
        self.candidate, self.start, self.off_since = candidate, t, None
        self.sum_probs, self.sum_not_lesion, self.n_probs, self.n_agree = np.zeros_like(probs), 0.0, 0, 0
        self.class_tops = Counter()
        self._add(probs, not_lesion)

    def _add(self, probs: np.ndarray, not_lesion: float) -> None:
        self.sum_probs = self.sum_probs + probs
        self.sum_not_lesion += not_lesion
        self.n_probs += 1
        self.n_agree += int(self._group_probs(probs).argmax()) == self.candidate
        self.class_tops[int(probs.argmax())] += 1

    def _track_attempt(self, t: float, probs: np.ndarray, not_lesion: float) -> None:
        if self.trying_since is None and self.locked is None:
            self.trying_since = t
        self.last_seen = t
        self.tops[int(probs.argmax())] += 1
        self.attempt_sum = probs.copy() if self.attempt_sum is None else self.attempt_sum + probs
        self.attempt_not_lesion += not_lesion
        self.attempt_n += 1

    def _settled(self, t: float) -> HoldState | None:
        """The settle group confirmed, when the answer has kept changing into it for ``decide_within`` seconds."""
        group, share = self.settings.settle_group, self.settings.candidate_share
        if group is None or self.groups is None or self._undecided() != "changing":
            return None
        frames = sum(self.tops.values())
        if sum(n for i, n in self.tops.items() if self.groups[i] == group) < share * frames:
            return None
        mean = self.attempt_sum / self.attempt_n
        best, candidates = self._named(mean, group, self.tops, frames)
        confirmation = Confirmation(best, float(mean[best]), mean, t, t - self.trying_since,
                                    self.attempt_not_lesion / self.attempt_n, candidates,
                                    float(self._group_probs(mean)[group]))
        self.locked = group
        self._forget_attempt()
        return self._state("confirmed", progress=1.0, confirmation=confirmation)

    def _lost(self, t: float, reason: str | None) -> HoldState:
        self.lost_since = t if self.lost_since is None else self.lost_since
        if self.trying_since is not None:
            self.unusable[reason or "lost"] += 1
            if self.decide_within is not None and t - self.last_seen >= self.decide_within:
                self._forget_attempt()  # nobody has shown a lesion for a while: a new attempt starts
        if t - self.lost_since >= self.grace:
            self._restart()
            self.locked = None  # the lesion left the view: the next one can be confirmed
            return self._state("searching")
        if self.locked is not None:
            return self._state("confirmed", progress=1.0)
        return self._state("holding" if self.candidate is not None else "searching")

    def _undecided(self) -> str | None:
        """Why no result came in time: the gate's commonest complaint, a model that keeps changing, or low
        confidence."""
        if (self.decide_within is None or self.trying_since is None or self.locked is not None
                or self._last_t - self.trying_since < self.decide_within):
            return None
        usable = sum(self.tops.values())
        if sum(self.unusable.values()) > usable:
            return self.unusable.most_common(1)[0][0]
        if self.changes or len(self.tops) > 1:
            return "changing"
        return "unsure"

    def _state(self, phase: str, progress: float | None = None, confirmation: Confirmation | None = None) -> HoldState:
        if progress is None:
            held = 0.0 if self.start is None else (self._last_t - self.start) / self.hold_seconds
            progress = min(self.settings.progress_cap, held)
        if confirmation is not None:
            leader, confidence = confirmation.class_index, confirmation.confidence
        elif self.sum_probs is not None and self.n_probs:
            mean = self.sum_probs / self.n_probs
            members = [i for i in range(len(mean)) if self._group_of(i) == self.candidate]
            leader = max(members, key=lambda i: mean[i]) if members else None
            confidence = float(mean[leader]) if leader is not None else None
        else:
            leader, confidence = None, None
        if phase == "confirmed" and confirmation is None:
            leader, confidence = self.confirmed_leader, self.confirmed_confidence
        if confirmation is not None:
            self.confirmed_leader, self.confirmed_confidence = leader, confidence
        undecided = self._undecided()
        rivals = tuple(i for i, _ in self.tops.most_common(2)) if undecided else ()
        return HoldState(phase, leader, progress, None if self.ema is None else self.ema.copy(), confirmation,
                         confidence, undecided, rivals)
