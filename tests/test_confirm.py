"""The 3-second hold on synthetic timelines: steady, flicker, gaps, drift, two lesions, resets."""

import numpy as np
import pytest

from skindoctor.stream.confirm import HoldConfirmer

N = 7


def p(cls: int, conf: float = 0.8) -> np.ndarray:
    v = np.full(N, (1 - conf) / (N - 1))
    v[cls] = conf
    return v


def run(confirmer, timeline):
    """timeline: iterable of (t, probs|None) → list of states."""
    return [confirmer.update(t, probs) for t, probs in timeline]


def frames(t0, t1, fps, probs):
    return [(t, probs) for t in np.arange(t0, t1, 1 / fps)]


def confirmations(states):
    return [s.confirmation for s in states if s.confirmation is not None]


def test_steady_class_confirms_once_after_three_seconds():
    states = run(HoldConfirmer(), frames(0, 6, 30, p(4)))
    (c,) = confirmations(states)
    assert c.class_index == 4 and c.t == pytest.approx(3.0, abs=0.05) and c.held_seconds >= 3.0
    assert c.confidence == pytest.approx(0.8)
    progress = [s.progress for s in states if s.phase == "holding"]
    assert progress == sorted(progress) and progress[-1] < 1.0
    assert states[-1].phase == "confirmed" and states[-1].progress == 1.0


def test_hold_length_is_configurable_and_frame_rate_independent():
    for fps in (5, 15, 60):
        (c,) = confirmations(run(HoldConfirmer(hold_seconds=1.5), frames(0, 3, fps, p(2))))
        assert 1.5 <= c.t < 1.5 + 1 / fps + 1e-9


def test_brief_flicker_is_tolerated():
    timeline = frames(0, 1.5, 30, p(1)) + frames(1.5, 1.7, 30, p(3, 0.9)) + frames(1.7, 5, 30, p(1))
    (c,) = confirmations(run(HoldConfirmer(), timeline))
    assert c.class_index == 1 and c.t == pytest.approx(3.0, abs=0.05)


def test_constant_flicker_never_confirms():
    rng = np.random.default_rng(0)
    timeline = [(t, p(int(rng.integers(0, N)), 0.7)) for t in np.arange(0, 10, 1 / 30)]
    assert confirmations(run(HoldConfirmer(), timeline)) == []


def test_alternating_two_classes_never_confirms():
    timeline = [(t, p(0 if int(t * 4) % 2 else 5)) for t in np.arange(0, 10, 1 / 30)]
    assert confirmations(run(HoldConfirmer(), timeline)) == []


def test_low_confidence_never_confirms():
    states = run(HoldConfirmer(min_confidence=0.5), frames(0, 10, 30, p(6, 0.4)))
    assert confirmations(states) == [] and {s.phase for s in states} == {"searching"}


def test_class_change_restarts_the_hold():
    timeline = frames(0, 2.5, 30, p(0)) + frames(2.5, 8, 30, p(5))
    (c,) = confirmations(run(HoldConfirmer(), timeline))
    assert c.class_index == 5
    assert c.t >= 2.5 + 3.0 - 0.05  # the new class held its own 3 s (from when it took over)


def test_lost_lesion_briefly_is_tolerated_but_longer_resets():
    short = frames(0, 2, 30, p(2)) + frames(2, 2.3, 30, None) + frames(2.3, 4, 30, p(2))
    (c,) = confirmations(run(HoldConfirmer(), short))
    assert c.t == pytest.approx(3.0, abs=0.05)
    long = frames(0, 2, 30, p(2)) + frames(2, 3, 30, None) + frames(3, 7, 30, p(2))
    (c,) = confirmations(run(HoldConfirmer(), long))
    assert c.t == pytest.approx(6.0, abs=0.05)


def test_dropped_frames_gap_resets():
    timeline = frames(0, 2.5, 30, p(3)) + frames(4.0, 8, 30, p(3))  # 1.5 s with no frames at all
    (c,) = confirmations(run(HoldConfirmer(max_gap=1.0), timeline))
    assert c.t == pytest.approx(7.0, abs=0.05)


def test_low_frame_rate_without_gaps_still_confirms():
    (c,) = confirmations(run(HoldConfirmer(), frames(0, 5, 2, p(4))))
    assert c.t == pytest.approx(3.0)


def test_slow_drift_between_classes_does_not_confirm_a_mixture():
    ts = np.arange(0, 10, 1 / 30)
    timeline = []
    for t in ts:  # probability slides from class 0 to class 1 over 10 s
        v = np.zeros(N)
        v[0], v[1] = 1 - t / 10, t / 10
        timeline.append((t, v))
    cs = confirmations(run(HoldConfirmer(min_confidence=0.6), timeline))
    for c in cs:
        assert c.confidence >= 0.6 - 0.05
    assert [c.class_index for c in cs] in ([0], [0, 1], [1])


def test_after_confirmation_rearms_only_when_scene_changes():
    conf = HoldConfirmer()
    timeline = frames(0, 8, 30, p(4))  # same lesion stays in view: one confirmation only
    assert len(confirmations(run(conf, timeline))) == 1
    # the lesion leaves the view, then a second lesion arrives
    timeline = frames(8, 9, 30, None) + frames(9, 13, 30, p(0))
    (c,) = confirmations(run(conf, timeline))
    assert c.class_index == 0 and c.t == pytest.approx(12.0, abs=0.05)


def test_two_lesions_swapped_without_gap_rearm_after_grace():
    conf = HoldConfirmer()
    timeline = frames(0, 4, 30, p(4)) + frames(4, 9, 30, p(1))
    cs = confirmations(run(conf, timeline))
    assert [c.class_index for c in cs] == [4, 1]
    assert cs[1].t - 4 >= 3.0 - 0.05


def test_reset_forgets_confirmation():
    conf = HoldConfirmer(hold_seconds=1)
    assert len(confirmations(run(conf, frames(0, 2, 10, p(2))))) == 1
    conf.reset()
    assert len(confirmations(run(conf, frames(2, 4, 10, p(2))))) == 1


def test_confirmation_carries_mean_probabilities():
    rng = np.random.default_rng(1)
    timeline = [(t, p(3, 0.7 + 0.1 * rng.random())) for t in np.arange(0, 4, 0.1)]
    (c,) = confirmations(run(HoldConfirmer(), timeline))
    assert c.probs.sum() == pytest.approx(1.0)
    assert 0.7 < c.confidence < 0.8


def test_fast_alternation_with_one_strong_class_never_confirms():
    """Every 0.3 s the top class flips; one class is strong when on top, the other weak: no mixture confirms."""
    a, b = p(5, 0.9), p(2, 0.95)
    a[2] = 0.08
    a /= a.sum()
    timeline = [(t, a if int(t / 0.3) % 2 else b) for t in np.arange(0, 8, 1 / 30)]
    assert confirmations(run(HoldConfirmer(), timeline)) == []


# ---------- outcome groups: confirm what matters when the class flickers inside one outcome ----------
SEE_DOCTOR = (1, 1, 0, 0, 1, 0, 0)  # akiec, bcc, mel → 1; bkl, df, nv, vasc → 0


def test_alternating_classes_of_one_outcome_confirm_that_outcome_naming_both():
    timeline = [(t, p(4 if int(t / 0.2) % 2 else 0, 0.6)) for t in np.arange(0, 8, 1 / 15)]
    assert confirmations(run(HoldConfirmer(), timeline)) == []  # class by class: never
    (c,) = confirmations(run(HoldConfirmer(groups=SEE_DOCTOR), timeline))
    assert c.t == pytest.approx(3.0, abs=0.1)
    assert set(c.candidates) == {0, 4} and c.class_index in (0, 4)
    assert c.group_confidence == pytest.approx(c.probs[0] + c.probs[1] + c.probs[4])


def test_alternation_across_outcomes_still_never_confirms():
    timeline = [(t, p(4 if int(t / 0.2) % 2 else 5, 0.8)) for t in np.arange(0, 10, 1 / 15)]
    assert confirmations(run(HoldConfirmer(groups=SEE_DOCTOR), timeline)) == []


def test_an_answer_that_keeps_changing_into_see_a_doctor_settles_there():
    """Melanoma and mole in turn: no outcome holds, and after the decision time the cautious one is confirmed on the
    attempt's mean, naming both; without a settle group, or when the doctor group leads too seldom, none is."""
    timeline = [(t, p(4 if int(t / 0.4) % 2 else 5, 0.8)) for t in np.arange(0, 12, 1 / 15)]
    states = run(HoldConfirmer(groups=SEE_DOCTOR, decide_within=10, settle_group=1), timeline)
    (c,) = confirmations(states)
    assert c.t == pytest.approx(10.0, abs=0.1) and c.class_index == 4 and c.held_seconds == pytest.approx(c.t)
    assert c.candidates == (4,) and c.probs == pytest.approx(np.mean([pr for _, pr in timeline[:len(states)]
                                                                        if _ <= c.t + 1e-9], axis=0))
    assert states[-1].phase == "confirmed" and all(s.undecided is None for s in states)
    assert confirmations(run(HoldConfirmer(groups=SEE_DOCTOR, decide_within=10), timeline)) == []
    seldom = [(t, p(4 if round(t * 15) % 10 == 0 else 5, 0.8)) for t in np.arange(0, 12, 1 / 15)]  # 10 % of frames
    states = run(HoldConfirmer(groups=SEE_DOCTOR, decide_within=10, settle_group=1, min_agreement=1.0), seldom)
    assert confirmations(states) == [] and states[-1].undecided == "changing"  # said, not settled


def test_a_steady_class_in_a_group_is_named_alone():
    (c,) = confirmations(run(HoldConfirmer(groups=SEE_DOCTOR), frames(0, 5, 15, p(4))))
    assert c.class_index == 4 and c.candidates == (4,)


def test_live_confidence_is_the_hold_mean_the_card_shows():
    rng = np.random.default_rng(2)
    timeline = [(t, p(3, 0.6 + 0.3 * rng.random())) for t in np.arange(0, 4, 1 / 15)]
    states = run(HoldConfirmer(), timeline)
    (i,) = [k for k, s in enumerate(states) if s.confirmation is not None]
    assert states[i].confidence == pytest.approx(states[i].confirmation.confidence)
    assert states[i - 1].confidence == pytest.approx(np.mean([pr[3] for _, pr in timeline[:i]]), abs=1e-9)
    assert states[i + 1].confidence == pytest.approx(states[i].confirmation.confidence)  # locked: the card's figure


# ---------- undecided: say why when nothing confirms in time ----------
def test_no_result_within_the_limit_says_the_model_keeps_changing():
    timeline = [(t, p(4 if int(t / 0.4) % 2 else 5, 0.8)) for t in np.arange(0, 12, 1 / 15)]
    states = run(HoldConfirmer(decide_within=10), timeline)
    assert all(s.undecided is None for s, (t, _) in zip(states, timeline) if t < 9.99)
    late = [s for s, (t, _) in zip(states, timeline) if t >= 10.01]
    assert late and all(s.undecided == "changing" for s in late)
    assert set(late[-1].rivals) == {4, 5}


def test_no_result_because_frames_are_unusable_names_the_gate_reason():
    conf = HoldConfirmer(decide_within=10)
    states = []
    for t in np.arange(0, 11, 1 / 15):  # sharp 1 frame in 12: blurred for longer than the grace
        states.append(conf.update(t, p(2) if round(t * 15) % 12 == 0 else None, reason="blurry"))
    assert states[-1].undecided == "blurry" and confirmations(states) == []


def test_low_confidence_for_too_long_is_unsure():
    states = run(HoldConfirmer(decide_within=5), frames(0, 6, 15, p(6, 0.4)))
    assert states[-1].undecided == "unsure"


def test_the_clock_starts_when_a_lesion_is_first_seen_and_a_confirmation_clears_it():
    conf = HoldConfirmer(decide_within=10)
    nothing = [conf.update(t, None, reason="no_skin") for t in np.arange(0, 20, 1 / 15)]
    assert all(s.undecided is None for s in nothing)  # nobody showed a lesion yet
    states = run(conf, frames(20, 25, 15, p(1)))
    assert confirmations(states) and all(s.undecided is None for s in states)


def test_a_long_absence_starts_a_new_attempt():
    conf = HoldConfirmer(decide_within=4)
    flicker = [(t, p(4 if int(t / 0.4) % 2 else 5)) for t in np.arange(0, 5, 1 / 15)]
    assert run(conf, flicker)[-1].undecided == "changing"
    gone = [conf.update(t, None, reason="no_lesion") for t in np.arange(5, 10, 1 / 15)]
    assert gone[-1].undecided is None
