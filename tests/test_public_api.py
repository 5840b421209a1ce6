"""The public API (``skindoctor.load`` / ``diagnose``) and the installable wheel with its shipped model."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

import numpy as np
import pytest

import skindoctor
from skindoctor.vision.localize import Localization

from .conftest import ROOT


def _lesion_photo() -> np.ndarray:
    img = np.full((300, 400, 3), (205, 160, 140), np.uint8)
    import cv2

    cv2.ellipse(img, (200, 150), (60, 45), 0, 0, 360, (90, 55, 40), -1)
    return img


def test_diagnose_matches_the_pipeline_it_loads():
    img = _lesion_photo()
    a, b = skindoctor.diagnose(img), skindoctor.load().analyse(img)
    assert a.quality.reason == b.quality.reason
    assert (a.prediction is None) == (b.prediction is None)
    if a.prediction is not None:
        np.testing.assert_allclose(a.prediction.probs, b.prediction.probs, atol=1e-6)


def test_a_localiser_drops_in_at_the_factory():
    calls = []

    class NoLesion:
        def locate(self, frame, small=None):
            calls.append(frame.shape)
            return Localization(None, 0.0, 0.0)

    analysis = skindoctor.load(localizer=NoLesion()).analyse(_lesion_photo())
    assert calls and analysis.quality.reason == "no_lesion" and analysis.prediction is None


def test_bad_bytes_are_a_clear_error():
    from skindoctor.errors import InputError

    with pytest.raises(InputError):
        skindoctor.diagnose(b"not an image")


@pytest.mark.slow
def test_the_built_wheel_diagnoses_a_photo_outside_the_checkout(tmp_path):
    """Build the wheel, install it in a fresh venv (dependencies seen from this one), run the CLI elsewhere."""
    source = tmp_path / "source"  # built from a copy, so setuptools' build/ never lands in the checkout
    for part in ("src", "models"):
        shutil.copytree(ROOT / part, source / part, ignore=shutil.ignore_patterns("__pycache__", "*.egg-info"))
    for part in ("pyproject.toml", "README.md", "LICENSE"):
        if (ROOT / part).exists():
            shutil.copy2(ROOT / part, source / part)
    wheels = tmp_path / "wheels"
    subprocess.run([sys.executable, "-m", "pip", "wheel", "-q", "--no-deps", "--no-build-isolation", "-w",
                    str(wheels), str(source)], check=True, timeout=300)
    venv = tmp_path / "venv"
    subprocess.run([sys.executable, "-m", "venv", "--without-pip", str(venv)], check=True)
    py = venv / "bin/python"
    subprocess.run([sys.executable, "-m", "pip", "--python", str(py), "install", "-q", "--no-deps",
                    str(next(wheels.glob("*.whl")))], check=True, timeout=300)
    site = Path(subprocess.check_output([str(py), "-c", "import sysconfig; print(sysconfig.get_paths()['purelib'])"],
                                        text=True).strip())
    (site / "zz_deps.pth").write_text(sysconfig.get_paths()["purelib"] + "\n")  # after the wheel's own files
    work = tmp_path / "elsewhere"
    work.mkdir()
    photo = work / "spot.png"
    import cv2

    cv2.imwrite(str(photo), cv2.cvtColor(_lesion_photo(), cv2.COLOR_RGB2BGR))
    env = {k: v for k, v in os.environ.items() if not k.startswith("SKINDOCTOR_") and k != "PYTHONPATH"}
    where = subprocess.check_output([str(py), "-c", "import skindoctor.model_card as m; print(m.default_models_dir())"],
                                    cwd=work, env=env, text=True).strip()
    assert Path(where).is_relative_to(site), where  # the model came with the package, not from the checkout
    out = subprocess.run([str(venv / "bin/skindoctor"), "diagnose", "--json", str(photo)], cwd=work, env=env,
                         capture_output=True, text=True, timeout=120)
    assert out.returncode == 0, out.stderr
    row = json.loads(out.stdout)
    assert row["quality"]["reason"] and row["image"] == str(photo)
    assert shutil.which("skindoctor", path=str(venv / "bin"))
