"""Live recognition on real video: clips built from real lesion photos, through the whole pipeline."""

import json
import subprocess
import sys

import numpy as np
import pytest

from skindoctor.advice.advisor import Advisor
from skindoctor.advice.knowledge import load_knowledge
from skindoctor.config import get_settings
from skindoctor.dev.clips import Segment, write_video
from skindoctor.errors import InputError
from skindoctor.model_card import load_card
from skindoctor.results import frame_out
from skindoctor.stream.pipeline import Pipeline
from skindoctor.stream.sources import open_source

from .conftest import MODELS, needs_ham
from .lesions import Key, steady_lesions

pytestmark = needs_ham
A, B = "nv", "bkl"


@pytest.fixture(scope="module")
def pipeline(classifier):
    return Pipeline(classifier)


@pytest.fixture(scope="module")
def lesions(pipeline, test_split_samples):
    return steady_lesions(Key(pipeline), Key(test_split_samples), (A, B))


def run(pipeline, path, **kw):
    pipeline.reset()
    return list(pipeline.run(open_source(str(path)), **kw))


def diagnoses(results):
    """The confirmed results, as the API sends them."""
    advisor = Advisor.from_settings(load_card(MODELS), settings=get_settings(llm_provider="none"))
    return [frame_out(r, advisor, "en").diagnosis for r in results if r.confirmation is not None]


def test_steady_lesion_confirms_after_three_seconds_of_stable_frames(pipeline, lesions, tmp_path):
    clip = write_video([Segment(None, 1.0), Segment(lesions[A], 5.0, motion=8, brightness=1.0)], tmp_path / "a.avi")
    results = run(pipeline, clip)
    (d,) = diagnoses(results)
    assert d.code == A and d.held_seconds >= 3.0 and d.name == load_knowledge("en").entry(A).name
    assert 4.0 <= d.t <= 4.6  # lesion appears at 1.0 s, confirmed after a 3 s hold
    assert d.box is not None
    first = results[0]
    assert not first.analysis.quality.ok and first.analysis.quality.reason == "no_lesion"
    progress = [r.hold.progress for r in results if r.hold.phase == "holding"]
    assert progress[-1] > 0.9 and progress == sorted(progress)


def test_brightness_change_and_motion_do_not_break_the_hold(pipeline, lesions, tmp_path):
    segs = [Segment(lesions[A], 1.5, motion=12, brightness=1.0), Segment(lesions[A], 1.5, motion=12, brightness=0.8),
            Segment(lesions[A], 2.0, motion=12, brightness=1.1)]
    (d,) = diagnoses(run(pipeline, write_video(segs, tmp_path / "b.avi")))
    assert d.code == A and 3.0 <= d.t <= 3.5


def test_blur_stops_classification_and_restarts_the_hold(pipeline, lesions, tmp_path):
    segs = [Segment(lesions[A], 2.0), Segment(lesions[A], 1.5, blur=4.0), Segment(lesions[A], 4.0)]
    results = run(pipeline, write_video(segs, tmp_path / "c.avi"))
    blurred = [r for r in results if 2.2 < r.t < 3.4]
    assert blurred and all(r.analysis.quality.reason == "blurry" and r.analysis.prediction is None for r in blurred)
    (d,) = diagnoses(results)
    assert d.t >= 3.5 + 3.0 - 0.05  # a fresh 3-second hold after focus came back


def test_switch_to_another_lesion_gives_a_second_diagnosis(pipeline, lesions, tmp_path):
    segs = [Segment(lesions[A], 4.0), Segment(None, 1.0), Segment(lesions[B], 4.5)]
    ds = diagnoses(run(pipeline, write_video(segs, tmp_path / "d.avi")))
    assert [d.code for d in ds] == [A, B]
    assert ds[1].t >= 5.0 + 3.0 - 0.05


def test_flickering_prediction_never_confirms(pipeline, lesions, tmp_path):
    segs = [Segment(lesions[A if i % 2 else B], 0.3) for i in range(24)]  # 7.2 s of A/B alternation
    assert diagnoses(run(pipeline, write_video(segs, tmp_path / "e.avi"))) == []


def test_bounded_rate_skips_frames(pipeline, lesions, tmp_path):
    clip = write_video([Segment(lesions[A], 2.0)], tmp_path / "f.avi", fps=30)
    results = run(pipeline, clip, max_rate=10)
    assert 18 <= len(results) <= 21
    assert results[-1].stats["skipped"] >= 35


def test_truncated_video_ends_cleanly(pipeline, lesions, tmp_path):
    clip = write_video([Segment(lesions[A], 2.0)], tmp_path / "g.avi")
    data = clip.read_bytes()
    cut = tmp_path / "cut.avi"
    cut.write_bytes(data[: len(data) // 2])
    results = run(pipeline, cut)
    assert 0 < len(results) < 30


def test_missing_source_is_a_clear_error(tmp_path):
    with pytest.raises(InputError, match="no such file"):
        open_source(str(tmp_path / "nope.mp4"))
    (tmp_path / "empty").mkdir()
    with pytest.raises(InputError, match="no images"):
        open_source(str(tmp_path / "empty"))


def test_custom_hold_time(classifier, lesions, tmp_path):
    p = Pipeline(classifier).fresh(hold_seconds=1.5)
    (d,) = diagnoses(run(p, write_video([Segment(lesions[A], 3.0)], tmp_path / "h.avi")))
    assert 1.5 <= d.t <= 1.9


def test_watch_cli_json_lines_and_exit(lesions, tmp_path):
    clip = write_video([Segment(None, 0.5), Segment(lesions[A], 4.0)], tmp_path / "w.avi")
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "watch", "--source", str(clip), "--json", "--no-llm"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr
    lines = [json.loads(x) for x in r.stdout.splitlines()]
    assert lines[0]["quality"]["ok"] is False
    final = lines[-1]["diagnosis"]
    assert final["code"] == A and final["advice"]["source"] == "knowledge_base"
    assert final["advice"]["urgency"] in ("routine", "weeks", "prompt")
    # without --json: the confirmed diagnosis and its care advice in words
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "watch", "--source", str(clip), "--no-llm",
                        "--lang", "ko"], capture_output=True, text=True, timeout=300)
    assert r.returncode == 0 and "Confirmed:" in r.stdout and "의료기기" in r.stdout


def test_watch_cli_source_ends_without_diagnosis(lesions, tmp_path):
    clip = write_video([Segment(lesions[A], 1.0)], tmp_path / "short.avi")
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "watch", "--source", str(clip), "--no-llm"],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 1 and "ended before a diagnosis" in r.stderr and "Traceback" not in r.stderr


def test_folder_source_uses_media_time(classifier, tmp_path, lesions):
    import cv2

    for i in range(5):
        cv2.imwrite(str(tmp_path / f"{i:03d}.png"), cv2.cvtColor(lesions[A], cv2.COLOR_RGB2BGR))
    frames = list(open_source(str(tmp_path), fps=2.0))
    assert [f.t for f in frames] == [0.0, 0.5, 1.0, 1.5, 2.0]
    assert np.array_equal(frames[0].image, lesions[A])


def test_live_source_that_disappears_ends_with_clear_error(pipeline, lesions, tmp_path):
    from skindoctor.stream.sources import OpenCVSource, SourceLost

    clip = write_video([Segment(lesions[A], 1.0)], tmp_path / "camera.avi")
    source = OpenCVSource(str(clip), live=True, reconnects=2, reconnect_delay=0.05)
    clip.unlink()  # the device is gone: it plays out what it had, then cannot be reopened
    pipeline.reset()
    seen = 0
    with pytest.raises(SourceLost, match="stopped sending frames"):
        for _ in pipeline.run(source):
            seen += 1
    assert seen > 0


class _FindsOnlyCloserUp:
    """A localiser that finds nothing in the frame search and a fixed box when it looks closer."""

    name = "test"

    def __init__(self):
        self.closer = 0

    def locate(self, frame, small=None):
        from skindoctor.vision.localize import Localization

        return Localization(None, 0.0, 0.0)

    def look_wider(self, frame, skin=None):
        from skindoctor.vision.localize import Box, Localization

        self.closer += 1
        return Localization(Box(100, 100, 180, 180), 0.02, 30.0)


def test_the_closer_look_runs_only_on_skin_where_nothing_was_found(classifier):
    from skindoctor.analysis import analyse
    from skindoctor.spec import build_spec

    rng = np.random.default_rng(0)
    skin = np.clip(rng.normal((200, 150, 130), 8, (480, 640, 3)), 0, 255).astype(np.uint8)
    localizer = _FindsOnlyCloserUp()
    spec = build_spec(classifier, localizer)
    result = analyse(skin, classifier, localizer, spec)
    assert localizer.closer == 1 and result.box is not None and result.box.x0 == 100
    grey = np.full((480, 640, 3), 128, np.uint8)  # no skin in view: no closer look
    analyse(grey, classifier, localizer, spec)
    dark = np.full((480, 640, 3), 10, np.uint8)  # refused by the gate before any search
    analyse(dark, classifier, localizer, spec)
    assert localizer.closer == 1
