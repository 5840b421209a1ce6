"""int8 quantisation: bias correction cancels the mean shift of rounded weights; the classifier stays float."""

import numpy as np
import onnx
import onnxruntime as ort
import pytest
from onnx import TensorProto, helper, numpy_helper

from skindoctor.model_card import InputSpec
from skindoctor.train import quantize

SIZE = 16


def _conv_model(rng: np.random.Generator) -> onnx.ModelProto:
    """image → 3×3 conv (3→6) → depthwise 3×3 conv (group 6, no bias) → pool → Gemm (6→4).

    Each output channel has one large weight among small ones, so per-channel int8 rounding of the
    small ones is coarse — the case where a non-zero input mean turns rounding into a mean shift.
    """
    w1 = rng.normal(0, 0.05, (6, 3, 3, 3)).astype(np.float32)
    w1[:, 0, 1, 1] = 4.0
    w2 = rng.normal(0, 0.05, (6, 1, 3, 3)).astype(np.float32)
    w2[:, 0, 0, 0] = -3.0
    inits = [numpy_helper.from_array(w1, "w1"), numpy_helper.from_array(np.zeros(6, np.float32), "b1"),
             numpy_helper.from_array(w2, "w2"),
             numpy_helper.from_array(rng.normal(0, 1, (4, 6)).astype(np.float32), "w3"),
             numpy_helper.from_array(np.zeros(4, np.float32), "b3")]
    nodes = [helper.make_node("Conv", ["image", "w1", "b1"], ["c1"], name="conv1", pads=[1, 1, 1, 1]),
             helper.make_node("Conv", ["c1", "w2"], ["c2"], name="dwconv", pads=[1, 1, 1, 1], group=6),
             helper.make_node("GlobalAveragePool", ["c2"], ["pooled"], name="pool"),
             helper.make_node("Flatten", ["pooled"], ["flat"], name="flatten"),
             helper.make_node("Gemm", ["flat", "w3", "b3"], ["logits"], name="classifier", transB=1)]
    graph = helper.make_graph(nodes, "tiny",
                              [helper.make_tensor_value_info("image", TensorProto.FLOAT, [None, 3, SIZE, SIZE])],
                              [helper.make_tensor_value_info("logits", TensorProto.FLOAT, [None, 4])], inits)
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13)])


def _images(rng: np.random.Generator, n: int) -> list[np.ndarray]:
    """Nearly uniform skin-toned photos: a large, almost constant input mean."""
    base = np.array([200, 150, 120], np.float32)
    return [np.clip(base + rng.normal(0, 6, (SIZE * 2, SIZE * 2, 3)), 0, 255).astype(np.uint8) for _ in range(n)]


def _outputs(model: onnx.ModelProto, batch: np.ndarray, name: str) -> np.ndarray:
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    probe.graph.output.append(helper.make_tensor_value_info(name, TensorProto.FLOAT, None))
    sess = ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
    return sess.run([name], {"image": batch})[0]


def _with_weights(model: onnx.ModelProto, weights: dict[str, np.ndarray]) -> onnx.ModelProto:
    out = onnx.ModelProto()
    out.CopyFrom(model)
    by_name = {n.name: n.input[1] for n in out.graph.node if n.op_type == "Conv"}
    for init in out.graph.initializer:
        for conv, w in weights.items():
            if init.name == by_name[conv]:
                init.CopyFrom(numpy_helper.from_array(w, init.name))
    return out


@pytest.fixture(scope="module")
def tiny(tmp_path_factory):
    rng = np.random.default_rng(0)
    path = tmp_path_factory.mktemp("q") / "tiny.onnx"
    onnx.save(_conv_model(rng), str(path))
    return path, _images(rng, 40), InputSpec(size=SIZE)


def test_bias_correction_cancels_the_mean_shift_of_rounded_weights(tiny, tmp_path):
    path, images, spec = tiny
    model = onnx.load(str(path))
    batch = quantize.calibration_batch(images, spec)
    quantize._quantize(path, tmp_path / "q.onnx", batch, "image", [])
    rounded = quantize._dequantized_weights(onnx.load(str(tmp_path / "q.onnx")))
    assert set(rounded) == {"conv1", "dwconv"}

    shifts = quantize.bias_shifts(model, onnx.load(str(tmp_path / "q.onnx")),
                                  quantize.conv_input_means(model, batch, "image"))
    assert shifts["dwconv"].shape == (6,)  # grouped: one shift per output channel
    rounded_only = _with_weights(model, rounded)
    corrected = quantize.with_corrected_biases(rounded_only, shifts)
    assert any(i.name == "dwconv_corrected_bias" for i in corrected.graph.initializer)  # bias added where missing
    for name in ("c1", "c2"):
        reference = _outputs(model, batch, name).mean(axis=(0, 2, 3))
        before = np.abs(_outputs(rounded_only, batch, name).mean(axis=(0, 2, 3)) - reference)
        after = np.abs(_outputs(corrected, batch, name).mean(axis=(0, 2, 3)) - reference)
        assert before.max() > 1e-3, name  # rounding does shift the mean here
        assert after.max() < before.max() / 5, (name, before, after)


def test_quantize_int8_corrects_every_conv_and_keeps_the_classifier_float(tiny, tmp_path):
    path, images, spec = tiny
    out = tmp_path / "int8.onnx"
    info = quantize.quantize_int8(path, out, images[:30], spec, check=images[30:])
    assert info["bias_corrected_convs"] == 2 - info["float_leading_convs"] and info["check_images"] == 10
    assert [t["float_leading_convs"] for t in info["tried"]][0] == 0
    model = onnx.load(str(out))
    quantized_inputs = {n.output[0] for n in model.graph.node if n.op_type == "DequantizeLinear"}
    gemm = next(n for n in model.graph.node if n.op_type == "Gemm")
    assert gemm.input[1] not in quantized_inputs and "w3" in {i.name for i in model.graph.initializer}
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    assert sum(c.input[1] in quantized_inputs for c in convs) == 2 - info["float_leading_convs"]


def test_quantisation_needs_calibration_images(tiny, tmp_path):
    path, _, spec = tiny
    with pytest.raises(ValueError, match="calibration"):
        quantize.quantize_int8(path, tmp_path / "x.onnx", [], spec)


def test_choice_takes_the_fewest_float_layers_that_reach_the_target_else_the_best():
    tried = [{"float_leading_convs": k, "agreement": a}
             for k, a in ((0, 0.9755), (1, 0.9765), (3, 0.9816), (6, 0.9816))]
    assert quantize.choose(tried, 0.99)["float_leading_convs"] == 3  # best agreement; the tie goes to fewer
    assert quantize.choose(tried, 0.97)["float_leading_convs"] == 0  # target met without float layers
    tried[3]["agreement"] = 0.9826
    assert quantize.choose(tried, 0.99)["float_leading_convs"] == 6
