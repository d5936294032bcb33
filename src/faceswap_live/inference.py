"""The one place that builds onnxruntime sessions: provider lists, install checks, IO binding, reading initializers.

onnxruntime and onnx are imported here and nowhere else in the app.

Which provider a session really runs on is read back from the session (`get_providers()`), never assumed: onnxruntime
quietly drops CUDA when its libraries cannot be loaded, so a requested GPU that was not used becomes a logged warning
and a `notice` string the UI shows, with the exact command that fixes the install.
"""

from __future__ import annotations

import ctypes
import importlib.metadata
import logging
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import numpy as np
import numpy.typing as npt
import onnx
import onnx.numpy_helper
import onnxruntime

from faceswap_live.config import ProviderPreference
from faceswap_live.errors import ModelError

logger = logging.getLogger(__name__)

CPU_PROVIDER: Final = "CPUExecutionProvider"
CUDA_PROVIDER: Final = "CUDAExecutionProvider"
TENSORRT_PROVIDER: Final = "TensorrtExecutionProvider"
GPU_PROVIDERS: Final = (TENSORRT_PROVIDER, CUDA_PROVIDER)

# Distributions that each install their own `onnxruntime` package; two of them in one environment overwrite each
# other's files, and which one wins depends on install order.
RUNTIME_DISTRIBUTIONS: Final = (
    "onnxruntime",
    "onnxruntime-gpu",
    "onnxruntime-directml",
    "onnxruntime-openvino",
    "onnxruntime-silicon",
    "onnxruntime-qnn",
    "ort-nightly",
    "ort-nightly-gpu",
)

# The shared libraries onnxruntime-gpu 1.2x needs for CUDA 12 (the CUDA provider loads them on first use).
_CUDA_LIBRARIES_LINUX: Final = ("libcudart.so.12", "libcublas.so.12", "libcublasLt.so.12", "libcufft.so.11")
_CUDNN_LIBRARIES_LINUX: Final = ("libcudnn.so.9",)
_CUDA_LIBRARIES_WINDOWS: Final = ("cudart64_12.dll", "cublas64_12.dll", "cublasLt64_12.dll", "cufft64_11.dll")
_CUDNN_LIBRARIES_WINDOWS: Final = ("cudnn64_9.dll",)

_ONNX_TO_NUMPY: Final[dict[str, type[np.generic]]] = {
    "tensor(float)": np.float32,
    "tensor(float16)": np.float16,
    "tensor(double)": np.float64,
    "tensor(int64)": np.int64,
    "tensor(int32)": np.int32,
    "tensor(uint8)": np.uint8,
}

FIX_BOTH_INSTALLED: Final = (
    "pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime-gpu  "
    "(on a machine without an NVIDIA GPU: pip uninstall -y onnxruntime onnxruntime-gpu && pip install onnxruntime)"
)
FIX_NO_GPU_BUILD: Final = "pip uninstall -y onnxruntime && pip install onnxruntime-gpu"
# The download (frozen) build carries the CPU onnxruntime and has no pip: the GPU route is the pip install.
FIX_NO_GPU_BUILD_FROZEN: Final = (
    "this download build runs the neural engine on the CPU; for the GPU install faceswap-live with pip and "
    "onnxruntime-gpu (README, NVIDIA GPUs)"
)
FIX_CUDA_LIBRARIES: Final = (
    'pip install "onnxruntime-gpu[cuda,cudnn]"  (puts the CUDA 12 and cuDNN 9 runtime libraries into this environment; '
    "or install CUDA 12 and cuDNN 9 system-wide and make them findable through "
    + ("PATH)" if sys.platform == "win32" else "LD_LIBRARY_PATH)")
)


@dataclass(frozen=True)
class TensorSpec:
    """One graph input or output: its name, shape (ints; str or None for a symbolic dimension) and numpy dtype."""

    name: str
    shape: tuple[int | str | None, ...]
    dtype: type[np.generic]

    def matches(self, shape: Sequence[int], dtypes: Sequence[type[np.generic]] = (np.float32, np.float16)) -> bool:
        """True when this spec accepts exactly `shape` (a symbolic dimension accepts anything) and one of `dtypes`."""
        if len(self.shape) != len(shape) or self.dtype not in dtypes:
            return False
        return all(not isinstance(have, int) or have == want for have, want in zip(self.shape, shape, strict=True))

    def describe(self) -> str:
        dimensions = ",".join("?" if not isinstance(value, int) else str(value) for value in self.shape)
        return f"{self.name} {np.dtype(self.dtype).name}[{dimensions}]"


@dataclass(frozen=True)
class InstallReport:
    """What this Python environment's onnxruntime can do, and what is wrong with it."""

    distributions: tuple[str, ...]
    available_providers: tuple[str, ...]
    problems: tuple[str, ...]
    """Each a sentence with the exact fix; empty when the install is sound."""


def installed_runtime_distributions() -> tuple[str, ...]:
    """Names of the installed distributions that provide the `onnxruntime` package (normally exactly one)."""
    found = set()
    for distribution in importlib.metadata.distributions():
        name = str(distribution.metadata["Name"] or "").lower().replace("_", "-")
        if name in RUNTIME_DISTRIBUTIONS:
            found.add(name)
    return tuple(sorted(found))


def available_providers() -> tuple[str, ...]:
    """Execution providers this onnxruntime build contains (not a promise that their libraries load)."""
    return tuple(onnxruntime.get_available_providers())


def missing_cuda_libraries() -> tuple[str, ...]:
    """The CUDA/cuDNN runtime libraries the CUDA provider needs that cannot be loaded here (empty = all found).

    Loads (and keeps loaded) each library once; call it only when CUDA is wanted.
    """
    preload = getattr(onnxruntime, "preload_dlls", None)
    if preload is not None:
        # onnxruntime-gpu >= 1.21 can load CUDA/cuDNN from the nvidia-* pip packages; give it that chance first.
        try:
            preload()
        except Exception as error:
            logger.debug("onnxruntime.preload_dlls failed: %s", error)
    names = (
        _CUDA_LIBRARIES_WINDOWS + _CUDNN_LIBRARIES_WINDOWS
        if sys.platform == "win32"
        else _CUDA_LIBRARIES_LINUX + _CUDNN_LIBRARIES_LINUX
    )
    missing = []
    for name in names:
        try:
            ctypes.CDLL(name)
        except OSError:
            missing.append(name)
    return tuple(missing)


def diagnose_install(
    distributions: Sequence[str],
    providers: Sequence[str],
    preference: ProviderPreference,
    missing_libraries: Sequence[str] = (),
    frozen: bool = False,
) -> tuple[str, ...]:
    """Problems with an onnxruntime install, each with its exact fix. Pure: the caller gathers the facts.

    distributions: installed runtime distributions (installed_runtime_distributions()); providers: the build's
    available providers; missing_libraries: CUDA/cuDNN libraries that failed to load (only looked at when a GPU is
    wanted and the build has CUDA); frozen: running from the download build (sys.frozen), where pip fixes do not apply.
    """
    problems = []
    if "onnxruntime" in distributions and "onnxruntime-gpu" in distributions:
        problems.append(
            "Both onnxruntime and onnxruntime-gpu are installed; they overwrite each other's files and the GPU may "
            f"silently go unused. Keep one: {FIX_BOTH_INSTALLED}"
        )
    elif len(distributions) > 1:
        problems.append(
            f"Several onnxruntime builds are installed ({', '.join(distributions)}); keep exactly one, e.g. "
            f"pip uninstall -y {' '.join(distributions)} && pip install onnxruntime-gpu"
        )
    wants_gpu = preference in ("cuda", "tensorrt")
    if wants_gpu and CUDA_PROVIDER not in providers:
        fix = FIX_NO_GPU_BUILD_FROZEN if frozen else FIX_NO_GPU_BUILD
        problems.append(
            f"The GPU ({preference}) was requested but this onnxruntime build has no CUDA support "
            f"(it offers {', '.join(providers) or 'nothing'}). Fix: {fix}"
        )
    if preference == "tensorrt" and CUDA_PROVIDER in providers and TENSORRT_PROVIDER not in providers:
        problems.append("TensorRT was requested but this onnxruntime build has no TensorRT provider; using CUDA.")
    if (wants_gpu or preference == "auto") and CUDA_PROVIDER in providers and missing_libraries:
        cudnn = [name for name in missing_libraries if "cudnn" in name]
        what = "cuDNN" if cudnn and len(cudnn) == len(missing_libraries) else "CUDA/cuDNN"
        problems.append(
            f"onnxruntime-gpu is installed but the {what} libraries it needs are missing "
            f"({', '.join(missing_libraries)}). Fix: {FIX_CUDA_LIBRARIES}"
        )
    return tuple(problems)


def check_install(preference: ProviderPreference) -> InstallReport:
    """Gather the facts about this environment's onnxruntime and diagnose them (see diagnose_install)."""
    distributions = installed_runtime_distributions()
    providers = available_providers()
    missing: tuple[str, ...] = ()
    if preference != "cpu" and CUDA_PROVIDER in providers:
        missing = missing_cuda_libraries()
    frozen = bool(getattr(sys, "frozen", False))
    return InstallReport(
        distributions, providers, diagnose_install(distributions, providers, preference, missing, frozen=frozen)
    )


def provider_list(
    preference: ProviderPreference, providers: Sequence[str], cache_dir: Path | None = None, device_id: int = 0
) -> list[str | tuple[str, dict[str, Any]]]:
    """The providers to ask onnxruntime for, best first, always ending with the CPU.

    "auto" takes TensorRT and CUDA when the build has them; "tensorrt" and "cuda" ask for them even if absent from
    the build (the session then reports CPU and the caller explains why); "cpu" gives the CPU alone.
    """
    chosen: list[str | tuple[str, dict[str, Any]]] = []
    want_tensorrt = preference == "tensorrt" or (preference == "auto" and TENSORRT_PROVIDER in providers)
    want_cuda = preference in ("tensorrt", "cuda") or (preference == "auto" and CUDA_PROVIDER in providers)
    if want_tensorrt and TENSORRT_PROVIDER in providers:
        options: dict[str, Any] = {"device_id": device_id}
        if cache_dir is not None:
            # Building a TensorRT engine takes minutes; the cache makes it a one-off per model and GPU.
            options.update({"trt_engine_cache_enable": True, "trt_engine_cache_path": str(cache_dir)})
        chosen.append((TENSORRT_PROVIDER, options))
    if want_cuda and CUDA_PROVIDER in providers:
        # Static shapes: the exhaustive cuDNN algorithm search runs once on the first frame and pays off after.
        chosen.append((CUDA_PROVIDER, {"device_id": device_id, "cudnn_conv_algo_search": "EXHAUSTIVE"}))
    chosen.append(CPU_PROVIDER)
    return chosen


def provider_label(provider: str) -> str:
    """Short name for the UI: "TensorRT (GPU)", "CUDA (GPU)", "CPU", or the provider's own name."""
    return {TENSORRT_PROVIDER: "TensorRT (GPU)", CUDA_PROVIDER: "CUDA (GPU)", CPU_PROVIDER: "CPU"}.get(
        provider, provider.removesuffix("ExecutionProvider")
    )


def _numpy_dtype(onnx_type: str, what: str) -> type[np.generic]:
    try:
        return _ONNX_TO_NUMPY[onnx_type]
    except KeyError:
        raise ModelError(f"{what} has the unsupported element type {onnx_type}.") from None


class OnnxSession:
    """An onnxruntime session plus the provider it really uses and a notice for the user when that is not the GPU.

    Create with create_session(). run() may be called from any one thread at a time; the bound path (bind() then
    run_bound()) reuses preallocated buffers and must stay on the thread that owns the buffers.
    """

    def __init__(self, session: onnxruntime.InferenceSession, path: Path, notice: str | None) -> None:
        self._session = session
        self.path = path
        self.provider: str = session.get_providers()[0]
        """The execution provider that runs this session, as onnxruntime reports it (e.g. "CPUExecutionProvider")."""
        self.notice = notice
        """A sentence for the UI when the session runs somewhere other than requested or expected, else None."""
        self.inputs = tuple(
            TensorSpec(item.name, tuple(item.shape), _numpy_dtype(item.type, f"Input {item.name} of {path.name}"))
            for item in session.get_inputs()
        )
        self.outputs = tuple(
            TensorSpec(item.name, tuple(item.shape), _numpy_dtype(item.type, f"Output {item.name} of {path.name}"))
            for item in session.get_outputs()
        )
        self._binding: Any = None
        self._bound_arrays: list[npt.NDArray[Any]] = []

    @property
    def provider_label(self) -> str:
        return provider_label(self.provider)

    def run(self, feeds: Mapping[str, npt.NDArray[Any]]) -> list[npt.NDArray[Any]]:
        """Run once with fresh arrays; returns the outputs in graph order. Raises ModelError when the run fails."""
        try:
            return [np.asarray(value) for value in self._session.run(None, dict(feeds))]
        except Exception as error:  # onnxruntime raises its own exception types (Fail, InvalidArgument, ...)
            raise ModelError(f"Running {self.path.name} failed: {error}") from error

    def bind(self, inputs: Mapping[str, npt.NDArray[Any]], outputs: Mapping[str, npt.NDArray[Any]]) -> None:
        """Bind preallocated, C-contiguous host buffers once; run_bound() then reads `inputs` and fills `outputs`.

        The session keeps references to the arrays; write new input values into them in place between runs.
        """
        binding = self._session.io_binding()
        self._bound_arrays = []
        for name, array in inputs.items():
            if not array.flags.c_contiguous:
                raise ValueError(f"Input buffer {name} must be C-contiguous.")
            binding.bind_ortvalue_input(name, onnxruntime.OrtValue.ortvalue_from_numpy(array))
            self._bound_arrays.append(array)
        for name, array in outputs.items():
            if not array.flags.c_contiguous:
                raise ValueError(f"Output buffer {name} must be C-contiguous.")
            binding.bind_ortvalue_output(name, onnxruntime.OrtValue.ortvalue_from_numpy(array))
            self._bound_arrays.append(array)
        self._binding = binding

    def run_bound(self) -> None:
        """Run with the buffers given to bind(); the outputs are written into them. Raises ModelError on failure."""
        if self._binding is None:
            raise RuntimeError("bind() must be called before run_bound()")
        try:
            self._session.run_with_iobinding(self._binding)
        except Exception as error:  # onnxruntime raises its own exception types
            raise ModelError(f"Running {self.path.name} failed: {error}") from error

    def close(self) -> None:
        self._binding = None
        self._bound_arrays = []


def _fallback_notice(preference: ProviderPreference, used: str, report: InstallReport, purpose: str) -> str | None:
    """The sentence that tells the user the model does not run where they asked (or where they would expect)."""
    if used in GPU_PROVIDERS:
        if preference == "tensorrt" and used != TENSORRT_PROVIDER:
            return f"The {purpose} runs on {provider_label(used)}, not TensorRT. " + " ".join(report.problems)
        return None
    if preference == "cpu":
        return None
    reasons = " ".join(report.problems)
    if preference == "auto" and CUDA_PROVIDER not in report.available_providers:
        return (
            f"The {purpose} runs on the CPU: this onnxruntime build has no GPU support, and the full neural swap "
            f"takes seconds per frame there (the built-in engine, --engine mesh, runs live on a CPU). "
            f"With an NVIDIA GPU: {FIX_NO_GPU_BUILD}. {reasons}"
        ).strip()
    return (
        f"The {purpose} runs on the CPU although {'a GPU' if preference == 'auto' else preference} was "
        f"requested. {reasons or 'onnxruntime could not start its GPU provider; run with -vv for its log.'}"
    )


def create_session(
    model_path: Path,
    preference: ProviderPreference = "auto",
    *,
    purpose: str = "model",
    cache_dir: Path | None = None,
    device_id: int = 0,
    threads: int = 0,
    warn_on_cpu: bool = True,
) -> OnnxSession:
    """Load an ONNX model on the best provider allowed by `preference` and report which one it really got.

    purpose: words for messages ("face swap model"). threads: CPU intra-op threads (0 = onnxruntime's choice).
    A requested GPU that is not used is logged as a warning and put in OnnxSession.notice with the fix.
    warn_on_cpu=False logs "auto landed on the CPU of a CPU-only build" at info level only (for models that run
    rarely, like the recogniser); a GPU that was asked for by name and not used is always a warning.
    Raises ModelError when the file is missing or onnxruntime cannot load it.
    """
    if not model_path.is_file():
        raise ModelError(f"The {purpose} file {model_path} does not exist.")
    report = check_install(preference)
    for problem in report.problems:
        logger.warning("%s", problem)
    options = onnxruntime.SessionOptions()
    options.graph_optimization_level = onnxruntime.GraphOptimizationLevel.ORT_ENABLE_ALL
    options.log_severity_level = 3  # onnxruntime's own warnings are repeated by our checks in plain words
    if threads > 0:
        options.intra_op_num_threads = threads
    providers = provider_list(preference, report.available_providers, cache_dir, device_id)
    try:
        session = onnxruntime.InferenceSession(str(model_path), sess_options=options, providers=providers)
    except Exception as error:  # onnxruntime raises InvalidProtobuf, NoSuchFile, Fail, RuntimeException, ...
        raise ModelError(
            f"Could not load the {purpose} {model_path.name}: {error}. The file may be damaged or not an ONNX model."
        ) from error
    used = session.get_providers()[0]
    notice = _fallback_notice(preference, used, report, purpose)
    if notice:
        quiet = not warn_on_cpu and preference == "auto" and CUDA_PROVIDER not in report.available_providers
        logger.log(logging.INFO if quiet else logging.WARNING, "%s", notice)
    logger.info("%s %s runs on %s", purpose.capitalize(), model_path.name, provider_label(used))
    return OnnxSession(session, model_path, notice)


def read_last_initializer(model_path: Path) -> tuple[str, npt.NDArray[Any]]:
    """The graph's last initializer (name, array), read with the onnx package; e.g. inswapper's 512×512 `emap`.

    Parses the whole file (about a second and twice the file size in memory for a 500 MB model): call once at load.
    Raises ModelError when the file cannot be parsed or has no initializer.
    """
    try:
        model = onnx.load(str(model_path), load_external_data=False)
    except Exception as error:  # protobuf DecodeError, OSError, ...
        raise ModelError(f"Could not read {model_path.name} as an ONNX model: {error}") from error
    initializers = model.graph.initializer
    if not initializers:
        raise ModelError(f"{model_path.name} holds no weights (no initializer); it is not an inswapper-format model.")
    last = initializers[-1]
    return last.name, np.array(onnx.numpy_helper.to_array(last))
