"""A quick run of `skindoctor bench` (tiny iteration counts) so the benchmark cannot rot."""

import subprocess
import sys

import pytest

from skindoctor.model_card import load_card

from .conftest import MODELS

pytestmark = pytest.mark.slow


def test_bench_smoke(tmp_path):
    out = tmp_path / "benchmarks.md"
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "bench", "--model-dir", str(MODELS), "--out", str(out),
                        "--iters", "3", "--frames", "5", "--realtime-seconds", "1", "--accuracy-limit", "20",
                        "--peer-python", str(tmp_path / "no-peer")],
                       capture_output=True, text=True, timeout=300)
    assert r.returncode == 0, r.stderr[-2000:]
    assert "faster" in r.stdout and "per-frame p50" in r.stdout
    text = out.read_text()
    for needle in ("onnxruntime int8", "onnxruntime fp32", "torch eager fp32", "faster than torch eager",
                   "camera's pace", "Cold start", "fps", "serve` RSS", "classify"):
        assert needle in text
    views = load_card(MODELS).views
    assert f"the crop as {views} view" in text  # as the card says
    assert (f"{views} views beside one, same run" in text) == (views > 1)  # and what they cost, measured
    assert "Photo for the clip" in text and "Beside the peer: sklesion" in text  # peer absent: said so
    assert out.with_suffix(".png").stat().st_size > 1000
