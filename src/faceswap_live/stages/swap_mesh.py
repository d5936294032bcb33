"""The built-in engine: a piecewise-affine warp of the target photo onto the user's 478-point face mesh.

Identity (skin, brows, eyes, nose and lip texture) comes from the target photo; geometry, expression, head pose and
mouth movement come from the user's landmarks, because every mesh triangle of the target is stretched onto the same
triangle of the user's current mesh. No model weights: it runs on any CPU.

Per frame, all in numpy and without a Python loop over triangles:
1. the user's mesh is projected into a reduced-resolution grid over the face region (a map at about 128 px across:
   the warp is piecewise affine, so a coarse map upsampled linearly is exact inside triangles and continuous across
   them);
2. every triangle's pixel candidates (its bounding box) are enumerated at once, barycentric coordinates decide which
   lie inside, and the nearest front-facing triangle wins each pixel (painter's order by depth);
3. the winners' barycentric coordinates give the target-photo coordinates (map_x, map_y), which are upsampled to the
   region and fed to ONE cv2.remap of the target photo, sampled from a pyramid level near the frame's face size so
   a large photo does not alias (shimmer) on a small face.
Triangles that face away from the camera are left out, and the whole face fades out as the head turns past
~40 degrees, so a turned head never shows a torn or folded mesh.
"""

from __future__ import annotations

import logging
import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.config import SwapConfig
from faceswap_live.errors import TargetFaceError
from faceswap_live.stages.mesh_topology import (
    CHEEK_EDGES,
    EYE_FILL_TRIANGLES,
    FACE_OVAL,
    FEATURE_POINTS,
    FRONT_FACING_SIGN,
    MOUTH_FILL_TRIANGLES,
    TESSELATION_TRIANGLES,
)
from faceswap_live.stages.swap import SwapEngine
from faceswap_live.types import AlignedFace, BgrImage, Box, FaceLandmarks, SwappedFace, TargetFace

logger = logging.getLogger(__name__)

MESH_TRIANGLES: Final[npt.NDArray[np.int32]] = np.concatenate(
    [TESSELATION_TRIANGLES, MOUTH_FILL_TRIANGLES, EYE_FILL_TRIANGLES]
)
"""Every triangle the engine renders: the face surface plus the mouth and eye openings (K×3 point indices)."""

MESH_POINT_COUNT: Final = 468  # the iris points 468..477 are not part of the surface
MIN_TRIANGLE_AREA_PX: Final = 1e-3
BARYCENTRIC_TOLERANCE: Final = 1e-4


@dataclass(frozen=True, slots=True)
class RasterisedMesh:
    """Which triangle covers each pixel of a grid, and where inside it.

    pixel_index: P int64 flat indices (y * width + x) of covered pixels; triangle: P int32 triangle numbers;
    weight_b, weight_c: P float32 barycentric weights of the second and third vertex.
    """

    pixel_index: npt.NDArray[np.int64]
    triangle: npt.NDArray[np.int32]
    weight_b: npt.NDArray[np.float32]
    weight_c: npt.NDArray[np.float32]


def rasterise_triangles(
    vertices_px: npt.NDArray[np.float32], depth: npt.NDArray[np.float32], width: int, height: int
) -> RasterisedMesh:
    """Rasterise K triangles into a width×height grid with a depth test, fully vectorised.

    vertices_px: K×3×2 float32 (x, y) in grid pixels (pixel centres at integers). depth: K float32, smaller = nearer
    the camera (MediaPipe z). Triangles whose winding is flipped (seen from behind) or degenerate are skipped. Where
    triangles overlap, the nearest (by mean depth) wins. Cost is proportional to the triangles' bounding-box area,
    about twice the covered area. Pure function, any thread.
    """
    a = vertices_px[:, 0]
    ab = vertices_px[:, 1] - a
    ac = vertices_px[:, 2] - a
    signed_area = ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0]
    x_min = np.maximum(np.ceil(vertices_px[:, :, 0].min(axis=1)), 0).astype(np.int64)
    x_max = np.minimum(np.floor(vertices_px[:, :, 0].max(axis=1)), width - 1).astype(np.int64)
    y_min = np.maximum(np.ceil(vertices_px[:, :, 1].min(axis=1)), 0).astype(np.int64)
    y_max = np.minimum(np.floor(vertices_px[:, :, 1].max(axis=1)), height - 1).astype(np.int64)
    box_width = x_max - x_min + 1
    box_height = y_max - y_min + 1
    drawn = (signed_area * FRONT_FACING_SIGN > MIN_TRIANGLE_AREA_PX) & (box_width > 0) & (box_height > 0)
    candidates = np.flatnonzero(drawn)
    # Painter's order: far triangles first, so the near ones overwrite them below.
    candidates = candidates[np.argsort(-depth[candidates], kind="stable")]
    counts = box_width[candidates] * box_height[candidates]
    total = int(counts.sum())
    if total == 0:
        empty_int = np.zeros(0, np.int64)
        empty_float = np.zeros(0, np.float32)
        return RasterisedMesh(empty_int, empty_int.astype(np.int32), empty_float, empty_float)
    # Enumerate every (triangle, pixel of its bounding box) pair without a Python loop.
    owner = np.repeat(np.arange(candidates.size), counts)
    starts = np.cumsum(counts) - counts
    local = np.arange(total, dtype=np.int64) - starts[owner]
    triangle = candidates[owner]
    widths = box_width[triangle]
    pixel_x = x_min[triangle] + local % widths
    pixel_y = y_min[triangle] + local // widths
    offset_x = pixel_x.astype(np.float32) - a[triangle, 0]
    offset_y = pixel_y.astype(np.float32) - a[triangle, 1]
    inverse_area = 1.0 / signed_area[triangle]
    weight_b = (offset_x * ac[triangle, 1] - offset_y * ac[triangle, 0]) * inverse_area
    weight_c = (ab[triangle, 0] * offset_y - ab[triangle, 1] * offset_x) * inverse_area
    inside = (
        (weight_b >= -BARYCENTRIC_TOLERANCE)
        & (weight_c >= -BARYCENTRIC_TOLERANCE)
        & (weight_b + weight_c <= 1.0 + BARYCENTRIC_TOLERANCE)
    )
    pixel_index = (pixel_y * width + pixel_x)[inside]
    order = np.flatnonzero(inside)
    # One winner per pixel: the last writer in painter's order (numpy assigns repeated indices in order); the
    # equality test below keeps exactly one pair per pixel whatever the assignment order.
    winner = np.full(width * height, -1, dtype=np.int64)
    winner[pixel_index] = order
    kept = winner[pixel_index] == order
    chosen = order[kept]
    return RasterisedMesh(
        pixel_index=pixel_index[kept],
        triangle=triangle[chosen].astype(np.int32),
        weight_b=weight_b[chosen].astype(np.float32),
        weight_c=weight_c[chosen].astype(np.float32),
    )


def estimate_yaw_deg(points_px: npt.NDArray[np.floating]) -> float:
    """Head yaw in degrees from the mesh (0 = facing the camera), from the depth difference of the cheek edges."""
    right, left = points_px[CHEEK_EDGES[0]], points_px[CHEEK_EDGES[1]]
    return math.degrees(math.atan2(float(left[2] - right[2]), float(left[0] - right[0])))


@dataclass(frozen=True, slots=True)
class _TargetLevel:
    """One pyramid level of the target photo and its triangle vertices in that level's pixels."""

    image_bgra: npt.NDArray[np.uint8]  # H×W×4: BGR + face alpha
    face_size_px: float
    vertex_a: npt.NDArray[np.float32]  # K×2
    edge_ab: npt.NDArray[np.float32]  # K×2
    edge_ac: npt.NDArray[np.float32]  # K×2
    points_px: npt.NDArray[np.float32]  # 468×2


class MeshFaceSwapper(SwapEngine):
    """Piecewise-affine mesh swap (see the module docstring). Processing thread only; no weights needed.

    map_side_px: the longer side of the coarse warp map (smaller = faster, softer lip and lid edges).
    fade_start_deg / fade_end_deg: head yaw at which the swapped face starts to fade and is gone.
    """

    name = "mesh"
    alignment = None

    def __init__(self, map_side_px: int = 128, fade_start_deg: float = 40.0, fade_end_deg: float = 65.0) -> None:
        if map_side_px < 16:
            raise ValueError("map_side_px must be at least 16")
        if not 0.0 <= fade_start_deg < fade_end_deg <= 90.0:
            raise ValueError("need 0 <= fade_start_deg < fade_end_deg <= 90")
        self.map_side_px = map_side_px
        self.fade_start_deg = fade_start_deg
        self.fade_end_deg = fade_end_deg
        self._levels: list[_TargetLevel] = []

    def set_target(self, target: TargetFace) -> None:
        """Build the target's pyramid and triangle vertices. Raises TargetFaceError for a target without a mesh."""
        points = np.asarray(target.landmarks.points_px, dtype=np.float32)
        if points.ndim != 2 or points.shape[0] < MESH_POINT_COUNT or target.image_bgr.ndim != 3:
            raise TargetFaceError(
                f"The target face {target.name!r} has no full face mesh; choose a photo where the face is clearly "
                "visible."
            )
        # The texture carries a 4th channel: how much each pixel is the target's face rather than hair or a hand
        # over it (see target_face_alpha); one remap warps colour and alpha together.
        image = np.ascontiguousarray(
            np.dstack([target.image_bgr, target_face_alpha(target.image_bgr, points[:MESH_POINT_COUNT, :2])])
        )
        points_px = points[:MESH_POINT_COUNT, :2].copy()
        levels = []
        while True:
            corners = points_px[MESH_TRIANGLES]
            face_box = Box.around(points_px)
            levels.append(
                _TargetLevel(
                    image_bgra=image,
                    face_size_px=float(max(face_box.width, face_box.height)),
                    vertex_a=np.ascontiguousarray(corners[:, 0]),
                    edge_ab=np.ascontiguousarray(corners[:, 1] - corners[:, 0]),
                    edge_ac=np.ascontiguousarray(corners[:, 2] - corners[:, 0]),
                    points_px=points_px,
                )
            )
            if levels[-1].face_size_px < 96 or min(image.shape[:2]) < 32:
                break
            image = np.asarray(cv2.pyrDown(image), dtype=np.uint8)
            # pyrDown halves the size; pixel centres map as x_half = (x + 0.5) / 2 - 0.5.
            points_px = (points_px + 0.5) / 2.0 - 0.5
        self._levels = levels

    def swap_face(
        self, frame_bgr: BgrImage, face: FaceLandmarks, aligned: AlignedFace | None, settings: SwapConfig
    ) -> SwappedFace | None:
        """The target photo warped onto this face's mesh, within the face's box (see SwapEngine.swap_face).

        Returns None without a target, for a face turned too far away, or one almost entirely outside the frame.
        """
        if not self._levels:
            return None
        points = np.asarray(face.points_px, dtype=np.float32)
        fade = self._fade_for_yaw(abs(estimate_yaw_deg(points)))
        if fade <= 0.0:
            return None
        frame_height, frame_width = frame_bgr.shape[:2]
        mesh_box = Box.around(points[:MESH_POINT_COUNT])
        region = mesh_box.expanded(1.04).clipped(frame_width, frame_height)
        if region.width < 8 or region.height < 8:
            return None
        face_size_px = float(max(mesh_box.width, mesh_box.height))
        level = self._pick_level(face_size_px)

        # Coarse grid over the region; grid pixel j covers frame pixels around x0 + (j + 0.5) / scale - 0.5.
        scale = min(1.0, self.map_side_px / max(region.width, region.height))
        grid_width = max(2, round(region.width * scale))
        grid_height = max(2, round(region.height * scale))
        scale_x, scale_y = grid_width / region.width, grid_height / region.height
        grid_points = np.empty((MESH_POINT_COUNT, 2), dtype=np.float32)
        grid_points[:, 0] = (points[:MESH_POINT_COUNT, 0] - region.x0 + 0.5) * scale_x - 0.5
        grid_points[:, 1] = (points[:MESH_POINT_COUNT, 1] - region.y0 + 0.5) * scale_y - 0.5
        triangle_depth = points[MESH_TRIANGLES, 2].mean(axis=1)
        raster = rasterise_triangles(grid_points[MESH_TRIANGLES], triangle_depth, grid_width, grid_height)
        if raster.pixel_index.size == 0:
            return None

        # Pixels outside the mesh follow the best overall affine fit, so the upsampled map stays smooth at the edge.
        map_x, map_y = _affine_fill(grid_points, level.points_px, grid_width, grid_height)
        triangle = raster.triangle
        weight_b, weight_c = raster.weight_b, raster.weight_c
        map_x.ravel()[raster.pixel_index] = (
            level.vertex_a[triangle, 0] + weight_b * level.edge_ab[triangle, 0] + weight_c * level.edge_ac[triangle, 0]
        )
        map_y.ravel()[raster.pixel_index] = (
            level.vertex_a[triangle, 1] + weight_b * level.edge_ab[triangle, 1] + weight_c * level.edge_ac[triangle, 1]
        )
        covered = np.zeros(grid_width * grid_height, dtype=np.float32)
        covered[raster.pixel_index] = fade

        size = (region.width, region.height)
        full_map_x = cv2.resize(map_x, size, interpolation=cv2.INTER_LINEAR)
        full_map_y = cv2.resize(map_y, size, interpolation=cv2.INTER_LINEAR)
        texture = cv2.remap(level.image_bgra, full_map_x, full_map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
        grid_coverage = cv2.resize(covered.reshape(grid_height, grid_width), size, interpolation=cv2.INTER_LINEAR)
        coverage = grid_coverage * (texture[:, :, 3].astype(np.float32) * np.float32(1.0 / 255.0))
        return SwappedFace(
            region=region,
            face_bgr=np.ascontiguousarray(texture[:, :, :3], dtype=np.uint8),
            coverage=np.asarray(coverage, np.float32),
        )

    def _fade_for_yaw(self, yaw_deg: float) -> float:
        if yaw_deg <= self.fade_start_deg:
            return 1.0
        if yaw_deg >= self.fade_end_deg:
            return 0.0
        # Smoothstep, so the face does not pop at either end of the fade.
        t = (self.fade_end_deg - yaw_deg) / (self.fade_end_deg - self.fade_start_deg)
        return t * t * (3.0 - 2.0 * t)

    def _pick_level(self, face_size_px: float) -> _TargetLevel:
        """The smallest pyramid level still at least as detailed as the face in the frame (no aliasing)."""
        chosen = self._levels[0]
        for level in self._levels[1:]:
            if level.face_size_px < face_size_px:
                break
            chosen = level
        return chosen


def target_face_alpha(image_bgr: BgrImage, points_px: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """H×W uint8: 255 where the target photo shows its face, falling to 0 on hair, hats or hands over the face rim.

    Hair over the forehead or the temples lies inside the mesh, so a plain warp pastes it onto the user's face as
    streaks. The inner face (the hull of brows, eyes, nose and lips) is always kept; in the rim between
    it and the face outline, a pixel counts as face when its Lab colour is close to the skin colour measured in the
    inner face (median and spread), so the user's own skin shows where the target's hair was.
    """
    height, width = image_bgr.shape[:2]
    oval = points_px[list(FACE_OVAL)]
    centre = oval.mean(axis=0)
    face_size = float(np.ptp(oval, axis=0).max())
    inner = np.zeros((height, width), np.uint8)
    features = points_px[list(FEATURE_POINTS)]
    cv2.fillConvexPoly(inner, cv2.convexHull(np.round(features).astype(np.int32)), 255)
    skin_sample = np.zeros((height, width), np.uint8)
    cv2.fillPoly(skin_sample, [np.round((oval - centre) * 0.6 + centre).astype(np.int32)], 255)
    lab = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
    samples = lab[skin_sample > 0]
    if samples.shape[0] < 32:
        return np.full((height, width), 255, np.uint8)
    median = np.median(samples, axis=0)
    spread = np.median(np.abs(samples - median), axis=0) * 1.4826  # robust standard deviation
    # Lightness varies with shading far more than hue does, so it gets a wider allowance.
    tolerance = np.array([2.5 * spread[0] + 10.0, 2.5 * spread[1] + 3.0, 2.5 * spread[2] + 3.0], np.float32)
    distance = np.sqrt((((lab - median) / tolerance) ** 2).sum(axis=2))
    skin = np.clip((1.4 - distance) / 0.5, 0.0, 1.0).astype(np.float32)
    kernel = _odd(face_size * 0.02)
    skin = cv2.GaussianBlur(skin, (kernel, kernel), 0)
    feather = _odd(face_size * 0.04)
    inner_soft = cv2.GaussianBlur(inner, (feather, feather), 0).astype(np.float32) / 255.0
    alpha = np.maximum(skin, inner_soft)
    return np.asarray(np.round(alpha * 255.0), dtype=np.uint8)


def _odd(size: float) -> int:
    return max(1, int(size)) | 1


def _affine_fill(
    grid_points: npt.NDArray[np.float32], target_points: npt.NDArray[np.float32], width: int, height: int
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """map_x, map_y (height×width float32) from the least-squares affine taking grid points to target points."""
    design = np.hstack([grid_points, np.ones((grid_points.shape[0], 1), np.float32)]).astype(np.float64)
    solution, *_ = np.linalg.lstsq(design, target_points.astype(np.float64), rcond=None)
    xs = np.arange(width, dtype=np.float32)
    ys = np.arange(height, dtype=np.float32)
    coefficients = solution.astype(np.float32)  # 3×2: rows x, y, 1
    map_x = xs[None, :] * coefficients[0, 0] + ys[:, None] * coefficients[1, 0] + coefficients[2, 0]
    map_y = xs[None, :] * coefficients[0, 1] + ys[:, None] * coefficients[1, 1] + coefficients[2, 1]
    return np.ascontiguousarray(map_x, np.float32), np.ascontiguousarray(map_y, np.float32)
