"""The interface every swap engine implements, and the placeholder engine that pastes the aligned target face.

An engine turns (frame, one tracked face) into a `SwappedFace`: new face pixels in a frame region plus the engine's
coverage mask. Compositing (face mask, colour match, alpha/Poisson) is the blend stage's job, shared by all engines.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from dataclasses import dataclass

import cv2
import numpy as np

from faceswap_live.config import SwapConfig
from faceswap_live.stages.align import estimate_crop_transform, invert_affine
from faceswap_live.types import AlignedFace, BgrImage, Box, FaceLandmarks, SwappedFace, TargetFace


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


class OverlayEngine(SwapEngine):
    """Placeholder engine: pastes the similarity-aligned target photo over the face. No expression transfer."""

    name = "overlay"

    def __init__(self) -> None:
        self._target: TargetFace | None = None

    def set_target(self, target: TargetFace) -> None:
        self._target = target

    def swap_face(
        self, frame_bgr: BgrImage, face: FaceLandmarks, aligned: AlignedFace | None, settings: SwapConfig
    ) -> SwappedFace | None:
        if self._target is None:
            return None
        height, width = frame_bgr.shape[:2]
        region = face.box.expanded(1.2).clipped(width, height)
        if region.width <= 1 or region.height <= 1:
            return None
        # target photo → frame: align target keypoints onto the user's keypoints, then shift into the region.
        frame_from_target = invert_affine(estimate_crop_transform(face.keypoints_px, "arcface", 112)) @ np.vstack(
            [estimate_crop_transform(self._target.landmarks.keypoints_px, "arcface", 112), [0, 0, 1]]
        )
        frame_from_target[:, 2] -= (region.x0, region.y0)
        size = (region.width, region.height)
        face_bgr = cv2.warpAffine(self._target.image_bgr, frame_from_target, size, borderMode=cv2.BORDER_REPLICATE)
        target_shape = self._target.image_bgr.shape[:2]
        coverage = cv2.warpAffine(np.ones(target_shape, np.float32), frame_from_target, size)
        return SwappedFace(
            region=region, face_bgr=np.asarray(face_bgr, np.uint8), coverage=np.asarray(coverage, np.float32)
        )


def region_of(face: FaceLandmarks, frame_width: int, frame_height: int, margin: float = 1.15) -> Box:
    """The frame region an engine works in for this face: its box grown by `margin`, clipped to the frame."""
    return face.box.expanded(margin).clipped(frame_width, frame_height)
