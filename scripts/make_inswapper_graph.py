"""Write a random-weight ONNX graph with the inswapper_128 architecture and signature, for speed measurements.

The real weights are under a non-commercial licence and cannot be downloaded on every machine; a graph with the same
layers, shapes and operator mix runs at the same speed. Its output is noise, never a face. About 138 M parameters
(≈ 555 MB as float32): write it outside the repository and never commit it.

Architecture (inswapper_128): inputs `target` [1,3,128,128] and `source` [1,512];
encoder: reflect-pad + 7×7 conv 3→128, 3×3 convs 128→256 (stride 2), 256→512 (stride 2), 512→1024, LeakyReLU;
six residual blocks of two 3×3 1024→1024 convs, each followed by AdaIN whose scale and shift come from `source`
through a 512→2048 Gemm; decoder: 2× upsample + 3×3 conv 1024→512, 2× upsample + 3×3 conv 512→256, 3×3 conv 256→128,
reflect-pad + 7×7 conv 128→3, tanh mapped to 0–1; last initializer `emap` 512×512.

    python scripts/make_inswapper_graph.py /tmp/inswapper_random.onnx [--recogniser /tmp/recogniser_random.onnx]
    FACESWAP_LIVE_ONNX_MODEL=/tmp/inswapper_random.onnx FACESWAP_LIVE_ONNX_RECOGNISER=/tmp/recogniser_random.onnx \\
        faceswap-live bench --engine onnx --input clip.mp4
"""

from __future__ import annotations

import argparse
import logging
import sys
from pathlib import Path
from typing import Any

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper

logger = logging.getLogger("make_inswapper_graph")

OPSET = 17
IR_VERSION = 8
RESIDUAL_BLOCKS = 6
CHANNELS = 1024
EMBEDDING_SIZE = 512


class _GraphBuilder:
    def __init__(self, seed: int) -> None:
        self.nodes: list[onnx.NodeProto] = []
        self.initializers: list[onnx.TensorProto] = []
        self.parameters = 0
        self._random = np.random.default_rng(seed)
        self._counter = 0

    def name(self, stem: str) -> str:
        self._counter += 1
        return f"{stem}_{self._counter}"

    def weight(self, stem: str, array: np.ndarray) -> str:
        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(array.astype(np.float32), name))
        self.parameters += array.size
        return name

    def constant(self, stem: str, array: np.ndarray) -> str:
        name = self.name(stem)
        self.initializers.append(numpy_helper.from_array(array, name))
        return name

    def node(self, op: str, inputs: list[str], **attributes: Any) -> str:
        output = self.name(op.lower())
        self.nodes.append(helper.make_node(op, inputs, [output], **attributes))
        return output

    def conv(self, x: str, in_channels: int, out_channels: int, kernel: int, stride: int = 1, pad: int = 0) -> str:
        fan_in = in_channels * kernel * kernel
        weights = self._random.standard_normal((out_channels, in_channels, kernel, kernel), dtype=np.float32)
        weights *= np.float32(np.sqrt(2.0 / fan_in))  # He initialisation keeps activations finite through 20 layers
        return self.node(
            "Conv",
            [x, self.weight("conv_w", weights), self.weight("conv_b", np.zeros(out_channels, np.float32))],
            kernel_shape=[kernel, kernel],
            strides=[stride, stride],
            pads=[pad] * 4,
        )

    def reflect_pad(self, x: str, amount: int) -> str:
        pads = np.array([0, 0, amount, amount, 0, 0, amount, amount], np.int64)
        return self.node("Pad", [x, self.constant("pads", pads)], mode="reflect")

    def adain(self, x: str, source: str, channels: int) -> str:
        """Instance-normalise x, then scale and shift it per channel by a linear map of the identity latent."""
        normalised = self.node(
            "InstanceNormalization",
            [
                x,
                self.constant("ones", np.ones(channels, np.float32)),
                self.constant("zeros", np.zeros(channels, np.float32)),
            ],
            epsilon=1e-5,
        )
        style_weights = self._random.standard_normal((EMBEDDING_SIZE, 2 * channels), dtype=np.float32) * np.float32(
            0.02
        )
        style = self.node(
            "Gemm", [source, self.weight("style_w", style_weights), self.weight("style_b", np.zeros(2 * channels))]
        )
        style = self.node("Reshape", [style, self.constant("style_shape", np.array([1, 2, channels, 1, 1], np.int64))])
        scale, shift = self.name("scale"), self.name("shift")
        self.nodes.append(
            helper.make_node(
                "Split",
                [style, self.constant("split", np.array([1, 1], np.int64))],
                [scale, shift],
                axis=1,
            )
        )
        squeeze_axes = self.constant("squeeze", np.array([1], np.int64))
        scale = self.node("Squeeze", [scale, squeeze_axes])
        shift = self.node("Squeeze", [shift, squeeze_axes])
        scale = self.node("Add", [scale, self.constant("one", np.array(1.0, np.float32))])
        return self.node("Add", [self.node("Mul", [normalised, scale]), shift])


def build_inswapper_graph(seed: int = 0) -> tuple[onnx.ModelProto, int]:
    """The random-weight model and its parameter count."""
    builder = _GraphBuilder(seed)
    x = builder.reflect_pad("target", 3)
    x = builder.node("LeakyRelu", [builder.conv(x, 3, 128, 7)], alpha=0.2)
    x = builder.node("LeakyRelu", [builder.conv(x, 128, 256, 3, stride=2, pad=1)], alpha=0.2)
    x = builder.node("LeakyRelu", [builder.conv(x, 256, 512, 3, stride=2, pad=1)], alpha=0.2)
    x = builder.node("LeakyRelu", [builder.conv(x, 512, CHANNELS, 3, pad=1)], alpha=0.2)  # 1024×32×32
    for _ in range(RESIDUAL_BLOCKS):
        y = builder.adain(builder.conv(builder.reflect_pad(x, 1), CHANNELS, CHANNELS, 3), "source", CHANNELS)
        y = builder.node("Relu", [y])
        y = builder.adain(builder.conv(builder.reflect_pad(y, 1), CHANNELS, CHANNELS, 3), "source", CHANNELS)
        x = builder.node("Add", [x, y])
    scales = builder.constant("scales", np.array([1, 1, 2, 2], np.float32))
    x = builder.node("Resize", [x, "", scales], mode="linear")
    x = builder.node("LeakyRelu", [builder.conv(x, CHANNELS, 512, 3, pad=1)], alpha=0.2)
    x = builder.node("Resize", [x, "", scales], mode="linear")
    x = builder.node("LeakyRelu", [builder.conv(x, 512, 256, 3, pad=1)], alpha=0.2)
    x = builder.node("LeakyRelu", [builder.conv(x, 256, 128, 3, pad=1)], alpha=0.2)
    x = builder.node("Tanh", [builder.conv(builder.reflect_pad(x, 3), 128, 3, 7)])
    half = builder.constant("half", np.array(0.5, np.float32))
    builder.nodes.append(helper.make_node("Add", [builder.node("Mul", [x, half]), half], ["output"]))
    emap = np.random.default_rng(seed + 1).standard_normal((EMBEDDING_SIZE, EMBEDDING_SIZE)).astype(np.float32)
    builder.initializers.append(
        numpy_helper.from_array(emap / np.sqrt(EMBEDDING_SIZE), "emap")
    )  # last, as in the real file
    builder.parameters += emap.size
    graph = helper.make_graph(
        builder.nodes,
        "inswapper_random_weights",
        [
            helper.make_tensor_value_info("target", TensorProto.FLOAT, [1, 3, 128, 128]),
            helper.make_tensor_value_info("source", TensorProto.FLOAT, [1, EMBEDDING_SIZE]),
        ],
        [helper.make_tensor_value_info("output", TensorProto.FLOAT, [1, 3, 128, 128])],
        builder.initializers,
    )
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)
    return model, builder.parameters


def build_recogniser_graph(seed: int = 0) -> onnx.ModelProto:
    """A small random recogniser with ArcFace's signature ([N,3,112,112] → [N,512]); not ResNet-50 sized (it runs
    once per target photo, so its speed does not matter)."""
    builder = _GraphBuilder(seed + 2)
    x = builder.node("Relu", [builder.conv("input.1", 3, 32, 3, stride=2, pad=1)])
    x = builder.node("Relu", [builder.conv(x, 32, 64, 3, stride=2, pad=1)])
    x = builder.node("Flatten", [builder.node("GlobalAveragePool", [x])], axis=1)
    weights = builder._random.standard_normal((64, EMBEDDING_SIZE), dtype=np.float32)
    builder.nodes.append(
        helper.make_node("Gemm", [x, builder.weight("fc_w", weights), builder.weight("fc_b", np.zeros(512))], ["683"])
    )
    graph = helper.make_graph(
        builder.nodes,
        "recogniser_random_weights",
        [helper.make_tensor_value_info("input.1", TensorProto.FLOAT, ["N", 3, 112, 112])],
        [helper.make_tensor_value_info("683", TensorProto.FLOAT, ["N", EMBEDDING_SIZE])],
        builder.initializers,
    )
    return helper.make_model(graph, opset_imports=[helper.make_opsetid("", OPSET)], ir_version=IR_VERSION)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("output", type=Path, help="where to write the swap graph (outside the repository)")
    parser.add_argument("--recogniser", type=Path, help="also write a small random ArcFace-signature recogniser here")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(message)s")
    repository = Path(__file__).resolve().parents[1]
    for path in (args.output, args.recogniser):
        if path is not None and path.resolve().is_relative_to(repository):
            logger.error("%s is inside the repository; random-weight graphs must not be committed.", path)
            return 2
    model, parameters = build_inswapper_graph(args.seed)
    onnx.checker.check_model(model)
    onnx.save(model, str(args.output))
    logger.info("wrote %s: %.1f M parameters, %.0f MB", args.output, parameters / 1e6, args.output.stat().st_size / 1e6)
    if args.recogniser is not None:
        onnx.save(build_recogniser_graph(args.seed), str(args.recogniser))
        logger.info("wrote %s", args.recogniser)
    return 0


if __name__ == "__main__":
    sys.exit(main())
