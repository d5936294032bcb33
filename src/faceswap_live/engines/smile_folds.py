"""A smiling target photo's smile folds, smoothed out of its texture while the user does not smile.

The engine takes the photo's expression out of its mesh (stages/expression.py), but the texture keeps it: the crease
from each nose wing down past the mouth corner and the bulge of the cheek above it. Drawn on a user at rest, they read
as a fixed smirk, the mask look the user sees first up close. Made once per target photo (smooth_smile_folds): inside a
zone over each fold (the cheek between the nose wing, the mouth corner and the cheek's middle, feathered; never the nose
or the lips), the photo's detail between FOLD_DETAIL_SIGMA and FOLD_SHAPE_SIGMA of the face width is lifted where it is
darker than the skin around it (the fold's shaded, deeper-coloured crease), in each colour channel and in proportion to
how broadly the photo smiles (SMILE_RAMP). Pores, freckles and fine lines (below FOLD_DETAIL_SIGMA), the face's light
and colour (above FOLD_SHAPE_SIGMA) and the lit bulge of the cheek stay. A photo at rest is left as it is. The folds
come back when they belong: the engine keeps the photo as taken too and, each frame the user smiles, blends it in, fully
where the user smiles as broadly as the photo (returning_fold_share). Only a target with one photo is smoothed: with
several, the engine draws the one whose expression is nearest the user's, and its folds then belong there.
"""

from __future__ import annotations

import functools
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.stages.mesh_topology import (
    FACE_OVAL,
    MESH_POINT_COUNT,
    NOSE_WINGS,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    SMILE_FOLDS,
    TESSELATION_TRIANGLES,
    ring_distance,
)
from faceswap_live.types import BgrImage

SMILE_RAMP: Final = (0.15, 0.5)
"""The photo's smile score (the larger of MediaPipe's mouthSmileLeft/Right) at which the folds start to be taken out,
and at which they are taken out fully. Photos at rest read 0.00-0.14 on the shared portraits, broad smiles 0.7-0.97."""
FOLD_DETAIL_SIGMA: Final = 0.006
FOLD_SHAPE_SIGMA: Final = 0.1
"""The band of detail taken out, as Gaussian sigmas in shares of the face width: from above the skin's texture (pores,
freckles; and never below a pixel, or a small photo's skin would turn to wax) to below the face's light."""
ZONE_FEATHER: Final = 0.02
"""Blur of the fold zone's edge, as a share of the face width."""
WORK_FACE_WIDTH_PX: Final = 64.0
"""The broad blur (FOLD_SHAPE_SIGMA) runs on the zone reduced until the face is about this wide."""


def smile_score(blendshapes: dict[str, float] | None) -> float:
    """How broadly a face smiles: the larger of MediaPipe's mouthSmileLeft/Right (0 without scores)."""
    scores = blendshapes or {}
    return max(scores.get("mouthSmileLeft", 0.0), scores.get("mouthSmileRight", 0.0))


def returning_fold_share(user_smile: float, photo_smile: float) -> float:
    """How much of a smoothed photo's own smile folds to draw on a user smiling user_smile broadly: none up to
    SMILE_RAMP[0], rising linearly to all of them where the user smiles as broadly as the photo did."""
    start = SMILE_RAMP[0]
    if photo_smile <= start:
        return 0.0
    return float(np.clip((user_smile - start) / (photo_smile - start), 0.0, 1.0))


def smooth_smile_folds(
    image_bgr: BgrImage, points_px: npt.NDArray[np.floating], blendshapes: dict[str, float] | None
) -> BgrImage:
    """image_bgr with its smile folds smoothed (a new image; image_bgr itself is not changed), or image_bgr itself
    for a photo that does not smile. points_px: the photo's face mesh (468+ points, x and y in pixels)."""
    smile = smile_score(blendshapes)
    low, high = SMILE_RAMP
    strength = float(np.clip((smile - low) / (high - low), 0.0, 1.0))
    points = np.asarray(points_px, np.float64)[:MESH_POINT_COUNT, :2]
    face_width = float(np.ptp(points[list(FACE_OVAL), 0]))
    if strength <= 0.0 or face_width < 16.0:
        return image_bgr
    height, width = image_bgr.shape[:2]
    # Work inside the zone's box, grown by the broad blur's reach.
    fold_points = points[_fold_zone_points()]
    margin = 3.0 * FOLD_SHAPE_SIGMA * face_width
    x0, y0 = np.maximum(np.floor(fold_points.min(axis=0) - margin), 0).astype(int)
    x1 = int(min(np.ceil(fold_points[:, 0].max() + margin), width))
    y1 = int(min(np.ceil(fold_points[:, 1].max() + margin), height))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return image_bgr
    window = image_bgr[y0:y1, x0:x1]
    zone = _fold_zone(points - (x0, y0), (y1 - y0, x1 - x0), face_width)
    # Per channel: a fold's shade is also a deeper colour (orange-brown in the crease), which a brightness change
    # alone (added or multiplied) leaves as an orange line where the crease was.
    colour = window.astype(np.float32)
    detail_blur = cv2.GaussianBlur(colour, (0, 0), max(1.0, FOLD_DETAIL_SIGMA * face_width))
    shape_blur = _broad_blur(colour, FOLD_SHAPE_SIGMA * face_width, face_width)
    # Only where the fold is darker than the skin around it: taking out its lit bulge too (the cheek's shape) moved
    # the swap towards the user's identity on the fitting clips, for the same expression figures.
    shaded = shape_blur.mean(axis=2) > detail_blur.mean(axis=2)
    weight = zone * shaded * np.float32(strength)
    result = image_bgr.copy()
    smoothed = colour + (shape_blur - detail_blur) * weight[:, :, None]
    result[y0:y1, x0:x1] = np.clip(np.rint(smoothed), 0, 255).astype(np.uint8)
    return result


def _broad_blur(image: npt.NDArray[np.float32], sigma_px: float, face_width: float) -> npt.NDArray[np.float32]:
    """A Gaussian blur of sigma_px, run on the image reduced to about WORK_FACE_WIDTH_PX across the face."""
    factor = max(1.0, face_width / WORK_FACE_WIDTH_PX)
    height, width = image.shape[:2]
    small_size = (max(2, round(width / factor)), max(2, round(height / factor)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), max(0.5, sigma_px / factor))
    return np.asarray(cv2.resize(blurred, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)


@functools.cache
def _point_weights() -> npt.NDArray[np.float64]:
    """Per mesh point, how much of the fold zone it is: 1 on the folds, 1/2 one mesh edge away, 0 on the nose wings
    and the outer lips (their own edges are detail, not a fold)."""
    hops = ring_distance(SMILE_FOLDS)
    weights = np.where(hops == 0, 1.0, np.where(hops == 1, 0.5, 0.0))
    weights[list(NOSE_WINGS + OUTER_LIP_UPPER + OUTER_LIP_LOWER)] = 0.0
    return weights


@functools.cache
def _fold_zone_points() -> list[int]:
    return [int(index) for index in np.flatnonzero(_point_weights() > 0.0)]


def _fold_zone(points: npt.NDArray[np.float64], shape: tuple[int, int], face_width: float) -> npt.NDArray[np.float32]:
    """shape-sized float32: each mesh triangle touching the zone filled with its corners' mean weight, feathered."""
    weights = _point_weights()
    triangle_weights = weights[TESSELATION_TRIANGLES].mean(axis=1)
    zone = np.zeros(shape, np.float32)
    for triangle in np.flatnonzero(triangle_weights > 0.0):
        corners = np.round(points[TESSELATION_TRIANGLES[triangle]] * 16).astype(np.int32)
        cv2.fillConvexPoly(zone, corners, float(triangle_weights[triangle]), cv2.LINE_AA, shift=4)
    return np.asarray(cv2.GaussianBlur(zone, (0, 0), max(0.5, ZONE_FEATHER * face_width)), np.float32)
