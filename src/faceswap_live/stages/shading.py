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

_SKIN_VERTICES: Final = (
    ring_distance(
        RIGHT_EYE + LEFT_EYE + RIGHT_EYEBROW + LEFT_EYEBROW + OUTER_LIP_UPPER + OUTER_LIP_LOWER, MESH_POINT_COUNT
    )
    >= FEATURE_RINGS
)
_CORNERS: Final = TESSELATION_TRIANGLES.astype(np.int64)
_CORNER_OWNERS: Final = np.concatenate([_CORNERS[:, 0], _CORNERS[:, 1], _CORNERS[:, 2]])


def vertex_normals(points: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """468×3 unit normals of a 468+ point mesh (x, y in pixels, z scaled like x), facing the camera (negative z):
    the area-weighted mean of the normals of the surface triangles around each vertex."""
    mesh = np.asarray(points[:MESH_POINT_COUNT, :3], np.float64)
    a = mesh[_CORNERS[:, 0]]
    ab, ac = mesh[_CORNERS[:, 1]] - a, mesh[_CORNERS[:, 2]] - a
    # The cross product written out: np.cross costs several times more on arrays this small.
    face_normals = (
        ab[:, 1] * ac[:, 2] - ab[:, 2] * ac[:, 1],
        ab[:, 2] * ac[:, 0] - ab[:, 0] * ac[:, 2],
        ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0],
    )
    normals = np.stack(
        [np.bincount(_CORNER_OWNERS, np.tile(axis, 3), MESH_POINT_COUNT) for axis in face_normals], 1
    ).astype(np.float64)
    normals /= np.maximum(np.sqrt((normals * normals).sum(axis=1, keepdims=True)), 1e-9)
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
    keep = _SKIN_VERTICES.copy() if usable is None else _SKIN_VERTICES & usable
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
        spread = 1.4826 * float(np.median(np.abs(residual[keep])))
        keep = usable_skin & (np.abs(residual) <= OUTLIER_SIGMAS * max(spread, 1e-6))
    return coefficients


def relative_shade(coefficients: npt.NDArray[np.float64], normals: npt.NDArray[np.float64]) -> np.ndarray:
    """468 float64: the fitted light at each vertex over its mean on the skin vertices (at least MIN_SHADE)."""
    shade = np.hstack([np.ones((MESH_POINT_COUNT, 1)), normals]) @ coefficients
    mean = float(shade[_SKIN_VERTICES].mean())
    if mean <= 1e-6:
        return np.ones(MESH_POINT_COUNT, np.float64)
    return np.asarray(np.maximum(shade / mean, MIN_SHADE), np.float64)


def face_width(points_px: npt.NDArray[np.floating]) -> float:
    """The mesh's face-outline width in pixels."""
    return float(np.ptp(points_px[list(FACE_OVAL), 0]))
