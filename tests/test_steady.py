"""The live stream keeps the lesion box while the picture holds still, and finds it again when it changes."""

from __future__ import annotations

import numpy as np
import pytest

import skindoctor
from skindoctor.dev.benchmark import CountingLocalizer
from skindoctor.dev.clips import Segment, frames
from skindoctor.stream.steady import SteadyLocalizer, SteadySettings
from skindoctor.vision.localize import Box, Localization

from .conftest import needs_ham
from .lesions import Key, steady_lesions

MAX_REUSE = SteadySettings().max_reuse


class DarkerQuarter:
    """A localiser that boxes the darker of the frame's top-left and bottom-right quarters."""

    def locate(self, frame, small=None):
        h, w = frame.shape[:2]
        dark = frame[: h // 2, : w // 2].mean() < frame[h // 2:, w // 2:].mean()
        box = Box(0, 0, w // 2, h // 2) if dark else Box(w // 2, h // 2, w, h)
        return Localization(box, 0.25, 30.0)


def noisy(rng, base):
    return np.clip(base + rng.normal(0, 2, base.shape), 0, 255).astype(np.uint8)


@pytest.fixture
def scene():
    base = np.full((480, 640, 3), 180, np.float32)
    base[:240, :320] = 90
    return base


def test_a_still_picture_reuses_the_box_then_checks_again(scene):
    inner, rng = CountingLocalizer(DarkerQuarter()), np.random.default_rng(0)
    steady = SteadyLocalizer(inner)
    found = [steady.locate(noisy(rng, scene)) for _ in range(3 * (MAX_REUSE + 1))]
    assert inner.calls == 3  # once, then again after every MAX_REUSE reused frames
    assert all(f.box == Box(0, 0, 320, 240) for f in found)


def test_a_changed_picture_is_searched_at_once(scene):
    inner, rng = CountingLocalizer(DarkerQuarter()), np.random.default_rng(0)
    steady = SteadyLocalizer(inner)
    steady.locate(noisy(rng, scene))
    moved = scene[::-1, ::-1].copy()  # the spot is now in the other corner
    assert steady.locate(noisy(rng, moved)).box == Box(320, 240, 640, 480)
    steady.locate(noisy(rng, moved * 0.8))  # the light changed
    steady.locate(noisy(rng, moved)[:240])  # another frame size
    assert inner.calls == 4


def test_reset_forgets_the_box(scene):
    inner, rng = CountingLocalizer(DarkerQuarter()), np.random.default_rng(0)
    steady = SteadyLocalizer(inner)
    steady.locate(noisy(rng, scene))
    steady.reset()
    steady.locate(noisy(rng, scene))
    assert inner.calls == 2


@needs_ham
def test_the_live_path_reuses_boxes_on_a_held_camera_and_photos_never_do(test_split_samples):
    """A camera-like clip of a real lesion: the shipped localiser runs on a fifth of the frames, the boxes stay
    on the lesion (IoU with each frame's own box), the same class is confirmed; a photo is always searched."""
    pipeline = skindoctor.load()
    lesion = steady_lesions(Key(pipeline), Key(test_split_samples), ("nv",))["nv"]
    clip = list(frames([Segment(lesion, 4.0, motion=8)]))
    live = pipeline.fresh()
    shipped = live.localizer
    stream = live.stream_localizer.localizer = CountingLocalizer(shipped)
    results = [live.process(f, i / 30) for i, f in enumerate(clip)]
    assert stream.calls <= len(clip) // (MAX_REUSE + 1) + 1
    ious = [r.analysis.box.iou(shipped.locate(f).box) for r, f in zip(results, clip)]
    assert min(ious) >= 0.8 and np.mean(ious) >= 0.9, (min(ious), np.mean(ious))
    (confirmation,) = [r.confirmation for r in results if r.confirmation is not None]
    assert live.classes[confirmation.class_index] == "nv"
    photos = live.localizer = CountingLocalizer(shipped)
    for f in clip[:3]:
        live.analyse(f)
    assert photos.calls == 3  # the photo path searches every picture
