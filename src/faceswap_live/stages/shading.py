"""Directional light on a face, fitted on its mesh: a photo's side light taken out, the user's put in.

A face's skin brightness is, to a first approximation, its albedo times a smooth function of the surface normal.
First-order spherical harmonics, L(n) = c0 + c·n (ambient light plus one direction), fitted by least squares on the
blurred luminance at the mesh's skin vertices (features and outliers such as a beard, glasses or a strand of hair
left out), explain most of a side-lit portrait's shading: r 0.90 on a studio portrait lit from one side. Unlike a
blurred-luminance quotient (blend.match_colour, which keeps the light's colour and its coarse level), this follows
the face's own shape: the shadow down one side of the nose and along a cheek turning away are taken out of the
photo where they are, however sharp their edge, and nothing of the user's features comes back in, since the user's
light is also only a fitted function of their normals.

relative_shade gives each vertex its shade relative to the face's mean; the engine scales the drawn photo's brightness
by the ratio of the user's relative shade to the photo's (per vertex, interpolated across triangles).
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.stages.mesh_topology import (
    FACE_OVAL,
    LEFT_EYE,
    LEFT_EYEBROW,
    MESH_POINT_COUNT,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    RIGHT_EYE,
    RIGHT_EYEBROW,
    TESSELATION_TRIANGLES,
    ring_distance,
)
from faceswap_live.types import BgrImage

LIGHT_SAMPLE_SIGMA: Final = 0.02
"""The luminance is blurred by this share of the face width before it is read at the vertices (pores, stubble and
the grid's pixels average out; the shade of a nose does not)."""
LIGHT_WORK_FACE_WIDTH_PX: Final = 80.0
"""The luminance is read on the image halved until the face is at most twice this wide."""
FEATURE_RINGS: Final = 2
"""Vertices within this many mesh rings of the eyes, brows and lips do not enter the fit: their colour is not skin."""
OUTLIER_SIGMAS: Final = 2.0
"""After each fit, vertices this many (robust) standard deviations off it (a beard, glasses, hair) are left out of
the next; FIT_PASSES fits in all."""
FIT_PASSES: Final = 2
"""Least-squares fits per face: the first on all skin vertices, the second without its outliers."""
MIN_SHADE: Final = 0.25
"""A fitted shade below this share of the mean is held there: a fit is not trusted into black."""
MIN_FIT_VERTICES: Final = 40
"""Fewer skin vertices than this (a face mostly under hair or a hand) give no fit: the light is left as it is."""

SKIN_VERTICES: Final = (
    ring_distance(
        RIGHT_EYE + LEFT_EYE + RIGHT_EYEBROW + LEFT_EYEBROW + OUTER_LIP_UPPER + OUTER_LIP_LOWER, MESH_POINT_COUNT
    )
    >= FEATURE_RINGS
)
"""The vertices whose colour is skin: at least FEATURE_RINGS mesh rings from the eyes, brows and lips."""
_CORNER_ROWS: Final = np.ascontiguousarray(TESSELATION_TRIANGLES.T, dtype=np.int64)
"""The surface triangles' point indices, one row per corner (3×K)."""
_CORNER_OWNERS: Final = _CORNER_ROWS.ravel()


def vertex_normals(points: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """468×3 unit normals of a 468+ point mesh (x, y in pixels, z scaled like x), facing the camera (negative z):
    the area-weighted mean of the normals of the surface triangles around each vertex."""
    # On x, y and z columns and corner rows: gathering rows of K×3 tables and reducing over their short axis cost
    # half as much again.
    x, y, z = np.asarray(points[:MESH_POINT_COUNT, :3], np.float64).T
    (x_a, x_b, x_c), (y_a, y_b, y_c), (z_a, z_b, z_c) = x[_CORNER_ROWS], y[_CORNER_ROWS], z[_CORNER_ROWS]
    ab_x, ab_y, ab_z = x_b - x_a, y_b - y_a, z_b - z_a
    ac_x, ac_y, ac_z = x_c - x_a, y_c - y_a, z_c - z_a
    # The cross product written out: np.cross costs several times more on arrays this small.
    face_normals = (ab_y * ac_z - ab_z * ac_y, ab_z * ac_x - ab_x * ac_z, ab_x * ac_y - ab_y * ac_x)
    normal_x, normal_y, normal_z = (
        np.bincount(_CORNER_OWNERS, np.tile(axis, 3), MESH_POINT_COUNT) for axis in face_normals
    )
    length = np.maximum(np.sqrt(normal_x * normal_x + normal_y * normal_y + normal_z * normal_z), 1e-9)
    normals = np.asarray(np.stack([normal_x, normal_y, normal_z], 1) / length[:, None], np.float64)
    if float(normals[:, 2].sum()) > 0.0:
        normals = -normals
    return normals


def vertex_luminance(image_bgr: BgrImage, points_px: npt.NDArray[np.floating], face_width_px: float) -> np.ndarray:
    """468 float64: the image's luminance blurred by LIGHT_SAMPLE_SIGMA of the face width, read at each vertex (x, y
    in image_bgr's pixels; vertices outside the image read its nearest edge). A large face is read from the image
    halved (see LIGHT_WORK_FACE_WIDTH_PX): the blur makes the detail lost moot."""
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    scale = 1.0
    while face_width_px * scale > 2.0 * LIGHT_WORK_FACE_WIDTH_PX and min(grey.shape) >= 8:
        grey = cv2.pyrDown(grey)  # halves, Gaussian-filtered: several times cheaper than an area resize
        scale *= 0.5
    blurred = cv2.GaussianBlur(grey.astype(np.float32), (0, 0), max(0.5, LIGHT_SAMPLE_SIGMA * face_width_px * scale))
    height, width = blurred.shape
    # Pixel centres: x_small = (x + 0.5) * scale - 0.5.
    x = np.clip(np.rint((points_px[:MESH_POINT_COUNT, 0] + 0.5) * scale - 0.5).astype(np.int64), 0, width - 1)
    y = np.clip(np.rint((points_px[:MESH_POINT_COUNT, 1] + 0.5) * scale - 0.5).astype(np.int64), 0, height - 1)
    return np.asarray(blurred[y, x], np.float64)


def fit_light(
    luminance: npt.NDArray[np.float64], normals: npt.NDArray[np.float64], usable: npt.NDArray[np.bool_] | None = None
) -> npt.NDArray[np.float64] | None:
    """(c0, cx, cy, cz) of L(n) = c0 + c·n fitted to the skin vertices' luminance (468 each; usable: which vertices
    may count besides the features, e.g. not hair), with outliers dropped between passes; None with too few vertices."""
    keep = SKIN_VERTICES.copy() if usable is None else SKIN_VERTICES & usable
    design = np.hstack([np.ones((MESH_POINT_COUNT, 1)), normals])
    usable_skin = keep.copy()
    coefficients: npt.NDArray[np.float64] | None = None
    for _ in range(FIT_PASSES):
        if int(keep.sum()) < MIN_FIT_VERTICES:
            return coefficients
        rows = design[keep]
        try:  # the normal equations: 4×4, far cheaper than lstsq's SVD and as exact for a fit this well posed
            coefficients = np.linalg.solve(rows.T @ rows, rows.T @ luminance[keep])
        except np.linalg.LinAlgError:
            return None
        residual = luminance - design @ coefficients
        # The spread from the median absolute deviation: a beard's many dark vertices do not widen it.
        spread = 1.4826 * median(np.abs(residual[keep]))
        keep = usable_skin & (np.abs(residual) <= OUTLIER_SIGMAS * max(spread, 1e-6))
    return coefficients


def median(values: npt.NDArray[np.floating]) -> float:
    """np.median of a 1-D float array without NaNs, from np.partition alone: the same value at a third of the cost
    on a mesh's worth of values."""
    middle = values.size // 2
    if values.size % 2:
        return float(np.partition(values, middle)[middle])
    ordered = np.partition(values, (middle - 1, middle))
    return float((ordered[middle - 1] + ordered[middle]) / 2.0)


def relative_shade(coefficients: npt.NDArray[np.float64], normals: npt.NDArray[np.float64]) -> np.ndarray:
    """468 float64: the fitted light at each vertex over its mean on the skin vertices (at least MIN_SHADE)."""
    shade = np.hstack([np.ones((MESH_POINT_COUNT, 1)), normals]) @ coefficients
    mean = float(shade[SKIN_VERTICES].mean())
    if mean <= 1e-6:
        return np.ones(MESH_POINT_COUNT, np.float64)
    return np.asarray(np.maximum(shade / mean, MIN_SHADE), np.float64)


def face_width(points_px: npt.NDArray[np.floating]) -> float:
    """The mesh's face-outline width in pixels."""
    return float(np.ptp(points_px[list(FACE_OVAL), 0]))
