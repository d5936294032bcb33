"""Small ONNX graphs with the inswapper and ArcFace signatures, built with onnx.helper, whose outputs are known exactly.

The real weights cannot be downloaded here (non-commercial licence); these graphs let the tests check everything the
engine does around the model: colour order, value range, latent maths, paste-back geometry, model checks.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

import numpy as np
import numpy.typing as npt
import onnx
from onnx import TensorProto, helper, numpy_helper

OPSET = 17
IR_VERSION = 8

SwapBody = Literal["identity", "constant", "latent_probe", "stretch"]


def _save(graph: onnx.GraphProto, path: Path) -> Path:
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    onnx.checker.check_model(model)
    onnx.save(model, str(path))
    return path


def make_swap_graph(
    path: Path,
    body: SwapBody = "identity",
    *,
    emap: npt.NDArray[np.float32] | None = None,
    constant_rgb: tuple[float, float, float] = (1.0, 0.0, 0.0),
    probe: npt.NDArray[np.float32] | None = None,
    target_shape: tuple[int, ...] = (1, 3, 128, 128),
    source_shape: tuple[int, ...] = (1, 512),
    io_dtype: int = TensorProto.FLOAT,
    target_name: str = "target",
) -> Path:
    """An inswapper-signature graph. The last initializer is `emap` (identity matrix by default), preceded by a decoy
    512×512 initializer so reading the wrong one shows.

    body:
    - "identity": output = target (+ 0·sum(source), so `source` is consumed).
    - "stretch": output = 4·target − 1.4, which leaves 0–1 on purpose (the engine must clip, not wrap).
    - "constant": output = constant_rgb (RGB, 0–1) everywhere.
    - "latent_probe": output channel c = 0.5 + source @ probe[:, c] everywhere (probe: 512×3).
    io_dtype: TensorProto.FLOAT or FLOAT16 for the graph's inputs and output (computation stays float32).
    """
    emap_array = np.eye(512, dtype=np.float32) if emap is None else np.asarray(emap, np.float32)
    decoy = np.full((512, 512), 3.0, dtype=np.float32)
    initializers = [numpy_helper.from_array(decoy, "decoy_weights")]
    nodes: list[onnx.NodeProto] = []
    target, source = target_name, "source"
    if io_dtype != TensorProto.FLOAT:
        nodes += [
            helper.make_node("Cast", [target_name], ["target_float"], to=TensorProto.FLOAT),
            helper.make_node("Cast", ["source"], ["source_float"], to=TensorProto.FLOAT),
        ]
        target, source = "target_float", "source_float"
    output_float = "output_float" if io_dtype != TensorProto.FLOAT else "output"
    # Every body consumes both inputs (a graph that ignores one is not what a real swapper looks like), through a
    # zero term that works for any input shape, so wrong-shape variants still load and the engine's check refuses them.
    initializers += [
        numpy_helper.from_array(np.zeros((1, 1), np.float32), "zero"),
        numpy_helper.from_array(np.zeros((1, 1, 1, 1), np.float32), "zero4"),
        numpy_helper.from_array(np.array([1, 3, 128, 128], np.int64), "image_shape"),
    ]
    nodes += [
        helper.make_node("ReduceSum", [source], ["source_sum"], keepdims=1),
        helper.make_node("Mul", ["source_sum", "zero"], ["source_nothing"]),
        helper.make_node("ReduceSum", [target], ["target_sum"], keepdims=1),
        helper.make_node("Mul", ["target_sum", "zero4"], ["target_nothing"]),
    ]
    if body == "identity":
        nodes.append(helper.make_node("Add", [target, "source_nothing"], [output_float]))
    elif body == "stretch":
        initializers += [
            numpy_helper.from_array(np.array(4.0, np.float32), "four"),
            numpy_helper.from_array(np.array(-1.4, np.float32), "offset"),
        ]
        nodes += [
            helper.make_node("Mul", [target, "four"], ["scaled"]),
            helper.make_node("Add", ["scaled", "offset"], ["shifted"]),
            helper.make_node("Add", ["shifted", "source_nothing"], [output_float]),
        ]
    elif body == "constant":
        colour = np.asarray(constant_rgb, np.float32).reshape(1, 3, 1, 1)
        initializers.append(numpy_helper.from_array(colour, "colour"))
        nodes += [
            helper.make_node("Expand", ["colour", "image_shape"], ["coloured"]),
            helper.make_node("Add", ["coloured", "target_nothing"], ["coloured_target"]),
            helper.make_node("Add", ["coloured_target", "source_nothing"], [output_float]),
        ]
    elif body == "latent_probe":
        probe_array = np.zeros((512, 3), np.float32) if probe is None else np.asarray(probe, np.float32)
        initializers += [
            numpy_helper.from_array(probe_array, "probe"),
            numpy_helper.from_array(np.array(0.5, np.float32), "half_grey"),
            numpy_helper.from_array(np.array([1, 3, 1, 1], np.int64), "colour_shape"),
        ]
        nodes += [
            helper.make_node("MatMul", [source, "probe"], ["probed"]),
            helper.make_node("Add", ["probed", "half_grey"], ["grey_shifted"]),
            helper.make_node("Reshape", ["grey_shifted", "colour_shape"], ["colour"]),
            helper.make_node("Expand", ["colour", "image_shape"], ["coloured"]),
            helper.make_node("Add", ["coloured", "target_nothing"], [output_float]),
        ]
    else:
        raise ValueError(body)
    if io_dtype != TensorProto.FLOAT:
        nodes.append(helper.make_node("Cast", [output_float], ["output"], to=io_dtype))
    initializers.append(numpy_helper.from_array(emap_array, "emap"))  # last, as in inswapper_128.onnx
    graph = helper.make_graph(
        nodes,
        "tiny_swapper",
        [
            helper.make_tensor_value_info(target_name, io_dtype, list(target_shape)),
            helper.make_tensor_value_info("source", io_dtype, list(source_shape)),
        ],
        [helper.make_tensor_value_info("output", io_dtype, [1, 3, 128, 128])],
        initializers,
    )
    return _save(graph, path)


def make_recogniser_graph(
    path: Path, weights: npt.NDArray[np.float32] | None = None, bias: npt.NDArray[np.float32] | None = None
) -> Path:
    """An ArcFace-signature graph: [N,3,112,112] → [N,512] = mean over pixels per channel (3 values) @ weights + bias.

    Default weights put the mean of the input's channels 0, 1, 2 into outputs 0, 1, 2 (and bias 0), so a photo of one
    colour gives an embedding pointing along its normalised (R, G, B) − as the recogniser saw it.
    """
    weights_array = np.zeros((3, 512), np.float32) if weights is None else np.asarray(weights, np.float32)
    if weights is None:
        weights_array[0, 0] = weights_array[1, 1] = weights_array[2, 2] = 1.0
    bias_array = np.zeros(512, np.float32) if bias is None else np.asarray(bias, np.float32)
    graph = helper.make_graph(
        [
            helper.make_node("GlobalAveragePool", ["input.1"], ["pooled"]),
            helper.make_node("Flatten", ["pooled"], ["means"], axis=1),
            helper.make_node("Gemm", ["means", "weights", "bias"], ["683"]),
        ],
        "tiny_recogniser",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["N", 512])],
        [numpy_helper.from_array(weights_array, "weights"), numpy_helper.from_array(bias_array, "bias")],
    )
    return _save(graph, path)
