"""A Keras MobileNetV2 .h5 classifier becomes our ONNX + model card, matching Keras' outputs."""

import subprocess
import sys

import numpy as np
import pytest

from skindoctor.model_card import load_card
from skindoctor.vision.classifier import OnnxClassifier

pytestmark = pytest.mark.slow
keras = pytest.importorskip("keras", reason="needs the [keras] extra (tensorflow-cpu, tf2onnx)")


@pytest.fixture(scope="module")
def h5_model(tmp_path_factory):
    """A MobileNetV2-style network (the layer types of keras.applications.MobileNetV2: ZeroPadding, Conv2D,
    BatchNormalization, ReLU6, DepthwiseConv2D, inverted residual with Add, pooling, Dropout, softmax Dense),
    shallow enough that random weights still give input-dependent outputs."""
    path = tmp_path_factory.mktemp("keras") / "team_model.h5"
    keras.utils.set_random_seed(0)
    L = keras.layers
    inp = keras.Input((96, 96, 3))
    x = L.ZeroPadding2D(((0, 1), (0, 1)))(inp)
    x = L.ReLU(6.0)(L.BatchNormalization()(L.Conv2D(16, 3, strides=2, use_bias=False)(x)))
    y = L.ReLU(6.0)(L.BatchNormalization()(L.Conv2D(48, 1, use_bias=False)(x)))
    y = L.ReLU(6.0)(L.BatchNormalization()(L.DepthwiseConv2D(3, padding="same", use_bias=False)(y)))
    y = L.BatchNormalization()(L.Conv2D(16, 1, use_bias=False)(y))
    x = L.Add()([x, y])
    x = L.GlobalAveragePooling2D()(x)
    out = L.Dense(3, activation="softmax")(L.Dropout(0.2)(x))
    model = keras.Model(inp, out)
    rng = np.random.default_rng(0)
    model.layers[-1].set_weights([rng.normal(0, 3.0, (16, 3)).astype(np.float32),
                                  np.array([0.3, -0.2, 0.0], np.float32)])
    model.save(path)
    return path, model


def test_import_h5_matches_keras(h5_model, tmp_path):
    path, model = h5_model
    out = tmp_path / "imported"
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "import-h5", str(path), "--classes", "mel,nv,benign_x",
                        "--model-dir", str(out)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 0, r.stderr[-3000:]
    card = load_card(out)
    assert [c.code for c in card.lesion_classes()] == ["mel", "nv", "benign_x"]
    assert card.input.size == 96 and card.input.mean == (0.5, 0.5, 0.5)
    clf = OnnxClassifier(out)
    rng = np.random.default_rng(1)
    # Crops of different overall colour: pure noise averages out in the pooling and barely moves the output.
    tints = [(30, 30, 30), (220, 220, 220), (200, 60, 40), (40, 90, 210)]
    crops = [np.clip(rng.normal(t, 25, (96, 96, 3)), 0, 255).astype(np.uint8) for t in tints]
    ours = np.stack([p.probs for p in clf.predict_batch(crops)])
    theirs = model.predict(np.stack(crops).astype(np.float32) / 127.5 - 1, verbose=0)
    np.testing.assert_allclose(ours, theirs, atol=1e-4)
    assert np.ptp(ours, axis=0).max() > 0.01  # outputs depend on the input, so agreement is meaningful


def test_import_h5_rejects_wrong_class_count_and_non_model(h5_model, tmp_path):
    path, _ = h5_model
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "import-h5", str(path), "--classes", "a,b",
                        "--model-dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and "3 outputs but 2 classes" in r.stderr and "Traceback" not in r.stderr
    junk = tmp_path / "junk.h5"
    junk.write_bytes(b"not hdf5")
    r = subprocess.run([sys.executable, "-m", "skindoctor.cli", "import-h5", str(junk), "--classes", "a",
                        "--model-dir", str(tmp_path)], capture_output=True, text=True, timeout=600)
    assert r.returncode == 2 and "not a Keras model file" in r.stderr and "Traceback" not in r.stderr
