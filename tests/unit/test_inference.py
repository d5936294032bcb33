"""The session builder: provider lists, install diagnosis with exact fixes, CPU reported clearly, IO binding."""

from __future__ import annotations

import importlib.metadata
import logging
from pathlib import Path
from types import SimpleNamespace

import numpy as np
import pytest

from faceswap_live import inference
from faceswap_live.errors import ModelError
from faceswap_live.inference import (
    CPU_PROVIDER,
    CUDA_PROVIDER,
    TENSORRT_PROVIDER,
    create_session,
    diagnose_install,
    installed_runtime_distributions,
    provider_label,
    provider_list,
    read_last_initializer,
)
from onnx_graphs import make_recogniser_graph, make_swap_graph

CPU_ONLY = (CPU_PROVIDER,)
GPU_BUILD = (TENSORRT_PROVIDER, CUDA_PROVIDER, CPU_PROVIDER)
requires_cpu_only_build = pytest.mark.skipif(
    CUDA_PROVIDER in inference.available_providers(), reason="this onnxruntime build has CUDA"
)


def _names(providers: list[str | tuple[str, dict[str, object]]]) -> list[str]:
    return [item if isinstance(item, str) else item[0] for item in providers]


def test_provider_list_puts_gpus_first_and_always_ends_with_cpu() -> None:
    assert _names(provider_list("auto", GPU_BUILD)) == [TENSORRT_PROVIDER, CUDA_PROVIDER, CPU_PROVIDER]
    assert _names(provider_list("auto", CPU_ONLY)) == [CPU_PROVIDER]
    assert _names(provider_list("cuda", GPU_BUILD)) == [CUDA_PROVIDER, CPU_PROVIDER]
    assert _names(provider_list("cpu", GPU_BUILD)) == [CPU_PROVIDER]
    assert _names(provider_list("tensorrt", CPU_ONLY)) == [CPU_PROVIDER]


def test_tensorrt_gets_an_engine_cache_so_its_slow_build_happens_once(tmp_path: Path) -> None:
    tensorrt = provider_list("tensorrt", GPU_BUILD, cache_dir=tmp_path)[0]
    assert isinstance(tensorrt, tuple)
    assert tensorrt[1]["trt_engine_cache_enable"] is True
    assert tensorrt[1]["trt_engine_cache_path"] == str(tmp_path)


def test_provider_labels_for_the_ui() -> None:
    assert provider_label(CPU_PROVIDER) == "CPU"
    assert provider_label(CUDA_PROVIDER) == "CUDA (GPU)"
    assert provider_label("DmlExecutionProvider") == "Dml"


def test_both_runtimes_installed_is_diagnosed_with_the_exact_fix() -> None:
    problems = diagnose_install(("onnxruntime", "onnxruntime-gpu"), GPU_BUILD, "auto")
    assert len(problems) == 1
    assert "Both onnxruntime and onnxruntime-gpu are installed" in problems[0]
    assert "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu" in problems[0]


def test_cuda_requested_on_a_cpu_build_says_which_package_to_install() -> None:
    (problem,) = diagnose_install(("onnxruntime",), CPU_ONLY, "cuda")
    assert "no CUDA support" in problem
    assert "pip uninstall -y onnxruntime && pip install onnxruntime-gpu" in problem


def test_cuda_requested_in_the_download_build_points_to_the_pip_install_not_to_pip_commands() -> None:
    (problem,) = diagnose_install(("onnxruntime",), CPU_ONLY, "cuda", frozen=True)
    assert "no CUDA support" in problem
    assert "install faceswap-live with pip and onnxruntime-gpu" in problem
    assert "pip uninstall" not in problem


def test_missing_cudnn_is_named_with_the_fix() -> None:
    (problem,) = diagnose_install(("onnxruntime-gpu",), GPU_BUILD, "cuda", ("libcudnn.so.9",))
    assert "cuDNN libraries it needs are missing (libcudnn.so.9)" in problem
    assert 'pip install "onnxruntime-gpu[cuda,cudnn]"' in problem
    (problem,) = diagnose_install(("onnxruntime-gpu",), GPU_BUILD, "auto", ("libcudart.so.12", "libcudnn.so.9"))
    assert "CUDA/cuDNN libraries" in problem


def test_a_sound_install_has_no_problems() -> None:
    assert diagnose_install(("onnxruntime-gpu",), GPU_BUILD, "cuda") == ()
    assert diagnose_install(("onnxruntime",), CPU_ONLY, "auto") == ()
    assert diagnose_install(("onnxruntime",), CPU_ONLY, "cpu") == ()


def test_installed_distributions_are_read_from_package_metadata(monkeypatch: pytest.MonkeyPatch) -> None:
    fakes = [SimpleNamespace(metadata={"Name": name}) for name in ("numpy", "onnxruntime", "onnxruntime_gpu", "onnx")]
    monkeypatch.setattr(importlib.metadata, "distributions", lambda: fakes)
    assert installed_runtime_distributions() == ("onnxruntime", "onnxruntime-gpu")


@requires_cpu_only_build
def test_cuda_requested_on_this_cpu_machine_reports_cpu_clearly(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    model = make_swap_graph(tmp_path / "swap.onnx")
    with caplog.at_level(logging.WARNING, logger="faceswap_live.inference"):
        session = create_session(model, "cuda", purpose="face swap model")
    assert session.provider == CPU_PROVIDER
    assert session.provider_label == "CPU"
    assert session.notice is not None
    assert "runs on the CPU although cuda was requested" in session.notice
    assert "pip install onnxruntime-gpu" in session.notice
    assert any("runs on the CPU" in record.getMessage() for record in caplog.records)


@requires_cpu_only_build
def test_auto_on_a_cpu_build_says_it_runs_on_the_cpu(tmp_path: Path) -> None:
    session = create_session(make_swap_graph(tmp_path / "swap.onnx"), "auto", purpose="face swap model")
    assert session.provider == CPU_PROVIDER
    assert session.notice is not None and "runs on the CPU" in session.notice
    assert "seconds per frame" in session.notice and "few frames per second" not in session.notice  # honest speed


def test_cpu_by_choice_needs_no_notice(tmp_path: Path) -> None:
    session = create_session(make_swap_graph(tmp_path / "swap.onnx"), "cpu")
    assert session.provider == CPU_PROVIDER
    assert session.notice is None


def test_bound_buffers_are_read_and_written_in_place_on_every_run(tmp_path: Path) -> None:
    session = create_session(make_swap_graph(tmp_path / "swap.onnx", "identity"), "cpu")
    target = np.zeros((1, 3, 128, 128), np.float32)
    source = np.zeros((1, 512), np.float32)
    output = np.full((1, 3, 128, 128), -1.0, np.float32)
    session.bind({"target": target, "source": source}, {"output": output})
    for value in (0.25, 0.75):
        target[:] = value  # a new frame written into the same buffer, no rebinding
        session.run_bound()
        np.testing.assert_array_equal(output, target)


def test_specs_describe_the_graph(tmp_path: Path) -> None:
    session = create_session(make_recogniser_graph(tmp_path / "rec.onnx"), "cpu")
    (spec,) = session.inputs
    assert spec.name == "input.1"
    assert spec.matches((1, 3, 112, 112)) and spec.matches((4, 3, 112, 112))
    assert not spec.matches((1, 3, 128, 128))
    assert spec.describe() == "input.1 float32[?,3,112,112]"


def test_missing_and_broken_files_raise_model_error(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="does not exist"):
        create_session(tmp_path / "nothing.onnx", "cpu")
    broken = tmp_path / "broken.onnx"
    broken.write_bytes(b"this is not a protobuf")
    with pytest.raises(ModelError, match="broken.onnx"):
        create_session(broken, "cpu")
    with pytest.raises(ModelError, match="broken.onnx"):
        read_last_initializer(broken)


def test_run_failure_is_a_model_error(tmp_path: Path) -> None:
    session = create_session(make_swap_graph(tmp_path / "swap.onnx"), "cpu")
    with pytest.raises(ModelError, match="swap.onnx"):
        session.run({"target": np.zeros((1, 3, 64, 64), np.float32), "source": np.zeros((1, 512), np.float32)})


def test_last_initializer_is_emap_not_an_earlier_weight(tmp_path: Path) -> None:
    emap = np.random.default_rng(3).standard_normal((512, 512)).astype(np.float32)
    name, array = read_last_initializer(make_swap_graph(tmp_path / "swap.onnx", emap=emap))
    assert name == "emap"
    np.testing.assert_array_equal(array, emap)
