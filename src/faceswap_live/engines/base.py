"""The interface every swap engine implements.

An engine turns (frame, one tracked face) into a `SwappedFace`: new face pixels in a frame region plus the engine's
coverage mask. Compositing (face mask, colour match, alpha/Poisson) is the blend stage's job, shared by all engines.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from faceswap_live.config import SwapConfig
from faceswap_live.types import AlignedFace, BgrImage, FaceLandmarks, SwappedFace, TargetFace


class ModelLocator(Protocol):
    """Where engines get their model files: the model store, or a stand-in in tests and benchmarks."""

    def fetch(self, name: str, *, accept_licence: bool = False) -> Path: ...


@dataclass(frozen=True)
class AlignmentSpec:
    """What aligned crop an engine wants the pipeline to prepare for each face (None = no crop needed)."""

    template: str
    size: int


class SwapEngine(ABC):
    """Base of swap engines. Used from the processing thread only; set_target may be slow (precomputation)."""

    name: str = "engine"
    alignment: AlignmentSpec | None = None

    @abstractmethod
    def set_target(self, target: TargetFace) -> None:
        """Prepare everything that depends only on the target face. Raises TargetFaceError if unusable."""

    def prepare_target(self, target: TargetFace) -> Callable[[], None]:
        """The slow part of set_target, callable from any thread while the processing thread keeps swapping with
        the target in use; returns what makes the prepared target the one in use (processing thread, quick). Raises
        TargetFaceError if unusable. By default nothing is done ahead: the returned call is set_target itself."""
        return lambda: self.set_target(target)

    @abstractmethod
    def swap_face(
        self, frame_bgr: BgrImage, face: FaceLandmarks, aligned: AlignedFace | None, settings: SwapConfig
    ) -> SwappedFace | None:
        """Render the target onto one face. None when this face cannot be swapped (e.g. turned fully away)."""

    @property
    def provider(self) -> str:
        """Where the engine runs, for the UI and logs (e.g. "CPU", "CUDAExecutionProvider")."""
        return "CPU"

    def close(self) -> None:  # noqa: B027 - optional hook
        """Release sessions and buffers."""
