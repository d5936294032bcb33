"""On a CUDA machine: the neural engine really runs on the GPU and gives the same pixels as on the CPU.

Skipped where onnxruntime has no CUDA provider or no CUDA device answers (CI without a GPU).
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceswap_live import inference
from faceswap_live.engines.onnx_swapper import OnnxFaceSwapper
from faceswap_live.stages.align import template_points
from faceswap_live.types import Box, FaceLandmarks, TargetFace
from onnx_graphs import make_recogniser_graph, make_swap_graph

pytestmark = [
    pytest.mark.gpu,
    pytest.mark.skipif(
        inference.CUDA_PROVIDER not in inference.available_providers(),
        reason="this onnxruntime build has no CUDA provider (install onnxruntime-gpu on a machine with a GPU)",
    ),
]


def _target() -> TargetFace:
    keypoints = (template_points("arcface", 112) * 1.5 + 60).astype(np.float32)
    landmarks = FaceLandmarks(np.zeros((478, 3), np.float32), keypoints, Box.around(keypoints))
    return TargetFace(np.full((300, 300, 3), (90, 120, 150), np.uint8), landmarks, "target")


@pytest.fixture()
def models(tmp_path: Path) -> tuple[Path, Path]:
    return make_swap_graph(tmp_path / "identity.onnx"), make_recogniser_graph(tmp_path / "recogniser.onnx")


def test_cuda_is_used_when_requested_and_reported(models: tuple[Path, Path]) -> None:
    missing = inference.missing_cuda_libraries()
    if missing:
        pytest.skip(f"CUDA libraries missing: {', '.join(missing)}")
    engine = OnnxFaceSwapper(*models, provider="cuda")
    assert engine.provider == inference.CUDA_PROVIDER
    assert engine.provider_label == "CUDA (GPU)"
    assert engine.notice is None or "CPU" not in engine.notice


def test_gpu_and_cpu_give_the_same_pixels(models: tuple[Path, Path]) -> None:
    if inference.missing_cuda_libraries():
        pytest.skip("CUDA libraries missing")
    crop = np.random.default_rng(0).integers(0, 256, (128, 128, 3), dtype=np.uint8)
    outputs = []
    for provider in ("cuda", "cpu"):
        engine = OnnxFaceSwapper(*models, provider=provider)  # type: ignore[arg-type]
        engine.set_target(_target())
        outputs.append(engine.render_crop(crop))
        engine.close()
    np.testing.assert_array_equal(outputs[0], outputs[1])
    np.testing.assert_array_equal(outputs[0], crop)
