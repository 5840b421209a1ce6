"""One settings layer: a CLI flag not given leaves the ``SKINDOCTOR_*`` variable, then the built-in default."""

import json
import os
import subprocess
import sys

import pytest

from skindoctor.cli import build_parser
from skindoctor.dev.clips import Segment, write_video
from skindoctor.stream.pipeline import Pipeline

from .conftest import needs_ham
from .lesions import Key, steady_lesions

ENV = {k: v for k, v in os.environ.items() if not k.startswith("SKINDOCTOR_")} | {
    "SKINDOCTOR_HOLD_SECONDS": "5", "SKINDOCTOR_LANG": "ko", "SKINDOCTOR_LIVE_MAX_RATE": "5"}


def test_flags_over_settings_default_to_not_given():
    parse = build_parser().parse_args
    watch = parse(["watch"])
    assert (watch.hold, watch.decide, watch.max_rate, watch.lang, watch.llm) == (None,) * 5
    assert parse(["diagnose", "x.jpg"]).lang is None and parse(["advise", "mel"]).lang is None
    train = parse(["train"])
    assert (train.epochs, train.lr, train.size, train.batch_size, train.out, train.weights) == (None,) * 6


@pytest.fixture(scope="module")
def clip(classifier, test_split_samples, tmp_path_factory):
    """0.5 s of bare skin, then 7 s of a mole the shipped model recognises steadily, at 10 frames a second."""
    lesion = steady_lesions(Key(Pipeline(classifier)), Key(test_split_samples), ("nv",))["nv"]
    return write_video([Segment(None, 0.5), Segment(lesion, 7.0)], tmp_path_factory.mktemp("clip") / "w.avi", fps=10)


def korean(text: str) -> bool:
    return any("\uac00" <= ch <= "\ud7a3" for ch in text)


def watch(clip, *flags) -> list[dict]:
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "watch", "--source", str(clip), "--json", "--no-llm",
                        *flags], capture_output=True, text=True, timeout=300, env=ENV)
    assert r.returncode == 0, r.stderr
    return [json.loads(line) for line in r.stdout.splitlines()]


@needs_ham
def test_watch_honours_the_environment(clip):
    lines = watch(clip)
    assert korean(lines[0]["quality"]["message"])  # from SKINDOCTOR_LANG
    d = lines[-1]["diagnosis"]
    assert d["advice"]["lang"] == "ko" and 5.0 <= d["held_seconds"] and d["t"] >= 5.5 - 0.05  # a 5-second hold
    assert lines[-1]["stats"]["skipped"] > 0  # SKINDOCTOR_LIVE_MAX_RATE=5 on a 10 fps clip: every other frame


@needs_ham
def test_a_flag_given_beats_the_environment(clip):
    lines = watch(clip, "--hold", "1.5", "--lang", "en", "--max-rate", "10")
    assert not korean(lines[0]["quality"]["message"])
    d = lines[-1]["diagnosis"]
    assert d["advice"]["lang"] == "en" and 1.5 <= d["held_seconds"] < 3.0 and d["t"] < 3.5
    assert lines[-1]["stats"]["skipped"] == 0
