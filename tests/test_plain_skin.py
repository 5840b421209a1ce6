"""The skin-without-lesion test set and `skindoctor evaluate` on an external labelled set."""

import csv
import importlib.util
import json
import shutil
import subprocess
import sys

import cv2
import numpy as np
import pytest

from .conftest import HAM, MODELS, ROOT, SPLIT, needs_ham

spec = importlib.util.spec_from_file_location("plain_skin", ROOT / "bench" / "plain_skin.py")
plain_skin = importlib.util.module_from_spec(spec)
spec.loader.exec_module(plain_skin)


def test_plain_square_stays_clear_of_the_lesion_and_the_border():
    mask = np.zeros((150, 200), np.uint8)
    cv2.circle(mask, (60, 75), 40, 255, -1)
    x, y, half = plain_square(mask)
    square = np.zeros_like(mask)
    square[y - half:y + half, x - half:x + half] = 1
    grown = cv2.dilate(mask, np.ones((9, 9), np.uint8))
    assert half >= 20 and not (square & (grown > 0)).any()
    assert y - half >= 0 and x - half >= 0 and y + half <= 150 and x + half <= 200
    assert plain_square(np.full((150, 200), 255, np.uint8)) is None


plain_square = plain_skin.plain_square


@pytest.mark.slow
@needs_ham
def test_evaluate_scores_an_external_set_through_the_product(tmp_path):
    out = tmp_path / "plain"
    r = subprocess.run([sys.executable, str(ROOT / "bench" / "plain_skin.py"), "--data", str(HAM), "--split",
                        str(SPLIT), "--out", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    with (out / "labels.csv").open() as f:
        rows = list(csv.DictReader(f))[:80]
    assert rows and {row["label"] for row in rows} == {"nolesion"}
    with (out / "labels.csv").open("w", newline="") as f:  # a smaller set keeps the test quick
        w = csv.DictWriter(f, ["filename", "label", "group", "split"])
        w.writeheader()
        w.writerows(rows)
    models = tmp_path / "models"
    shutil.copytree(MODELS, models, ignore=shutil.ignore_patterns("*.pt"))
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "evaluate", "--data", str(out), "--name", "plain_skin",
                        "--model-dir", str(models), "--docs", str(tmp_path / "docs")],
                       capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr
    assert "plain_skin: 80 photos, non-lesions rejected" in r.stdout
    m = json.loads((models / "model_card.json").read_text())["metrics"]["domains"]["plain_skin"]
    assert m["n"] == 80 and 0.5 <= m["nonlesion_rejected"] <= 1 and "balanced_accuracy" not in m
    assert (tmp_path / "docs" / "model_card.md").read_text().count("plain_skin") >= 1
