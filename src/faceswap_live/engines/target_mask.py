"""Where a target photo shows its face: the alpha that keeps the target's hair, hats and hands out of the swap; and
whether it shows glasses (wears_glasses).

Made once per target photo (target_face_alpha), nothing per frame. The mesh engine warps this alpha with the photo,
so a fringe or a strand over a cheek is never pasted onto the user's face as streaks of skin, and blend.match_colour
leaves those pixels out of the photo's light field.
"""

from __future__ import annotations

import functools
import math
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.stages.mesh_topology import (
    FACE_OVAL,
    LEFT_EYE,
    LEFT_EYE_CORNERS,
    LEFT_EYEBROW,
    MESH_POINT_COUNT,
    MOUTH_CORNERS,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    RIGHT_EYE,
    RIGHT_EYE_CORNERS,
    RIGHT_EYEBROW,
    TESSELATION_TRIANGLES,
    ring_distance,
)
from faceswap_live.types import BgrImage, Box, TargetFace

ALWAYS_TARGET_GROUPS: Final = (
    RIGHT_EYE,
    LEFT_EYE,
    OUTER_LIP_UPPER + OUTER_LIP_LOWER,
    (RIGHT_EYE_CORNERS[0], LEFT_EYE_CORNERS[1], 105, 66, 107, 336, 296, 334, MOUTH_CORNERS[0], MOUTH_CORNERS[1], 17),
)
"""Groups of mesh points whose hulls, grown by FEATURE_KEEP_GROW, are always drawn from the target
(target_face_alpha): each eye, the lips, and the middle of the face (from the outer eye corners and the inner brows
down to the mouth corners and below the lower lip). The brows are kept as they are, not grown: a fringe may reach
right down to them."""
FEATURE_KEEP_GROW: Final = 0.05
"""Diameter of the disc, as a share of the face size, that grows the always-drawn hulls (by half of it on every
side: the skin around an eye, the shade at its corners)."""
SHINE_CLEARANCE: Final = 0.04
"""A patch brighter than the skin that fails the skin test counts as shine on the skin when it keeps at least this
share of the face size from the outline above the eyes (_shine)."""
SHINE_HUE_MARGIN_DEG: Final = 10.0
"""Shine is no yellower than the skin by more than this hue angle (or nearly grey); fair hair is (_shine)."""
HAIR_CLEARANCE: Final = (0.03, 0.10)
"""Above the eyes, the target's skin is drawn from 0 at this share of the face size away from its hair to fully at
the second (smoothstep): see target_face_alpha."""
EYE_HAIR_CLEARANCE: Final = (0.01, 0.04)
"""HAIR_CLEARANCE between the brows and the eyes, where the temple's hair is close to the eye's make-up."""
CHEEK_HAIR_CLEARANCE: Final = (0.0, 0.03)
"""HAIR_CLEARANCE below the eyes, measured to hair inside the face outline: a soft edge where hair hangs over a
cheek."""
CHEEK_HAIR_MIN_WIDTH: Final = 0.03
"""Share of the face size below which a patch of non-skin on a cheek is stubble or a mole, not hair over it."""
MAKEUP_HUE_MARGIN_DEG: Final = 8.0
"""A pixel whose hue is this much yellower than the target's skin no longer counts as made-up or shaded skin."""


def target_face_alpha(image_bgr: BgrImage, points_px: npt.NDArray[np.float32]) -> npt.NDArray[np.uint8]:
    """H×W uint8: 255 where the target photo shows its face, falling to 0 on hair, hats or hands over the face rim.

    Hair over the forehead or the temples lies inside the mesh, so a plain warp pastes it onto the user's face as
    streaks. The brows, eyes and lips and the middle of the face (ALWAYS_TARGET_GROUPS) are always kept; elsewhere
    inside the face outline, a pixel counts as face when its Lab colour is close to the skin colour measured on the
    middle of the face below the eyes (median and spread), or as red as the skin or redder (make-up, blush, a
    beard's shade; hair is yellower or greyer), so the user's own skin shows where the target's hair was, and a
    fringe is neither drawn nor lit up into a band of skin (blend.match_colour leaves it out too). A pixel in a
    brow's hull that is paler than the skin and not skin is a fair strand over the brow, left out too. Shine on the
    skin (a highlight: paler, no yellower, and not reaching in from the outline above the eyes) is skin (_shine).
    """
    height, width = image_bgr.shape[:2]
    oval = points_px[list(FACE_OVAL)]
    centre = oval.mean(axis=0)
    face_size = float(np.ptp(oval, axis=0).max())
    # The features themselves (brows, eyes, lips) and the middle of the face are always the target's; the rest of
    # the face, around the brows' tails included, only where its colour is skin: a strand of hair hanging past a
    # brow's tail was kept (the hull of all features reached it) and drawn as a pale tuft at the user's eye.
    features = np.zeros((height, width), np.uint8)
    for group in ALWAYS_TARGET_GROUPS:
        cv2.fillConvexPoly(features, cv2.convexHull(np.round(points_px[list(group)]).astype(np.int32)), 255)
    grow = _odd(face_size * FEATURE_KEEP_GROW)
    inner = np.asarray(cv2.dilate(features, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow))), np.uint8)
    brow_hulls = np.zeros((height, width), np.uint8)
    for brow in (RIGHT_EYEBROW, LEFT_EYEBROW):
        cv2.fillConvexPoly(brow_hulls, cv2.convexHull(np.round(points_px[list(brow)]).astype(np.int32)), 255)
    # The skin is sampled in the middle of the face below the eyes: a fringe, a hat or a hand over the forehead
    # never reaches there, and would widen the skin model until hair passes for skin.
    skin_sample = np.zeros((height, width), np.uint8)
    cv2.fillPoly(skin_sample, [np.round((oval - centre) * 0.6 + centre).astype(np.int32)], 255)
    right_eye, left_eye = points_px[RIGHT_EYE_CORNERS[0]], points_px[LEFT_EYE_CORNERS[1]]
    across = (left_eye - right_eye) * 4.0
    down = np.array([-across[1], across[0]], np.float32)
    down *= 1.0 if down[1] >= 0 else -1.0
    start = (right_eye + left_eye) / 2.0 + 0.03 * down
    below = np.zeros_like(skin_sample)
    cv2.fillConvexPoly(
        below,
        np.round([start - across, start + across, start + across + down, start - across + down]).astype(np.int32),
        255,
    )
    skin_sample = np.asarray(cv2.bitwise_and(skin_sample, below), np.uint8)
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
    skin = np.maximum(skin, _made_up_skin(lab, median))
    skin = np.maximum(skin, _shine(skin, lab, median, oval, face_size, below > 0))
    # A brow is darker than the skin around it; a paler pixel in a brow's hull that is not skin is a strand of
    # (fair) hair across the brow's tail, drawn as a pale tuft at the user's eye if kept.
    pale_hair = (lab[:, :, 0] > median[0]) & (skin < 0.5)
    inner = np.maximum(inner, np.where(pale_hair, 0, brow_hulls).astype(np.uint8))
    kernel = _odd(face_size * 0.02)
    # Above the eyes, where a fringe or a hairline meets the skin, the skin fades out before it reaches the hair
    # (HAIR_CLEARANCE): the edge must fade out on skin, or the hair's border pixels (and the warp's interpolation
    # into them) are drawn half-opaque as a brown band across the forehead. Below the eyes the rim is cheek and jaw
    # against the background, which carry the identity: left as it is.
    # The brows and eyes are not skin but not hair either: the distance is measured to what is neither.
    not_hair = ((skin > 0.5) | (inner > 0)).astype(np.uint8)
    clear_of_hair = cv2.distanceTransform(not_hair, cv2.DIST_L2, 5) / face_size
    away_from_hair = skin * smoothstep(clear_of_hair, HAIR_CLEARANCE)
    # Between the brows and the eyes (eye shadow, liner, the temples beside them) the fade is shorter
    # (EYE_HAIR_CLEARANCE): the full one reached from the temple's hair to the eye and let the user's own liner
    # and brow tails show beside the drawn eyes.
    below_brows = np.zeros_like(below)
    brows = points_px[list(RIGHT_EYEBROW + LEFT_EYEBROW)].mean(axis=0)
    brow_start = brows + (start - (right_eye + left_eye) / 2.0)
    cv2.fillConvexPoly(
        below_brows,
        np.round([brow_start - across, brow_start + across, start + across + down, start - across + down]).astype(
            np.int32
        ),
        255,
    )
    beside_eyes = skin * smoothstep(clear_of_hair, EYE_HAIR_CLEARANCE)
    # Below the eyes, hair hanging over a cheek gets a soft edge (CHEEK_HAIR_CLEARANCE), or the user's cheek meets
    # the target's along a visible seam; the distance is to hair inside the face outline only, so the rim of the
    # cheeks and jaw against the background (which carries the identity) stays whole.
    # Specks of stubble among a beard's skin are not a strand: only hair wider than CHEEK_HAIR_MIN_WIDTH counts.
    inside = np.zeros((height, width), np.uint8)
    cv2.fillPoly(inside, [np.round(oval).astype(np.int32)], 1)
    width_px = _odd(face_size * CHEEK_HAIR_MIN_WIDTH)
    cheek_hair = cv2.morphologyEx(
        (1 - not_hair) & inside, cv2.MORPH_OPEN, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (width_px, width_px))
    )
    clear_of_cheek_hair = np.asarray(
        cv2.distanceTransform((1 - cheek_hair).astype(np.uint8), cv2.DIST_L2, 5) / face_size, np.float32
    )
    # The specks themselves (a beard's dark hairs, moles) are drawn too: left out, a beard became a sieve of the
    # user's skin, smeared into streaks wherever the photo's cheek is stretched.
    specks = ((1 - not_hair) & inside & (1 - cheek_hair)).astype(np.float32)
    on_cheeks = np.maximum(skin, specks) * smoothstep(clear_of_cheek_hair, CHEEK_HAIR_CLEARANCE)
    skin = np.where(below > 0, on_cheeks, np.where(below_brows > 0, beside_eyes, away_from_hair))
    skin = cv2.GaussianBlur(skin, (kernel, kernel), 0)
    feather = _odd(face_size * 0.04)
    inner_soft = cv2.GaussianBlur(inner, (feather, feather), 0).astype(np.float32) / 255.0
    alpha = np.maximum(skin, inner_soft)
    return np.asarray(np.round(alpha * 255.0), dtype=np.uint8)


def _paler_not_yellower(lab: npt.NDArray[np.float32], skin_median: npt.NDArray[np.float32]) -> npt.NDArray[np.bool_]:
    """H×W: brighter than the skin and no yellower (within SHINE_HUE_MARGIN_DEG of its hue, or nearly grey): a
    highlight pales skin towards the light's colour, fair hair is yellower than the skin it lies on."""
    a, b = lab[:, :, 1] - 128.0, lab[:, :, 2] - 128.0
    skin_a, skin_b = float(skin_median[1]) - 128.0, float(skin_median[2]) - 128.0
    skin_hue = math.degrees(math.atan2(skin_b, skin_a))
    yellower = np.degrees(np.arctan2(b, a)) - skin_hue > SHINE_HUE_MARGIN_DEG
    greyish = np.hypot(a, b) < 0.35 * math.hypot(skin_a, skin_b)
    return np.asarray((lab[:, :, 0] > skin_median[0]) & (~yellower | greyish), np.bool_)


def _shine(
    skin: npt.NDArray[np.float32],
    lab: npt.NDArray[np.float32],
    skin_median: npt.NDArray[np.float32],
    oval: npt.NDArray[np.float32],
    face_size: float,
    below_eyes: npt.NDArray[np.bool_],
) -> npt.NDArray[np.float32]:
    """H×W 0-1: the shine on the skin (1 there): patches that fail the skin test but are paler than the skin and no
    yellower (a highlight on a forehead, a cheek or a nose: _paler_not_yellower) and do not reach the outline above
    the eyes (within SHINE_CLEARANCE of the face size), where hair comes into a face. Left out, the user's own skin
    showed through them as pale holes; a fair fringe or strands hanging from the temples reach it and stay out. Worked
    out within the outline's box."""
    height, width = skin.shape
    box = Box.around(oval).clipped(width, height)
    shine = np.zeros((height, width), np.float32)
    if box.width <= 0 or box.height <= 0:
        return shine
    window = (slice(box.y0, box.y1), slice(box.x0, box.x1))
    inside = np.zeros((box.height, box.width), np.uint8)
    cv2.fillPoly(inside, [np.round(oval - (box.x0, box.y0)).astype(np.int32)], 1)
    near_outline = cv2.distanceTransform(np.pad(inside, 1), cv2.DIST_L2, 5)[1:-1, 1:-1] < SHINE_CLEARANCE * face_size
    paler = _paler_not_yellower(lab[window], skin_median)
    candidates = ((skin[window] < 0.5) & paler & (inside > 0)).astype(np.uint8)
    count, labels = cv2.connectedComponents(candidates, connectivity=8)
    if count <= 1:
        return shine
    reaching_out = np.unique(labels[(candidates > 0) & near_outline & ~below_eyes[window]])
    shine[window] = np.isin(labels, reaching_out, invert=True) & (candidates > 0)
    return shine


def _made_up_skin(lab: npt.NDArray[np.float32], skin_median: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """H×W 0-1: how much each pixel is skin under make-up or in shade rather than hair: as red as the skin or redder
    (its hue no yellower than the skin's, MAKEUP_HUE_MARGIN_DEG) with at least half the skin's colourfulness."""
    a, b = lab[:, :, 1] - 128.0, lab[:, :, 2] - 128.0
    skin_a, skin_b = float(skin_median[1]) - 128.0, float(skin_median[2]) - 128.0
    skin_hue = math.degrees(math.atan2(skin_b, skin_a))
    skin_chroma = math.hypot(skin_a, skin_b)
    if skin_chroma < 4.0:  # a grey or black-and-white photo: hue says nothing
        return np.zeros(lab.shape[:2], np.float32)
    hue = np.degrees(np.arctan2(b, a))
    chroma = np.hypot(a, b)
    redder = np.clip((MAKEUP_HUE_MARGIN_DEG - (hue - skin_hue)) / MAKEUP_HUE_MARGIN_DEG, 0.0, 1.0)
    colourful = np.clip((chroma - 0.5 * skin_chroma) / (0.25 * skin_chroma), 0.0, 1.0)
    return np.asarray(redder * colourful, np.float32)


def smoothstep(distance: npt.NDArray[np.floating], edges: tuple[float, float]) -> npt.NDArray[np.float32]:
    """0 up to edges[0], 1 from edges[1], a smoothstep between."""
    ramp = np.clip((distance - edges[0]) / (edges[1] - edges[0]), 0.0, 1.0)
    return np.asarray(ramp * ramp * (3.0 - 2.0 * ramp), np.float32)


def _odd(size: float) -> int:
    return max(1, int(size)) | 1


GLASSES_EDGE_RATIO: Final = 1.05
"""A photo shows glasses when the 90th percentile of its edge strength in a ring 2-4 mesh edges around the eyes (where
frames sit) is above this many times that of the cheeks. Fitted on the shared portraits: 5 of 7 photos with glasses
above it (thin metal frames are missed), none of 63 without (highest 0.95)."""


def wears_glasses(face: TargetFace) -> bool:
    """Whether `face`'s photo shows glasses: strong edges in the ring around the eyes where frames sit, compared with
    the cheeks (see GLASSES_EDGE_RATIO). Model-free, a few milliseconds."""
    points = np.asarray(face.landmarks.points_px, dtype=np.float64)[:MESH_POINT_COUNT, :2]
    eye_width = float(np.linalg.norm(points[33] - points[133]))
    height, width = face.image_bgr.shape[:2]
    x0, y0 = np.maximum(np.floor(points.min(axis=0)).astype(int), 0)
    x1, y1 = np.minimum(np.ceil(points.max(axis=0)).astype(int) + 1, [width, height])
    gray = cv2.cvtColor(face.image_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).astype(np.float32)
    gray = np.asarray(cv2.GaussianBlur(gray, (0, 0), max(0.7, eye_width / 40)), dtype=np.float32)
    edges = np.hypot(cv2.Sobel(gray, cv2.CV_32F, 1, 0), cv2.Sobel(gray, cv2.CV_32F, 0, 1))
    corners = np.rint(points - [x0, y0]).astype(np.int32)

    def strong_edge(triangles: npt.NDArray[np.int32]) -> float:
        mask = np.zeros(gray.shape, dtype=np.uint8)
        for triangle in triangles:
            cv2.fillConvexPoly(mask, corners[triangle], 1)
        return float(np.percentile(edges[mask > 0], 90)) if mask.any() else 0.0

    frame_zone, cheeks = _glasses_zones()
    return strong_edge(frame_zone) > GLASSES_EDGE_RATIO * max(strong_edge(cheeks), 1e-6)


@functools.cache
def _glasses_zones() -> tuple[npt.NDArray[np.int32], npt.NDArray[np.int32]]:
    """Mesh triangles where glasses frames sit (2-4 edges from the eye contours, off the brows and the outline) and
    plain cheek triangles to compare them with (6 or more from the eyes, off the lips, brows and outline)."""
    triangles = TESSELATION_TRIANGLES
    eyes = ring_distance(RIGHT_EYE + LEFT_EYE)[triangles].min(axis=1)
    brows = ring_distance(RIGHT_EYEBROW + LEFT_EYEBROW)[triangles].min(axis=1)
    outline = ring_distance(FACE_OVAL)[triangles].min(axis=1)
    lips = ring_distance(OUTER_LIP_UPPER + OUTER_LIP_LOWER)[triangles].min(axis=1)
    frame_zone = (eyes >= 2) & (eyes <= 4) & (brows >= 1) & (outline >= 2)
    cheeks = (eyes >= 6) & (outline >= 2) & (lips >= 2) & (brows >= 2)
    return triangles[frame_zone], triangles[cheeks]
