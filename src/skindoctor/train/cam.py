"""Class activation maps as a second ONNX output: where the network looked, at next to no cost.

MobileNetV2 ends in global average pooling and one linear layer, so the linear weights applied at
each position of the last convolution's output (before pooling) give one map per class (Zhou et al.
2016, "Learning Deep Features for Discriminative Localization"). ``add_cam_output`` adds that as an
``Einsum`` reusing the classifier's own weights, to an fp32 or int8 (QDQ) file alike.
"""

from __future__ import annotations

from pathlib import Path

import onnx
from onnx import helper

from ..vision.classifier import CAM_OUTPUT, OUTPUT_NAME

_PASS_THROUGH = {"Flatten", "Reshape", "QuantizeLinear", "DequantizeLinear", "Squeeze"}


def _producer(graph: onnx.GraphProto, tensor: str) -> onnx.NodeProto | None:
    return next((n for n in graph.node if tensor in n.output), None)


def add_cam_output(path: str | Path, logits: str = OUTPUT_NAME) -> bool:
    """Add the ``cam`` output (N × classes × h × w) in place; False (file unchanged) when the graph does not
    end in global average pooling and one Gemm with a stored weight."""
    model = onnx.load(str(path))
    graph = model.graph
    if any(o.name == CAM_OUTPUT for o in graph.output):
        return True
    gemm = _producer(graph, logits)
    weights = {i.name: i for i in graph.initializer}
    if gemm is None or gemm.op_type != "Gemm" or gemm.input[1] not in weights:
        return False
    trans_b = next((a.i for a in gemm.attribute if a.name == "transB"), 0)
    node = _producer(graph, gemm.input[0])
    while node is not None and node.op_type in _PASS_THROUGH:
        node = _producer(graph, node.input[0])
    if node is None or node.op_type != "GlobalAveragePool":
        return False
    features = node.input[0]
    graph.node.append(helper.make_node("Einsum", [features, gemm.input[1]], [CAM_OUTPUT],
                                       equation="nkhw,ck->nchw" if trans_b else "nkhw,kc->nchw", name="cam"))
    graph.output.append(helper.make_tensor_value_info(CAM_OUTPUT, onnx.TensorProto.FLOAT,
                                                      ["batch", "classes", "height", "width"]))
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return True
