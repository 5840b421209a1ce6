"""Is there skin in the picture at all? A second answer from the classifier's own features.

The "not a lesion" output is trained on everyday photos and on bare skin alike, so it cannot tell a skin-coloured
coffee mug from a patch of skin, and both would hear "no skin spot found". A logistic regression on the network's
pooled features (the 1 280 numbers its last layer reads) learns skin — lesion photos of every domain and bare skin
— against everyday photos. ``add_skin_output`` appends it to an fp32 or int8 (QDQ) ONNX file as the output
``skin`` (a logit; P(no skin) = sigmoid(-skin)), computed from the same pooled tensor the classifier's last layer
reads, so it costs one dot product. The product asks it only about a picture it already turns away, to say why.
"""

from __future__ import annotations

import logging
from pathlib import Path

import numpy as np
import onnx
import torch
from onnx import helper, numpy_helper
from sklearn.linear_model import LogisticRegression

from ..model_card import InputSpec
from ..vision.classifier import OUTPUT_NAME, SKIN_OUTPUT
from ..vision.preprocess import center_batch
from .cam import _producer
from .collection import EVERYDAY
from .data import Sample, load_rgb

log = logging.getLogger(__name__)

MISSED_SKIN = 0.01  # at most this share of any validation domain's skin photos may be told "no skin"


@torch.no_grad()
def pooled_features(model: torch.nn.Module, images: list[np.ndarray], spec: InputSpec) -> np.ndarray:
    """The centre square of each picture → the network's pooled features (N × 1280)."""
    model.eval()
    out = []
    for i in range(0, len(images), 64):
        x = torch.from_numpy(center_batch(images[i:i + 64], spec))
        out.append(model.features(x).mean(dim=(2, 3)).numpy())
    return np.concatenate(out) if out else np.zeros((0, 1280), np.float32)


def _by_domain(samples: list[Sample], per_domain: int) -> dict[str, list[Sample]]:
    domains: dict[str, list[Sample]] = {}
    for s in samples:
        domains.setdefault(s.domain, []).append(s)
    return {d: part[::max(1, len(part) // per_domain)][:per_domain] for d, part in domains.items()}


def fit_skin_head(model: torch.nn.Module, spec: InputSpec, train: list[Sample], val: list[Sample],
                  per_domain: int = 800) -> dict:
    """Fit on training photos (everyday photos against every other domain's photos) and choose
    the P(no skin) threshold on validation photos: the lowest that tells at most ``MISSED_SKIN`` of any skin domain
    "no skin". Returns the weights, the threshold and the validation figures."""
    def features(samples):
        return pooled_features(model, [load_rgb(s.path) for s in samples], spec)

    parts = _by_domain(train, per_domain)
    x = np.concatenate([features(p) for p in parts.values()])
    y = np.concatenate([np.full(len(p), int(d != EVERYDAY)) for d, p in parts.items()])
    fit = LogisticRegression(C=0.1, max_iter=2000, class_weight="balanced").fit(x, y)
    w, b = fit.coef_[0].astype(np.float32), float(fit.intercept_[0])

    not_skin = {d: 1 / (1 + np.exp(features(p) @ w + b)) for d, p in _by_domain(val, per_domain).items()}
    skin_domains = [d for d in not_skin if d != EVERYDAY]
    threshold = float(max(np.quantile(not_skin[d], 1 - MISSED_SKIN) for d in skin_domains))
    threshold = min(max(threshold, 0.5), 0.999)
    figures = {d: float((p >= threshold).mean()) for d, p in not_skin.items()}
    log.info("skin head: threshold %.3f, validation share told 'no skin' %s", threshold, figures)
    return {"weights": w, "bias": b, "threshold": threshold, "validation_told_no_skin": figures}


def add_skin_output(path: str | Path, weights: np.ndarray, bias: float, logits: str = OUTPUT_NAME) -> bool:
    """Append the ``skin`` output (N × 1 logit) in place, from the tensor the classifier's final Gemm reads; False
    (file unchanged) when the graph does not end in one Gemm."""
    model = onnx.load(str(path))
    graph = model.graph
    if any(o.name == SKIN_OUTPUT for o in graph.output):
        return True
    gemm = _producer(graph, logits)
    if gemm is None or gemm.op_type != "Gemm":
        return False
    graph.initializer.extend([numpy_helper.from_array(weights.reshape(1, -1).astype(np.float32), "skin_weight"),
                              numpy_helper.from_array(np.array([bias], np.float32), "skin_bias")])
    graph.node.append(helper.make_node("Gemm", [gemm.input[0], "skin_weight", "skin_bias"], [SKIN_OUTPUT],
                                       transB=1, name="skin"))
    graph.output.append(helper.make_tensor_value_info(SKIN_OUTPUT, onnx.TensorProto.FLOAT, ["batch", 1]))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return True
