"""The swap engines the app knows, in one list: the command line's --engine choices, the app's engine menu, the
pipeline's engine factory and `faceswap-live models` (which model files each engine needs) all read it.

Light to import: an engine's module (OpenCV meshes, onnxruntime) is imported only when that engine is built. Adding an
engine: a SwapEngine subclass in its own module, an EngineEntry here, its name in config.EngineName.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Final

from faceswap_live.config import AppConfig, EngineName
from faceswap_live.engines import onnx_setup

if TYPE_CHECKING:
    from faceswap_live.engines.base import ModelLocator, SwapEngine

LANDMARK_MODEL: Final = "face_landmarker"
"""The face landmark model every engine's pipeline needs."""


def _create_mesh_engine(config: AppConfig, store: ModelLocator | None) -> SwapEngine:
    from faceswap_live.engines.mesh_swapper import MeshFaceSwapper

    return MeshFaceSwapper(fill_mouth=config.swap.mouth_from_user)


def _no_model_files(config: AppConfig, store: ModelLocator | None) -> None:
    """The built-in engine needs no model file of its own."""


@dataclass(frozen=True)
class EngineEntry:
    """One swap engine: its settings name, how it is shown, the model files it needs and how it is built."""

    name: EngineName
    """The value of [swap] engine and --engine."""
    label: str
    """Its entry in the app's engine menu."""
    short_label: str
    """How the app names it in a sentence ("In use: Built-in")."""
    model_names: tuple[str, ...]
    """The model files (names in models.registry) a swap with this engine needs, the landmark model included."""
    create: Callable[[AppConfig, ModelLocator | None], SwapEngine]
    """Builds the engine; raises ModelError when a model file is missing, TargetFaceError for unusable photos."""
    check_models: Callable[[AppConfig, ModelLocator | None], None]
    """Raises ModelError when a model file is missing, without loading anything (cheap)."""


ENGINES: Final[tuple[EngineEntry, ...]] = (
    EngineEntry(
        name="mesh",
        label="Built-in (CPU, follows expressions)",
        short_label="Built-in",
        model_names=(LANDMARK_MODEL,),
        create=_create_mesh_engine,
        check_models=_no_model_files,
    ),
    EngineEntry(
        name="onnx",
        label="ONNX model (inswapper, GPU)",
        short_label="ONNX model",
        model_names=(LANDMARK_MODEL, onnx_setup.SWAP_MODEL_NAME, onnx_setup.RECOGNISER_NAME),
        create=onnx_setup.create_onnx_engine,
        check_models=onnx_setup.check_onnx_models,
    ),
)

ENGINE_NAMES: Final = tuple(engine.name for engine in ENGINES)
BUILT_IN_ENGINE: Final[EngineName] = "mesh"
"""Runs anywhere without a download: the default, and the fallback when the chosen engine cannot start."""
ENGINE_CHOICES: Final = tuple((engine.name, engine.label) for engine in ENGINES)
"""(name, label) pairs for a menu."""


def find_engine(name: str) -> EngineEntry:
    """The engine called `name`. Raises ValueError for an unknown name (settings are validated before this)."""
    for engine in ENGINES:
        if engine.name == name:
            return engine
    raise ValueError(f"Unknown swap engine {name!r}; known: {', '.join(ENGINE_NAMES)}")


def create_swap_engine(config: AppConfig, store: ModelLocator | None = None) -> SwapEngine:
    """The engine config.swap.engine names. Raises ModelError when its model files are missing."""
    return find_engine(config.swap.engine).create(config, store)


def check_engine_models(config: AppConfig, store: ModelLocator | None = None) -> None:
    """Raise ModelError when the engine config.swap.engine names lacks a model file (nothing is loaded)."""
    find_engine(config.swap.engine).check_models(config, store)


def engines_needing(model_name: str) -> tuple[str, ...]:
    """Names of the engines that need the model file `model_name` (empty for evaluation-only models)."""
    return tuple(engine.name for engine in ENGINES if model_name in engine.model_names)
