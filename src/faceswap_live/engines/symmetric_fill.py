"""Symmetric fill: the far or shadowed side of a turned or side-lit target photo drawn from its other side.

A photo turned 15 degrees shows its far cheek squeezed across, and a photo lit from one side shows that side in
shadow (often both: p10_1 of the shared portraits). Drawn on a user facing the camera, the squeezed cheek is
stretched back out and the shadow lifted by the light match, and the photo's JPEG noise is lifted with it: a dark,
grainy, blotchy half face. Skin is nearly symmetric, so where the photo's own view of a mesh point is much worse than
its view of the point's mirror image (mesh_topology.MIRROR_POINTS), the engine draws that point from the mirror
point's side of the photo instead, flipped (the "soft symmetry" of face frontalisation). How much (0-1 per point,
mirror_weights) is worked out once per photo, from:

- the turn: each triangle's facing on the expression basis's mean head turned by the photo's yaw, against its
  mirror triangle's (MIRROR_SQUEEZE);
- the light: the photo's brightness at the point (blurred a little) against its mirror point's (MIRROR_SHADE); the
  brightness as measured, not the fitted light model's, which leaves out the shadow of a far eye socket.

The eyes, brows and lips, what makes a face recognisable and its asymmetry, are never mirrored (FEATURE_RINGS), and
the weights are smoothed along the mesh so that the two sides cross-fade over the cheek. A frontal, evenly lit photo
gets no weights at all and is drawn as before, at no cost.
"""

from __future__ import annotations

import functools
import math
from typing import Final

import numpy as np
import numpy.typing as npt

from faceswap_live.engines.target_mask import smoothstep
from faceswap_live.stages.expression import ExpressionBasis, photo_yaw_deg
from faceswap_live.stages.mesh_topology import (
    FACE_OVAL,
    FRONT_FACING_SIGN,
    LEFT_EYE,
    LEFT_EYEBROW,
    MESH_POINT_COUNT,
    MIRROR_POINTS,
    NOSE_WINGS,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    RIGHT_EYE,
    RIGHT_EYEBROW,
    TESSELATION_TRIANGLES,
    ring_distance,
)

MIRROR_SQUEEZE: Final = (0.75, 0.45)
"""A triangle facing the camera this share as squarely as on a frontal head (the photo's turn squeezes it) starts
to be / is fully drawn from its mirror image, when the mirror triangle faces the camera at least MIRROR_GAIN more
squarely (a triangle hidden on a frontal head too, facing under FRONTAL_FACING_MIN, never is)."""
MIRROR_GAIN: Final = (0.1, 0.3)
FRONTAL_FACING_MIN: Final = 0.2
MIRROR_SHADE: Final = (0.6, 0.4)
"""A point whose brightness in the photo is this share of its mirror point's starts to be / is fully drawn from the
mirror point: a shadow that deep holds little but noise once lifted to the user's light (a milder one is left to the
light match). Read only on skin LIGHT_RINGS or more mesh edges from the outline (where the background shows through
the blur) and NOSE_RINGS from the nose wings (nostrils shade unevenly on any photo not quite frontal)."""
LIGHT_RINGS: Final = 2
NOSE_RINGS: Final = 1
FEATURE_RINGS: Final = {"eyes": (0, 2), "lips": (1, 3)}
"""Points up to the first this many mesh edges from the eyes and brows, or from the lips, are never mirrored; the
weight reaches its full value at the second. The skin beside the eyes is mirrored in part from their first ring
(a turned photo's far eye socket is often its darkest part), the eyes, brows and lips themselves never (mirrored
from their first ring too, the face read as less the target's to dlib: BENCHMARKS.md)."""
SMOOTHING_PASSES: Final = 2
"""Passes of averaging over each point's triangles, so that the two sides cross-fade over the cheek."""
MIN_WEIGHT: Final = 0.3
"""A photo whose weights all stay below this is drawn without the mirror (no cost)."""


def mirror_weights(
    photo_points: npt.NDArray[np.floating], photo_luminance: npt.NDArray[np.float64] | None = None
) -> npt.NDArray[np.float32] | None:
    """Per mesh point (468), how much of it to draw from its mirror point's side of the photo (0-1), or None where
    no point needs it. photo_points: the photo's 468×3 mesh (pixels, MediaPipe's depth); photo_luminance: its
    brightness at each point (shading.vertex_luminance), or None to weigh the turn alone."""
    points = np.asarray(photo_points[:MESH_POINT_COUNT], np.float64)
    weights = np.zeros(MESH_POINT_COUNT)
    if points.shape[1] >= 3:
        weights = _per_point(_squeezed_triangles(photo_yaw_deg(points)))
    if photo_luminance is not None:
        ratio = (photo_luminance + 1.0) / (photo_luminance[MIRROR_POINTS] + 1.0)
        weights = np.maximum(weights, smoothstep(ratio, MIRROR_SHADE) * _light_readable())
    weights = weights * _feature_free()
    for _ in range(SMOOTHING_PASSES):
        weights = _per_point(weights[TESSELATION_TRIANGLES].mean(axis=1))
    # Smoothing spreads some weight across the midline: a point is drawn from its mirror only by as much as its
    # mirror is not drawn from it (midline points, their own mirror image, get none).
    weights = np.clip(weights - weights[MIRROR_POINTS], 0.0, 1.0) * _feature_free()
    if float(weights.max()) < MIN_WEIGHT:
        return None
    return np.asarray(weights, np.float32)


def _squeezed_triangles(yaw_deg: float) -> npt.NDArray[np.float64]:
    """Per surface triangle, 0-1: how far the photo's turn squeezes it past its mirror triangle (MIRROR_SQUEEZE,
    MIRROR_GAIN), on the expression basis's mean head."""
    frontal = head_facing(0.0)
    own, mirrored = head_facing(yaw_deg), head_facing(-yaw_deg)
    seen = frontal >= FRONTAL_FACING_MIN
    own_share = np.where(seen, own / np.maximum(frontal, 1e-6), 1.0)
    mirror_share = np.where(seen, mirrored / np.maximum(frontal, 1e-6), 1.0)
    return np.asarray(
        smoothstep(own_share, MIRROR_SQUEEZE) * smoothstep(mirror_share - own_share, MIRROR_GAIN), np.float64
    )


def head_facing(yaw_deg: float) -> npt.NDArray[np.float64]:
    """Per surface triangle of the expression basis's mean head turned by yaw_deg (as photo_yaw_deg measures a
    turn), the cosine between its outward normal and the direction to the camera; 0 when turned away (hidden)."""
    yaw = math.radians(yaw_deg)
    turn = np.array([[math.cos(yaw), 0.0, math.sin(yaw)], [0.0, 1.0, 0.0], [-math.sin(yaw), 0.0, math.cos(yaw)]])
    mesh = ExpressionBasis.load().reference @ turn
    corner_a, corner_b, corner_c = (mesh[TESSELATION_TRIANGLES[:, corner]] for corner in range(3))
    normal = np.cross(corner_b - corner_a, corner_c - corner_a)
    towards_camera = FRONT_FACING_SIGN * normal[:, 2] / np.maximum(np.linalg.norm(normal, axis=1), 1e-12)
    return np.asarray(np.maximum(towards_camera, 0.0), np.float64)


def _per_point(triangle_values: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """The mean of each point's triangles' values (0 for a point on no triangle)."""
    totals = np.zeros(MESH_POINT_COUNT)
    np.add.at(totals, TESSELATION_TRIANGLES.ravel(), np.repeat(triangle_values, 3))
    return np.asarray(totals / np.maximum(_triangle_counts(), 1), np.float64)


@functools.cache
def _triangle_counts() -> npt.NDArray[np.int64]:
    return np.bincount(TESSELATION_TRIANGLES.ravel(), minlength=MESH_POINT_COUNT)


@functools.cache
def _light_readable() -> npt.NDArray[np.float64]:
    """Per point, 1 where the light criterion is read (LIGHT_RINGS from the outline, NOSE_RINGS from the nose wings,
    on both sides)."""
    readable = (ring_distance(FACE_OVAL) >= LIGHT_RINGS) & (ring_distance(NOSE_WINGS) >= NOSE_RINGS)
    return np.asarray(readable & readable[MIRROR_POINTS], np.float64)


@functools.cache
def _feature_free() -> npt.NDArray[np.float64]:
    """Per point, 0 on and near the eyes, brows and lips, rising to 1 over FEATURE_RINGS (the same on both sides)."""
    free = np.ones(MESH_POINT_COUNT)
    for features, (near, far) in (
        (RIGHT_EYE + LEFT_EYE + RIGHT_EYEBROW + LEFT_EYEBROW, FEATURE_RINGS["eyes"]),
        (OUTER_LIP_UPPER + OUTER_LIP_LOWER, FEATURE_RINGS["lips"]),
    ):
        distance = ring_distance(features).astype(np.float64)
        free = np.minimum(free, np.clip((distance - near) / (far - near), 0.0, 1.0))
    return np.asarray(np.minimum(free, free[MIRROR_POINTS]), np.float64)
