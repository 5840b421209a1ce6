"""Shared fixtures: the real shipped model, the shared HAM10000 data (skipped when absent)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
SHARED = Path(os.environ.get("SKINDOCTOR_SHARED", ROOT.parent / "shared"))
DATA = SHARED / "data"
HAM = DATA / "ham10000"
WEIGHTS = SHARED / "weights" / "mobilenet_v2_imagenet_from_coral_tf1qat.pth"
MODELS = ROOT / "models"
SPLIT = MODELS / "split.csv"

needs_ham = pytest.mark.skipif(not (HAM / "metadata.csv").is_file(),
                               reason=f"HAM10000 data not found at {HAM} (present in CI beside the repo)")
needs_collection = pytest.mark.skipif(
    not all((DATA / d / "labels.csv").is_file() for d in ("pad_ufes_20_partial", "nonlesion")),
    reason=f"PAD-UFES-20 / non-lesion photos not found under {DATA} (present in CI beside the repo)")
needs_weights = pytest.mark.skipif(not WEIGHTS.is_file(),
                                   reason=f"ImageNet weights not found at {WEIGHTS} (present in CI beside the repo)")


def _has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


needs_torch = pytest.mark.skipif(not _has("torch"), reason="needs the [train] extra (torch)")


@pytest.fixture(scope="session")
def ham_samples():
    if not (HAM / "metadata.csv").is_file():
        pytest.skip(f"HAM10000 data not found at {HAM}")
    from skindoctor.train.data import read_ham10000

    return read_ham10000(HAM)


@pytest.fixture(scope="session")
def test_split_samples(ham_samples):
    """The shipped model's held-out test images."""
    from skindoctor.train.data import read_split

    split = read_split(ham_samples, SPLIT)
    return [s for s in ham_samples if split[str(s.path)] == "test"]


@pytest.fixture(scope="session")
def classifier():
    from skindoctor.vision.classifier import OnnxClassifier

    return OnnxClassifier(MODELS)
