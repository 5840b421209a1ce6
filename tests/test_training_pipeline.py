"""train → export → evaluate on a small 3-class folder dataset: resumable, any class list."""

import json
import subprocess
import sys

import cv2
import numpy as np
import pytest

from skindoctor.model_card import load_card
from skindoctor.vision.classifier import OnnxClassifier

from .conftest import WEIGHTS, needs_torch, needs_weights

pytestmark = [pytest.mark.slow, needs_torch, needs_weights]
CLASSES = {"red_spot": (200, 40, 40), "dark_spot": (40, 30, 30), "blue_spot": (60, 60, 200)}


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("lesions")
    rng = np.random.default_rng(0)
    for cls, color in CLASSES.items():
        (root / cls).mkdir()
        for i in range(24):
            img = np.full((90, 120, 3), (210, 170, 150), np.uint8)
            cv2.circle(img, (int(rng.integers(40, 80)), int(rng.integers(30, 60))), int(rng.integers(12, 25)),
                       color, -1)
            cv2.imwrite(str(root / cls / f"{i}.jpg"), cv2.cvtColor(img, cv2.COLOR_RGB2BGR))
    return root


def _cli(*args):
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", *args], capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stderr[-3000:]
    return r.stdout


def test_train_resume_export_evaluate(dataset, tmp_path):
    run = tmp_path / "run"
    common = ["--data", str(dataset), "--out", str(run), "--size", "64", "--batch-size", "8", "--max-steps", "3",
              "--workers", "0", "--weights", str(WEIGHTS)]
    _cli("train", *common, "--epochs", "1")
    first = (run / "train.log").read_text()
    assert '"epoch": 1' in first
    _cli("train", *common, "--epochs", "2")  # resumes from last.pt: runs epoch 2 only
    log = (run / "train.log").read_text()
    assert "resumed from" in log and '"epoch": 2' in log and log.count('"epoch": 1,') == 1

    models, docs = tmp_path / "models", tmp_path / "docs"
    _cli("export", str(run / "best.pt"), "--data", str(dataset), "--split", str(run / "split.csv"),
         "--model-dir", str(models), "--calibration-images", "10")
    card = load_card(models)
    assert [c.code for c in card.lesion_classes()] == sorted(CLASSES)
    assert card.input.size == 64 and card.temperature > 0
    for variant in ("fp32", "int8"):
        check = card.metrics["export_check"][variant]
        assert 0 <= check["top1_agreement"] <= 1 and check["images"] > 0
    assert card.metrics["export_check"]["fp32"]["max_prob_diff"] < 1e-4
    assert (models / card.files["int8"]).stat().st_size < (models / card.files["fp32"]).stat().st_size / 2

    out = _cli("evaluate", "--data", str(dataset), "--split", str(run / "split.csv"), "--model-dir", str(models),
               "--docs", str(docs))
    assert "balanced accuracy" in out
    card = json.loads((models / "model_card.json").read_text())
    test = card["metrics"]["domains"]["test"]
    assert set(test["per_class"]) == set(CLASSES) and test["variant"] == "int8"
    assert len(test["confusion_matrix"]) == 3 and 0 <= test["ci95"]["balanced_accuracy"][0] <= 1
    assert 0 < card["malignant_threshold"] <= 1 if card["malignant_threshold"] is not None else True
    assert "top1_agreement" in card["metrics"]["int8_vs_fp32"]
    for name in ("confusion_test.png", "reliability_test.png", "model_card.md"):
        assert (docs / name).stat().st_size > 1000
    clf = OnnxClassifier(models)
    assert clf.predict(np.zeros((50, 50, 3), np.uint8)).probs.shape == (3,)
