"""Data passed between pipeline stages.

Coordinate conventions: pixel coordinates are (x, y) with the origin at the top-left pixel centre of the image they
refer to. Colour images are uint8 BGR (OpenCV order) unless a name says otherwise.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import TypeAlias

import numpy as np
import numpy.typing as npt

BgrImage: TypeAlias = npt.NDArray[np.uint8]
"""H×W×3 uint8, BGR."""
Mask: TypeAlias = npt.NDArray[np.float32]
"""H×W float32 in [0, 1]."""
Affine2x3: TypeAlias = npt.NDArray[np.float64]
"""2×3 float64 affine matrix mapping (x, y, 1) column vectors."""
Points2D: TypeAlias = npt.NDArray[np.float32]
"""N×2 float32 (x, y)."""
Points3D: TypeAlias = npt.NDArray[np.float32]
"""N×3 float32 (x, y, z); z in the same pixel scale as x."""


@dataclass(frozen=True, slots=True)
class Box:
    """Axis-aligned pixel box, x1/y1 exclusive."""

    x0: int
    y0: int
    x1: int
    y1: int

    @property
    def width(self) -> int:
        return self.x1 - self.x0

    @property
    def height(self) -> int:
        return self.y1 - self.y0

    @property
    def area(self) -> int:
        return max(0, self.width) * max(0, self.height)

    def clipped(self, width: int, height: int) -> Box:
        return Box(max(0, self.x0), max(0, self.y0), min(width, self.x1), min(height, self.y1))

    def grown(self, margin_px: int) -> Box:
        """Grown by margin_px on every side."""
        return Box(self.x0 - margin_px, self.y0 - margin_px, self.x1 + margin_px, self.y1 + margin_px)

    def expanded(self, factor: float) -> Box:
        """Grow around the centre by `factor` (1.0 = unchanged)."""
        centre_x, centre_y = (self.x0 + self.x1) / 2, (self.y0 + self.y1) / 2
        half_w, half_h = self.width * factor / 2, self.height * factor / 2
        return Box(
            int(np.floor(centre_x - half_w)),
            int(np.floor(centre_y - half_h)),
            int(np.ceil(centre_x + half_w)),
            int(np.ceil(centre_y + half_h)),
        )

    def iou(self, other: Box) -> float:
        inter = Box(max(self.x0, other.x0), max(self.y0, other.y0), min(self.x1, other.x1), min(self.y1, other.y1))
        if inter.width <= 0 or inter.height <= 0:
            return 0.0
        union = self.area + other.area - inter.area
        return inter.area / union if union > 0 else 0.0

    @staticmethod
    def around(points_px: npt.NDArray[np.floating]) -> Box:
        """Tight box around N×2 (or N×3) points."""
        xs, ys = points_px[:, 0], points_px[:, 1]
        return Box(
            int(np.floor(xs.min())),
            int(np.floor(ys.min())),
            int(np.ceil(xs.max())) + 1,
            int(np.ceil(ys.max())) + 1,
        )


@dataclass(frozen=True, slots=True)
class Frame:
    """One captured image and when it was captured (time.perf_counter() seconds, same clock in all threads)."""

    image_bgr: BgrImage
    index: int
    captured_at_s: float


@dataclass(frozen=True, slots=True)
class FaceLandmarks:
    """One face in one frame.

    points_px: 478×3 MediaPipe mesh in frame pixels (z scaled like x, negative towards the camera).
    keypoints_px: 5×2 in ArcFace order, image-left first: the person's right eye centre, left eye centre, nose tip,
    right mouth corner, left mouth corner (left and right as in stages/mesh_topology.py).
    track_id: stable across frames while the face stays in view.
    """

    points_px: Points3D
    keypoints_px: Points2D
    box: Box
    track_id: int = 0
    blendshapes: dict[str, float] = field(default_factory=dict)


@dataclass(frozen=True, slots=True)
class AlignedFace:
    """A face cropped into a template's square frame.

    crop_from_frame maps frame pixels to crop pixels; frame_from_crop is its inverse (for paste-back).
    """

    crop_bgr: BgrImage
    crop_from_frame: Affine2x3
    frame_from_crop: Affine2x3
    size: int


@dataclass(frozen=True, slots=True)
class TargetFace:
    """The face to put on the user: a photo (cropped around the face with a margin) and its landmarks in it."""

    image_bgr: BgrImage
    landmarks: FaceLandmarks
    name: str
    source_path: Path | None = None
    more_photos: tuple[TargetFace, ...] = ()
    """Other photos of the same person (a smile, raised brows): the built-in engine keeps this photo's face shape and
    draws, each frame, the texture of whichever photo's expression is nearest the user's."""


@dataclass(frozen=True, slots=True)
class SwappedFace:
    """What a swap engine renders for one face, in frame coordinates restricted to `region`.

    face_bgr: region.height×region.width×3, the new face pixels.
    coverage: region-sized mask, 1 where face_bgr is valid (the engine's own footprint).
    """

    region: Box
    face_bgr: BgrImage
    coverage: Mask


@dataclass(frozen=True, slots=True)
class FrameResult:
    """What the pipeline produced for one frame.

    output_bgr is what goes to the user (virtual camera, stream, recording): swapped, labelled, watermarked, but
    never carrying the profiling overlay, which the preview paints itself.
    """

    output_bgr: BgrImage
    source: Frame
    faces: tuple[FaceLandmarks, ...]
    stage_ms: dict[str, float]
    finished_at_s: float
    swapped: bool

    @property
    def latency_ms(self) -> float:
        """Capture → output latency."""
        return (self.finished_at_s - self.source.captured_at_s) * 1000.0
