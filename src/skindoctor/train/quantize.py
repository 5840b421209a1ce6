"""ONNX Runtime static int8 quantisation (QDQ, per-channel), calibrated on real training images.

Torch-free, so models imported from Keras are quantised by the same code.
"""

from __future__ import annotations

import tempfile
from pathlib import Path

import numpy as np
from onnxruntime.quantization import CalibrationDataReader, QuantFormat, QuantType, quantize_static
from onnxruntime.quantization.shape_inference import quant_pre_process

from ..vision.preprocess import InputSpec, center_square, to_tensor
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


def quantize_int8(fp32: Path, out: Path, calibration: list[np.ndarray], spec: InputSpec,
                  input_name: str = INPUT_NAME) -> None:
    """fp32 ONNX → int8 ONNX: per-channel int8 weights, uint8 activations, QDQ format."""
    if not calibration:
        raise ValueError("int8 quantisation needs calibration images")
    with tempfile.TemporaryDirectory() as tmp:
        prepped = Path(tmp) / "prepped.onnx"
        quant_pre_process(str(fp32), str(prepped), skip_symbolic_shape=True)
        quantize_static(str(prepped), str(out), ImageCalibration(calibration, spec, input_name),
                        quant_format=QuantFormat.QDQ, per_channel=True,
                        activation_type=QuantType.QUInt8, weight_type=QuantType.QInt8)
