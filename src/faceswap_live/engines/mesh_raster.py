"""Drawing a triangle mesh into a pixel grid: which triangle covers each pixel and where inside it.

The mesh engine's map from the user's face to the target photo is piecewise affine, so it is built on a coarse grid
from these two pure functions (rasterise_triangles for the covered pixels, affine_fill for the rest) and upsampled.
Fully vectorised numpy, no Python loop over triangles; any thread.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from faceswap_live.stages.mesh_topology import FRONT_FACING_SIGN

MIN_TRIANGLE_AREA_PX: Final = 1e-3
"""Triangles with a smaller signed area (grid px², front-facing) are degenerate or seen from behind: not drawn."""
BARYCENTRIC_TOLERANCE: Final = 1e-4
"""How far outside a triangle (in barycentric weight) a pixel centre may lie and still count as inside it, so that
pixels on a shared edge are never left to neither triangle."""


@dataclass(frozen=True, slots=True)
class RasterisedMesh:
    """Which triangle covers each pixel of a grid, and where inside it.

    pixel_index: P int64 flat indices (y * width + x) of covered pixels; triangle: P int64 triangle numbers (numpy's
    index type: the engine looks values up by them several times a frame);
    weight_b, weight_c: P float32 barycentric weights of the second and third vertex.
    """

    pixel_index: npt.NDArray[np.int64]
    triangle: npt.NDArray[np.int64]
    weight_b: npt.NDArray[np.float32]
    weight_c: npt.NDArray[np.float32]


def rasterise_triangles(
    vertices_px: npt.NDArray[np.float32], depth: npt.NDArray[np.float32], width: int, height: int
) -> RasterisedMesh:
    """Rasterise K triangles into a width×height grid with a depth test, fully vectorised.

    vertices_px: K×3×2 float32 (x, y) in grid pixels (pixel centres at integers). depth: K float32, smaller = nearer
    the camera (MediaPipe z). Triangles whose winding is flipped (seen from behind) or degenerate are skipped. Where
    triangles overlap, the nearest (by mean depth) wins. Scanline: along each row of a triangle's box its
    barycentric weights are linear in x, so the row's covered span is solved for directly and only covered pixels
    are enumerated (half the work of testing every pixel of the box). Pure function, any thread.
    """
    # Per corner, 1-D coordinate arrays: gathers and reductions over a trailing axis of 2 or 3 cost several times
    # more in numpy than the same arithmetic on whole columns.
    (x_a, x_b, x_c), (y_a, y_b, y_c) = np.ascontiguousarray(vertices_px.astype(np.float64).transpose(2, 1, 0))
    ab_x, ab_y = x_b - x_a, y_b - y_a
    ac_x, ac_y = x_c - x_a, y_c - y_a
    signed_area = ab_x * ac_y - ab_y * ac_x
    x_min = np.maximum(np.ceil(np.minimum(np.minimum(x_a, x_b), x_c)), 0.0)
    x_max = np.minimum(np.floor(np.maximum(np.maximum(x_a, x_b), x_c)), width - 1.0)
    y_min = np.maximum(np.ceil(np.minimum(np.minimum(y_a, y_b), y_c)), 0).astype(np.int64)
    y_max = np.minimum(np.floor(np.maximum(np.maximum(y_a, y_b), y_c)), height - 1).astype(np.int64)
    drawn = (signed_area * FRONT_FACING_SIGN > MIN_TRIANGLE_AREA_PX) & (x_max >= x_min) & (y_max >= y_min)
    candidates = np.flatnonzero(drawn)
    # Painter's order: far triangles first, so the near ones overwrite them below.
    candidates = candidates[np.argsort(-depth[candidates], kind="stable")]
    # Every row of every triangle's box; on a row, w_b = p_b + q_b x and w_c = p_c + q_c x. What does not depend on
    # the row is worked out once per triangle and then repeated for its rows.
    row_owner, row_offset = _enumerate_runs(y_max[candidates] - y_min[candidates] + 1)
    inverse_area = 1.0 / signed_area[candidates]
    a_x, a_y, ab_x, ac_x = x_a[candidates], y_a[candidates], ab_x[candidates], ac_x[candidates]
    ab_y, ac_y = ab_y[candidates], ac_y[candidates]
    q_b, q_c = ac_y * inverse_area, -ab_y * inverse_area
    a_x_ac_y, a_x_ab_y = (a_x * ac_y)[row_owner], (a_x * ab_y)[row_owner]
    q_a = -(q_b + q_c)
    row_triangle = candidates[row_owner]
    row_y = y_min[row_triangle] + row_offset
    offset_y = row_y - a_y[row_owner]
    inverse_area = inverse_area[row_owner]
    p_b = -(a_x_ac_y + offset_y * ac_x[row_owner]) * inverse_area
    p_c = (ab_x[row_owner] * offset_y + a_x_ab_y) * inverse_area
    q_b, q_c, q_a = q_b[row_owner], q_c[row_owner], q_a[row_owner]
    # Inside: w_b >= -tol, w_c >= -tol and -(w_b + w_c) >= -(1 + tol); each bounds x from one side. A weight that
    # does not change along a row (a horizontal edge) holds on every row of the box, which ends at that edge.
    low, high = x_min[row_triangle], x_max[row_triangle]
    tolerance = BARYCENTRIC_TOLERANCE
    for p, q, limit in ((p_b, q_b, -tolerance), (p_c, q_c, -tolerance), (-(p_b + p_c), q_a, -1.0 - tolerance)):
        with np.errstate(divide="ignore", invalid="ignore"):
            bound = (limit - p) / q
        np.maximum(low, bound, out=low, where=q > 0)
        np.minimum(high, bound, out=high, where=q < 0)
    low = np.ceil(low)
    span = np.maximum(np.floor(high) - low + 1, 0).astype(np.int64)
    if int(span.sum()) == 0:
        empty_int = np.zeros(0, np.int64)
        empty_float = np.zeros(0, np.float32)
        return RasterisedMesh(empty_int, empty_int, empty_float, empty_float)
    # Pixel k of the runs lies on row pixel_row[k] at x = low + (k - the row's first k): the row's part is one
    # value per row (whole numbers, exact in float64 and int64). Rows without pixels get any finite value.
    pixel_row = np.repeat(np.arange(span.size), span)
    first_pixel = np.cumsum(span) - span
    low = np.where(span > 0, low, 0.0)
    order = np.arange(pixel_row.size)
    pixel_x = (low - first_pixel)[pixel_row] + order
    weight_b = p_b[pixel_row] + q_b[pixel_row] * pixel_x
    weight_c = p_c[pixel_row] + q_c[pixel_row] * pixel_x
    pixel_index = (row_y * width + low.astype(np.int64) - first_pixel)[pixel_row] + order
    # One winner per pixel: the last writer in painter's order (numpy assigns repeated indices in order); the
    # equality test below keeps exactly one pair per pixel whatever the assignment order. (Only written cells are
    # read back, so the table needs no filling.)
    winner = np.empty(width * height, dtype=np.int64)
    winner[pixel_index] = order
    kept = winner[pixel_index] == order
    return RasterisedMesh(
        pixel_index=pixel_index[kept],
        triangle=row_triangle[pixel_row[kept]],
        weight_b=weight_b[kept].astype(np.float32),
        weight_c=weight_c[kept].astype(np.float32),
    )


def _enumerate_runs(lengths: npt.NDArray[np.int64]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """For consecutive runs of these lengths: each element's run number and its place within the run."""
    owner = np.repeat(np.arange(lengths.size), lengths)
    starts = np.cumsum(lengths) - lengths
    return owner, np.arange(owner.size) - starts[owner]


def affine_fill(
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
