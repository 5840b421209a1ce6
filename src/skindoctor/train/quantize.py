"""ONNX Runtime static int8 quantisation (QDQ, per-channel), calibrated on real training images.

Torch-free, so models imported from Keras are quantised by the same code.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from ..vision.preprocess import InputSpec, center_batch, center_square, to_tensor
from .augment import augment

INPUT_NAME = "image"


class ImageCalibration(CalibrationDataReader):
    """Feeds preprocessed images (alternately plain and camera-augmented) to the calibrator."""

    def __init__(self, images: list[np.ndarray], spec: InputSpec, input_name: str = INPUT_NAME, seed: int = 0):
        rng = np.random.default_rng(seed)
        views = (center_square(img) if i % 2 == 0 else augment(img, spec.size, rng) for i, img in enumerate(images))
        self.it = iter([{input_name: to_tensor(v, spec)[None]} for v in views])

    def get_next(self):
        return next(self.it, None)


LEADING_FLOAT_CONVS = (0, 3, 6, 9, 12)  # candidates: how many of the first convolutions stay in float


def _logits(path: Path, batch: np.ndarray, input_name: str) -> np.ndarray:
    import onnxruntime as ort

    sess = ort.InferenceSession(str(path), providers=["CPUExecutionProvider"])
    return np.concatenate([sess.run(None, {input_name: batch[i:i + 64]})[0] for i in range(0, len(batch), 64)])


def quantize_int8(fp32: Path, out: Path, calibration: list[np.ndarray], spec: InputSpec,
                  input_name: str = INPUT_NAME, check: list[np.ndarray] | None = None,
                  target_agreement: float = 0.99) -> dict:
    """fp32 ONNX → int8 ONNX: per-channel int8 weights, uint8 activations, QDQ format.

    The first layers see the widest activation ranges and lose the most to 8 bits. With ``check``
    images (not the calibration ones), the fewest leading convolutions are kept in float that bring
    top-1 agreement with fp32 to ``target_agreement``; the choice and its agreement are returned.
    """
    import onnx

    if not calibration:
        raise ValueError("int8 quantisation needs calibration images")
    with tempfile.TemporaryDirectory() as tmp:
        prepped = Path(tmp) / "prepped.onnx"
        quant_pre_process(str(fp32), str(prepped), skip_symbolic_shape=True)
        convs = [n.name for n in onnx.load(str(prepped)).graph.node if n.op_type == "Conv"]
        batch = center_batch(check, spec) if check else None
        reference = _logits(fp32, batch, input_name) if check else None
        tried = []
        for keep in LEADING_FLOAT_CONVS if check else (0,):
            quantize_static(str(prepped), str(out), ImageCalibration(calibration, spec, input_name),
                            quant_format=QuantFormat.QDQ, per_channel=True, nodes_to_exclude=convs[:keep],
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
            if not check:
                return {"float_leading_convs": 0}
            agreement = float((_logits(out, batch, input_name).argmax(1) == reference.argmax(1)).mean())
            tried.append({"float_leading_convs": keep, "agreement": agreement})
            if agreement >= target_agreement:
                break
        best = max(tried, key=lambda t: (t["agreement"], -t["float_leading_convs"]))
        if best is not tried[-1]:  # the last one written is not the best: write the best again
            quantize_static(str(prepped), str(out), ImageCalibration(calibration, spec, input_name),
                            quant_format=QuantFormat.QDQ, per_channel=True,
                            nodes_to_exclude=convs[:best["float_leading_convs"]],
                            activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
        return {**best, "check_images": len(check), "tried": tried}
