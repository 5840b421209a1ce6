"""The class activation maps of the shipped models: a second output that leaves the logits untouched."""

import numpy as np
import onnx
import pytest

from skindoctor.vision.classifier import OnnxClassifier

from .conftest import MODELS

train = pytest.importorskip("skindoctor.train.cam", reason="needs the [train] extra (onnx)")


def test_cam_averages_to_the_logits_and_gives_a_heat_map_per_prediction():
    clf = OnnxClassifier(MODELS, variant="fp32")
    assert clf.has_cam
    x = np.random.default_rng(0).uniform(-1, 1, (2, 3, clf.spec.size, clf.spec.size)).astype(np.float32)
    logits, cam = clf.session.run(["logits", "cam"], {clf.input_name: x})
    model = onnx.load(str(clf.path))
    bias = next(onnx.numpy_helper.to_array(i) for i in model.graph.initializer if i.name == "classifier.1.bias")
    np.testing.assert_allclose(cam.mean(axis=(2, 3)) + bias, logits, atol=1e-4)  # Zhou et al.: GAP of the CAM
    crop = np.random.default_rng(1).integers(0, 255, (200, 200, 3), np.uint8)
    pred = clf.predict(crop)
    heat = pred.heatmap()
    assert heat.shape == cam.shape[2:] and 0 <= heat.min() and heat.max() <= 1
    assert pred.cam.shape[0] == len(clf.classes)  # the "not a lesion" map is not offered


def test_adding_the_output_twice_changes_nothing_and_foreign_graphs_are_left_alone(tmp_path):
    path = tmp_path / "m.onnx"
    path.write_bytes((MODELS / "skindoctor-mnv2-int8.onnx").read_bytes())
    assert train.add_cam_output(path) and path.read_bytes() == (MODELS / "skindoctor-mnv2-int8.onnx").read_bytes()
    x = onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1, 4])
    y = onnx.helper.make_tensor_value_info("logits", onnx.TensorProto.FLOAT, [1, 4])
    graph = onnx.helper.make_graph([onnx.helper.make_node("Relu", ["x"], ["logits"])], "g", [x], [y])
    other = tmp_path / "other.onnx"
    onnx.save(onnx.helper.make_model(graph), str(other))
    assert not train.add_cam_output(other)
