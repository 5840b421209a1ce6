"""ONNX Runtime static int8 quantisation (QDQ, per-channel), calibrated on real training images.

Torch-free, so models imported from Keras are quantised by the same code.

Rounding a convolution's weights to 8 bits shifts the mean of its output whenever its input has
a non-zero mean: with BatchNorm folded in, MobileNetV2's first depthwise layer multiplies a
nearly constant input by large weights, and that shift alone flipped ~5 % of top-1 answers.
Bias correction (Nagel et al. 2019, "Data-Free Quantization", §4.2) removes it: each bias is
moved by −ΔW·E[x], with E[x] measured on the calibration images.

The classifier (Gemm/MatMul) stays in float: it is one small matrix, so int8 saves microseconds
while its rounding lands directly on the logits that confidence calibration relies on.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
import onnx
from onnx import numpy_helper
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from ..model_card import InputSpec
from ..vision.preprocess import center_batch, center_square, to_tensor
from .augment import augment

INPUT_NAME = "image"
LEADING_FLOAT_CONVS = (0, 1, 2, 3, 6)  # candidates: how many of the first convolutions stay in float
FLOAT_OPS = ("Gemm", "MatMul")  # the classifier head


def calibration_batch(images: list[np.ndarray], spec: InputSpec, seed: int = 0) -> np.ndarray:
    """Preprocessed calibration views, alternately plain centre crops and camera-augmented."""
    rng = np.random.default_rng(seed)
    views = [center_square(img) if i % 2 == 0 else augment(img, spec.size, rng) for i, img in enumerate(images)]
    return np.stack([to_tensor(v, spec) for v in views])


class BatchCalibration(CalibrationDataReader):
    """Feeds a preprocessed batch to the calibrator one image at a time."""

    def __init__(self, batch: np.ndarray, input_name: str = INPUT_NAME):
        self.it = iter([{input_name: x[None]} for x in batch])

    def get_next(self):
        return next(self.it, None)


def _run(model: onnx.ModelProto | Path, batch: np.ndarray, input_name: str,
         outputs: list[str] | None = None) -> list[np.ndarray]:
    """Run ``model`` over ``batch`` in chunks; the named outputs (default: all), concatenated."""
    import onnxruntime as ort

    source = str(model) if isinstance(model, Path) else model.SerializeToString()
    sess = ort.InferenceSession(source, providers=["CPUExecutionProvider"])
    chunks = [sess.run(outputs, {input_name: batch[i:i + 64]}) for i in range(0, len(batch), 64)]
    return [np.concatenate(parts) for parts in zip(*chunks)]


def conv_input_means(model: onnx.ModelProto, batch: np.ndarray, input_name: str) -> dict[str, np.ndarray]:
    """Per-channel mean of every Conv's input over ``batch`` (N, H and W averaged)."""
    convs = [n for n in model.graph.node if n.op_type == "Conv"]
    probe = onnx.ModelProto()
    probe.CopyFrom(model)
    known = {o.name for o in probe.graph.output}
    names = list(dict.fromkeys(n.input[0] for n in convs))
    for name in names:
        if name not in known:
            probe.graph.output.append(onnx.helper.make_tensor_value_info(name, onnx.TensorProto.FLOAT, None))
    values = dict(zip(names, _run(probe, batch, input_name, names)))
    return {n.name: values[n.input[0]].mean(axis=(0, 2, 3)) for n in convs}


def _dequantized_weights(quantized: onnx.ModelProto) -> dict[str, np.ndarray]:
    """Conv name → its weights as ONNX Runtime rounded them (int8 × per-channel scale)."""
    inits = {i.name: numpy_helper.to_array(i) for i in quantized.graph.initializer}
    dq = {n.output[0]: n for n in quantized.graph.node if n.op_type == "DequantizeLinear"}
    out = {}
    for node in quantized.graph.node:
        if node.op_type != "Conv" or node.input[1] not in dq:
            continue
        q, scale, zero = (inits[i] for i in dq[node.input[1]].input)
        shape = (-1,) + (1,) * (q.ndim - 1)
        out[node.name] = (q.astype(np.float32) - zero.reshape(shape)) * scale.reshape(shape)
    return out


def bias_shifts(model: onnx.ModelProto, quantized: onnx.ModelProto,
                means: dict[str, np.ndarray]) -> dict[str, np.ndarray]:
    """Conv name → ΔW·E[x], the mean output error its rounded weights cause (grouped convs included)."""
    inits = {i.name: numpy_helper.to_array(i) for i in model.graph.initializer}
    rounded = _dequantized_weights(quantized)
    shifts = {}
    for node in model.graph.node:
        if node.name not in rounded:
            continue
        weights = inits[node.input[1]]
        groups = next((a.i for a in node.attribute if a.name == "group"), 1)
        delta = (rounded[node.name] - weights).sum(axis=(2, 3))  # (out, in per group)
        mean_per_group = means[node.name].reshape(groups, weights.shape[1])
        group_of_output = np.arange(weights.shape[0]) // (weights.shape[0] // groups)
        shifts[node.name] = (delta * mean_per_group[group_of_output]).sum(axis=1)
    return shifts


def with_corrected_biases(model: onnx.ModelProto, shifts: dict[str, np.ndarray]) -> onnx.ModelProto:
    """A copy of ``model`` whose listed convolutions have bias − shift (a zero bias is added if missing)."""
    out = onnx.ModelProto()
    out.CopyFrom(model)
    inits = {i.name: i for i in out.graph.initializer}
    for node in out.graph.node:
        if node.name not in shifts:
            continue
        shift = shifts[node.name].astype(np.float32)
        if len(node.input) > 2 and node.input[2]:
            bias = inits[node.input[2]]
            bias.CopyFrom(numpy_helper.from_array(numpy_helper.to_array(bias) - shift, bias.name))
        else:
            name = f"{node.name}_corrected_bias"
            out.graph.initializer.append(numpy_helper.from_array(-shift, name))
            node.input.extend([""] * (2 - len(node.input)) + [name])
    return out


def _quantize(model: Path, out: Path, calibration: np.ndarray, input_name: str, exclude: list[str]) -> None:
    quantize_static(str(model), str(out), BatchCalibration(calibration, input_name),
                    quant_format=QuantFormat.QDQ, per_channel=True, nodes_to_exclude=exclude,
                    activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)


def choose(tried: list[dict], target_agreement: float) -> dict:
    """The candidate with the fewest float convolutions that reaches the target, or else the one that
    agrees best (``tried`` is ordered by float convolutions; ties go to fewer)."""
    top = max(t["agreement"] for t in tried)
    return next(t for t in tried if t["agreement"] >= min(top, target_agreement))


def quantize_int8(fp32: Path, out: Path, calibration: list[np.ndarray], spec: InputSpec,
                  input_name: str = INPUT_NAME, check: list[np.ndarray] | None = None,
                  target_agreement: float = 0.99) -> dict:
    """fp32 ONNX → int8 ONNX: per-channel int8 weights, uint8 activations, QDQ, bias-corrected.

    With ``check`` images (not the calibration ones), the fewest leading convolutions are kept in
    float that bring top-1 agreement with fp32 to ``target_agreement`` or, if none does, that agree
    best; the choice and the agreement of every candidate are returned.
    """
    if not calibration:
        raise ValueError("int8 quantisation needs calibration images")
    batch = calibration_batch(calibration, spec)
    with tempfile.TemporaryDirectory() as tmp:
        prepped, corrected = Path(tmp) / "prepped.onnx", Path(tmp) / "corrected.onnx"
        quant_pre_process(str(fp32), str(prepped), skip_symbolic_shape=True)
        model = onnx.load(str(prepped))
        convs = [n.name for n in model.graph.node if n.op_type == "Conv"]
        classifier = [n.name for n in model.graph.node if n.op_type in FLOAT_OPS]
        _quantize(prepped, out, batch, input_name, classifier)  # learn how every conv weight is rounded
        shifts = bias_shifts(model, onnx.load(str(out)), conv_input_means(model, batch, input_name))

        def write(keep: int) -> None:
            onnx.save(with_corrected_biases(model, {k: v for k, v in shifts.items() if k not in convs[:keep]}),
                      str(corrected))
            _quantize(corrected, out, batch, input_name, convs[:keep] + classifier)

        if not check:
            write(0)
            return {"float_leading_convs": 0, "bias_corrected_convs": len(shifts)}
        images = center_batch(check, spec)
        reference = _run(fp32, images, input_name)[0].argmax(1)
        tried = []
        for keep in LEADING_FLOAT_CONVS:
            write(keep)
            agreement = float((_run(out, images, input_name)[0].argmax(1) == reference).mean())
            tried.append({"float_leading_convs": keep, "agreement": agreement})
            if agreement >= target_agreement:
                break
        best = choose(tried, target_agreement)
        if best is not tried[-1]:  # the last one written is not the best: write the best again
            write(best["float_leading_convs"])
        corrected_count = len([k for k in shifts if k not in convs[:best["float_leading_convs"]]])
        return {**best, "check_images": len(check), "tried": tried, "bias_corrected_convs": corrected_count}
