"""Import a Keras MobileNetV2 ``.h5`` classifier as our ONNX model + model card (extra: [keras]).

The Keras model takes NHWC input; the exported graph takes our NCHW contract and transposes
inside. A softmax head is turned back into log-probabilities, so the runtime's
``softmax(logits / T)`` gives the Keras probabilities exactly (T = 1).
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np

from ..errors import InputError
from ..model_card import InputSpec, ModelCard
from .data import load_rgb, read_folder
from .export import card_classes, sha256
from .quantize import INPUT_NAME, quantize_int8

log = logging.getLogger(__name__)

PREPROCESSING = {  # name → (mean, std) on [0, 1] pixels
    "tf": ([0.5, 0.5, 0.5], [0.5, 0.5, 0.5]),  # keras.applications.mobilenet_v2.preprocess_input
    "torch": ([0.485, 0.456, 0.406], [0.229, 0.224, 0.225]),
    "unit": ([0.0, 0.0, 0.0], [1.0, 1.0, 1.0]),  # x / 255
}


def import_h5(h5_path: str | Path, classes: list[str], out_dir: str | Path, name: str | None = None,
              preprocessing: str = "tf", calibration_dir: str | Path | None = None) -> ModelCard:
    """Convert ``h5_path`` to ``{name}.onnx`` (+ ``-int8`` when calibration images are given) and a card."""
    import tensorflow as tf
    import tf2onnx

    h5_path, out_dir = Path(h5_path), Path(out_dir)
    if not h5_path.is_file():
        raise InputError(f"{h5_path}: no such file")
    try:
        model = tf.keras.models.load_model(h5_path, compile=False)
    except Exception as e:  # Keras raises many types for a file that is not a model
        raise InputError(f"{h5_path}: not a Keras model file ({str(e).splitlines()[0][:200]})") from None
    _, h, w, c = model.input_shape
    if h != w or c != 3:
        raise InputError(f"{h5_path}: expected a square RGB input, got {model.input_shape}")
    n_out = model.output_shape[-1]
    if n_out != len(classes):
        raise InputError(f"{h5_path}: the model has {n_out} outputs but {len(classes)} classes were given")
    softmax_head = model.layers[-1].get_config().get("activation") == "softmax"

    spec = [tf.TensorSpec((None, 3, h, w), tf.float32, name=INPUT_NAME)]

    @tf.function(input_signature=spec)
    def nchw_logits(x):
        y = model(tf.transpose(x, [0, 2, 3, 1]), training=False)
        return tf.math.log(tf.clip_by_value(y, 1e-12, 1.0)) if softmax_head else y

    name = name or h5_path.stem
    out_dir.mkdir(parents=True, exist_ok=True)
    fp32 = out_dir / f"{name}.onnx"
    tf2onnx.convert.from_function(nchw_logits, input_signature=spec, opset=17, output_path=str(fp32))

    x = np.random.default_rng(0).uniform(-1, 1, (4, h, w, 3)).astype(np.float32)
    import onnxruntime as ort

    onnx_out = ort.InferenceSession(str(fp32)).run(None, {INPUT_NAME: x.transpose(0, 3, 1, 2)})[0]
    keras_out = model.predict(x, verbose=0)
    onnx_probs = np.exp(onnx_out) if softmax_head else onnx_out
    check = {"fp32": {"images": 4, "max_prob_diff" if softmax_head else "max_logit_diff":
                      float(np.abs(onnx_probs - keras_out).max()), "bytes": fp32.stat().st_size,
                      "sha256": sha256(fp32)}}

    mean, std = PREPROCESSING[preprocessing]
    contract = InputSpec(size=h, mean=mean, std=std)
    files = {"fp32": fp32.name}
    if calibration_dir:
        int8 = out_dir / f"{name}-int8.onnx"
        images = [load_rgb(s.path) for s in read_folder(calibration_dir)[:300]]
        quantize_int8(fp32, int8, images, contract)
        files["int8"] = int8.name
        check["int8"] = {"bytes": int8.stat().st_size, "sha256": sha256(int8)}
    card = ModelCard(name=name, architecture=f"Keras model imported from {h5_path.name}", files=files,
                     default_variant="int8" if "int8" in files else "fp32", classes=card_classes(classes),
                     input=contract, temperature=1.0, metrics={"export_check": check},
                     provenance={"source": f"Keras file {h5_path.name}, converted with tf2onnx {tf2onnx.__version__}",
                                 "preprocessing": preprocessing},
                     license={"license": "as the imported model's", "intended_use":
                              "A decision aid for triage of skin lesions; not a medical device and not a diagnosis."})
    card.save(out_dir)
    log.info("imported %s → %s (%s)", h5_path, fp32, check)
    return card
