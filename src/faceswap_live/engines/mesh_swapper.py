"""The built-in engine: a piecewise-affine warp of the target photo onto the user's 478-point face mesh.

Identity (skin, brows, eyes, nose and lip texture) comes from the target photo; geometry, expression, head pose and
mouth movement come from the user's landmarks, because every mesh triangle of the target is stretched onto the same
triangle of the user's current mesh. No model weights: it runs on any CPU.

Per frame, all in numpy and without a Python loop over triangles:
1. the user's mesh is projected into a reduced-resolution grid over the face region (a map at about 128 px across:
   the warp is piecewise affine, so a coarse map upsampled linearly is exact inside triangles and continuous across
   them);
2. every row of every triangle's box is enumerated at once, the covered span of each row is solved for from the
   barycentric coordinates (linear along a row), and the nearest front-facing triangle wins each pixel (painter's
   order by depth; mesh_raster.py);
3. the winners' barycentric coordinates give the target-photo coordinates (map_x, map_y), which are upsampled to the
   region and fed to ONE cv2.remap of the target photo, sampled from a pyramid level near the frame's face size so
   a large photo does not alias (shimmer) on a small face, and blurred once to the softness of the user's camera where
   that is the softer (_follow_softness, stages/sharpness.py). Inside the drawn eyes the map is shifted along the eye
   first, so the photo's irises look as far to the side as the user's do from where they usually look
   (follow_gaze); an eye opened wider than the photo's is redrawn with a round iris and the white around it
   (wide_eyes.py). With several photos of the target (TargetFace.more_photos) the texture is that of the photo
   whose expression is nearest the user's (choose_photo), cross-faded over a few frames when it changes; the
   face's shape is always the first photo's. A single smiling photo is drawn with its smile folds smoothed out
   (smile_folds.py), blended back as the user smiles. Where a photo turned to one side squeezes its far cheek, or a
   side light leaves it in deep shadow, that skin is drawn from its mirror image on the photo's other side (a second
   remap on the mirrored map, cross-faded; symmetric_fill.py; frontal, evenly lit photos need none). Last, the
   photo's own directional light is swapped for the user's, per vertex (both fitted on the mesh's normals,
   stages/shading.py), so a side-lit photo's shadows leave with it, and a shutting eye's lid is the user's own in the
   drawn colours (shut_lids.py).
Triangles that face away from the camera are left out, and the whole face fades out as the head turns from 30 to
50 degrees away from the pose of the target photo (a rigid 3D fit of the photo's mesh onto the user's, see
estimate_yaw_deg) or as soon as more than a sliver of the reshaped mesh folds over (folded_share), so a turned
head shows the user's own face, never a smeared cheek or a torn or folded mesh. Likewise where a turned photo's rim
is squeezed beyond what its mirror image makes up for and the drawn face stretches it across, it fades to the user's
own cheek (rim_stretch_fade).
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.config import SwapConfig
from faceswap_live.engines.base import SwapEngine
from faceswap_live.engines.eye_colour import balance_eye_whites
from faceswap_live.engines.mesh_raster import MIN_TRIANGLE_AREA_PX, RasterisedMesh, affine_fill, rasterise_triangles
from faceswap_live.engines.photo_mouth import fill_photo_mouth
from faceswap_live.engines.shut_lids import with_user_lids
from faceswap_live.engines.smile_folds import returning_fold_share, smile_score, smooth_smile_folds
from faceswap_live.engines.symmetric_fill import head_facing, mirror_weights
from faceswap_live.engines.target_mask import smoothstep, target_face_alpha
from faceswap_live.engines.wide_eyes import WideEyeModel, iris_sizes, wide_eye_models, with_wide_eyes
from faceswap_live.errors import TargetFaceError
from faceswap_live.stages import shading, sharpness
from faceswap_live.stages.align import umeyama
from faceswap_live.stages.expression import (
    MAX_TRACKED_FACES,
    ExpressionTransfer,
    follow_per_track,
    iris_offsets,
    photo_yaw_deg,
)
from faceswap_live.stages.mesh_topology import (
    CHEEK_EDGES,
    EYE_FILL_TRIANGLES,
    FACE_OVAL,
    FRONT_FACING_SIGN,
    INNER_LIP_LOWER,
    INNER_LIP_UPPER,
    LEFT_EYE,
    LEFT_EYE_ABOVE_UPPER,
    LEFT_EYE_CORNERS,
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    LOWER_LIP_CENTRE,
    MESH_POINT_COUNT,
    MIDDLE_LIP_LOWER,
    MIDDLE_LIP_UPPER,
    MIRROR_POINTS,
    MOUTH_CORNERS,
    MOUTH_FILL_TRIANGLES,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    RIGHT_EYE,
    RIGHT_EYE_ABOVE_UPPER,
    RIGHT_EYE_CORNERS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    TESSELATION_TRIANGLES,
    UPPER_LIP_CENTRE,
    ring_distance,
)
from faceswap_live.types import AlignedFace, BgrImage, Box, FaceLandmarks, SwappedFace, TargetFace

logger = logging.getLogger(__name__)

MESH_TRIANGLES: Final[npt.NDArray[np.int32]] = np.concatenate(
    [TESSELATION_TRIANGLES, MOUTH_FILL_TRIANGLES, EYE_FILL_TRIANGLES]
)
"""Every triangle the engine renders: the face surface plus the mouth and eye openings (K×3 point indices)."""


def _corner_rows(triangles: npt.NDArray[np.int32]) -> npt.NDArray[np.intp]:
    """K×3 triangles as 3×K point indices, one row per corner: numpy works on whole rows several times faster than
    it gathers rows of K×3 or K×3×2 tables."""
    return np.ascontiguousarray(triangles.T, dtype=np.intp)


_CORNER_POINTS: Final = _corner_rows(MESH_TRIANGLES)
_SURFACE_CORNERS: Final = _corner_rows(TESSELATION_TRIANGLES)

RIM_RINGS: Final = 4
"""Surface triangles within this many rings of the face outline may fade where they are stretched (rim_stretch_fade)."""
RIM_STRETCH_FADE: Final = (2.0, 3.5)
"""A rim triangle that the photo shows foreshortened (RIM_FORESHORTENED) and that is drawn this many times longer in
its most stretched direction (relative to the face's median triangle) than in the photo starts to fade / is gone:
the far cheek of a photo turned to one side, squeezed across, stretched across onto a frontal face, smears into
streaks of skin, beard and hair; the user's own cheek shows there instead. (A user turning a frontal photo's near
cheek towards the camera stretches it too, but that cheek is whole in the photo: drawn.)"""
RIM_FORESHORTENED: Final = (0.5, 0.75)
"""A rim triangle that the photo's turn (its yaw) leaves facing the camera at most the first share as squarely as on a
frontal head is foreshortened; from the second, not at all."""

RING_FADE: Final = (0.0, 0.3, 0.6, 0.85)
"""Share of the identity weight on the 0th, 1st, 2nd, 3rd ring of mesh points around a pinned contour (the face
outline, and the inner lips or eyes when they come from the user); 1 from the 4th ring inwards, so no triangle
between a pinned contour and the reshaped inside folds."""
LIP_IDENTITY_SHARE: Final = 1.0
"""Share of the identity weight on the lips: all of it, since the target's lips wear the user's expression (a smile
widens them; see stages/expression.py)."""
PUCKER_GAIN: Final = 3.0
"""How strongly the drawn mouth narrows with the user's pout: when the user's mouth is a share w < 1 of the width the
rest of the user's expression gives it (ExpressionTransfer.pout_width_ratio), the drawn lips narrow by a further
w ** (PUCKER_GAIN - 1) about the mouth centre (narrow_pout). The transferred expression alone narrows them by about
w, but the target photo's lips still read wider and less puckered than the user's. Fitted on the expression basis's
fit clips (scripts/fit_lip_gains.py; see BENCHMARKS.md): mouthPucker r rises with the gain there (0.46 at 1, 0.54 at
3, 0.68 at 6) while the mouth-opening r falls from 0.83 to 0.78-0.80 from gain 3 on; on the held-out clips gains
above 3 lost pucker r and mouth-opening r, so 3. A smile (wider) is not amplified."""
REST_MOUTH_FOLLOW_RATE: Final = 0.01
"""Share of each frame's pout width ratio taken into its running mean (about 3 s at webcam rates). Where that mean
stays below 1 (a still mouth that MediaPipe reads as slightly puckered makes the neutral face wider than the mouth),
the ratio is taken relative to it, so a still mouth is not narrowed."""
PUCKER_REACH: Final = (1.15, 1.6)
"""Around the lips the narrowing fades out (smoothstep) between these multiples of the mouth's half-width (an
ellipse half as tall as wide about the mouth centre, on the target's mesh), so the skin around a pout follows it."""
POSE_POINTS: Final = (
    33, 133, 362, 263,  # eye corners
    168, 6, 197, 195, 5, 4, 1,  # nose bridge and tip
    70, 105, 107, 336, 334, 300,  # brows
    61, 291, 0, 17,  # mouth corners, lip centres
    127, 356, 234, 454, 10, 151, 152,  # temples, cheek edges, forehead, chin
)  # fmt: skip
"""Points whose 3D layout gives the head's rotation (estimate_yaw_deg): spread across the face and in depth."""
FOLD_FADE: Final = (0.04, 0.08)
"""folded_share at which the swapped face starts to fade and is gone: a reshaped mesh may fold at a few slivers
near the lips and eyes even on a frontal face (up to 2 % of the area on the shared clips); more than that means
the photo cannot be turned this far."""
LEVEL_HYSTERESIS: Final = 0.1
"""Relative face-size margin before the engine changes the target pyramid level it samples (see _pick_level)."""
_OPENING_PAIRS: Final = np.asarray(
    [
        (upper, lower)
        for upper_list, lower_list in (
            (INNER_LIP_UPPER, INNER_LIP_LOWER),
            (RIGHT_EYE_UPPER, RIGHT_EYE_LOWER),
            (LEFT_EYE_UPPER, LEFT_EYE_LOWER),
        )
        for upper, lower in zip(upper_list[1:-1], lower_list[1:-1], strict=True)
    ],
    dtype=np.int64,
)
"""(upper, lower) point pairs across the mouth and eye openings, whose gap is always the user's own."""
_OPENING_PAIR_COUNTS: Final = (len(INNER_LIP_UPPER) - 2, len(RIGHT_EYE_UPPER) - 2, len(LEFT_EYE_UPPER) - 2)
"""How many of _OPENING_PAIRS belong to the mouth, the right eye and the left eye, in that order."""
EYE_SHUT_SHARES: Final = (0.2, 0.45)
"""An eye whose lid gap is below the second share of the user's usual gap is drawn closing faster than the user's,
shut at the first (a smoothstep scale on the gap): see MeshFaceSwapper.eye_gap_scales."""
EYE_GAP_FOLLOW_RATE: Final = 0.01
"""Share of each frame's lid gap taken into a user's running mean (their usual, open gap)."""
LIGHT_FOLLOW_RATE: Final = 0.2
"""Share of each frame's fitted shade (per vertex) taken into the user's running shade: about a sixth of a second to
follow a light switched on at 30 fps."""
SOFTENING_MEASURE_FRAMES: Final = 8
SOFTENING_FOLLOW_RATE: Final = 0.3
"""The camera's blur and the drawn face's are measured on every SOFTENING_MEASURE_FRAMES-th frame of a track (they
change slowly; the measurement costs about a millisecond), and this share of each measurement is taken into the
track's running softening: steady against the measurement's noise, settled within a second or two."""
FULL_COVERAGE: Final = 0.9
"""The drawn face's own blur is measured only where it covers at least this much (not across hair at its edge)."""
SOFTENING_STEP_PX: Final = 0.25
SOFTENED_IMAGES_KEPT: Final = 4
"""A pyramid level is blurred for a soft camera in steps of this many of its own pixels (too small to see), and at
most this many blurred images are kept per photo (_softened)."""
SHADE_LIMITS: Final = (0.67, 1.5)
"""Range of the per-vertex ratio of the user's light to the photo's: a shadow lit up by at most half again, a lit side
darkened by at most a third (chosen on the fitting clips: 0.5-2 drew lit-up shadows with their noise and put a
second highlight on the lit side; 0.75-1.33 and 0.8-1.25 scored within noise of this)."""
SIDE_LIT_SHADES: Final = (0.4, 0.6)
"""A photo whose darker skin (the 5th percentile of its fitted shade over its skin vertices) is at the first share of
its mean or less is lit hard from one side, and blend keeps the edges of its light (light_edges 1; match_colour's
keep_light_edges); from the second share on, not at all (0). Over the shared portraits: p10_1 0.29, p17_1 0.38, the
eval's frontal targets 0.70-0.83."""
SHUT_LID_SKIN_SHARE: Final = 0.6
"""As an eye is drawn shut, the photo is read along its upper lid from this share of the way up to the ring of points
above it (times how far the eye is shut): a closed lid shows the photo's lid skin down to a thin lash line, where the
photo's open eye, lashes and liner squeezed into the closed lid read as a dark brush of lashes. Set by eye on the
fitting clips: from the whole way up, a deep-set eye's lid drew the brow's hairs down onto it. For a user without
glasses the user's own lid is then drawn over it (engines/shut_lids.py)."""
_UPPER_LID_PAIRS: Final = (
    (np.asarray(RIGHT_EYE_UPPER[1:-1]), np.asarray(RIGHT_EYE_ABOVE_UPPER)),
    (np.asarray(LEFT_EYE_UPPER[1:-1]), np.asarray(LEFT_EYE_ABOVE_UPPER)),
)
"""Per eye (right, left): the upper lid contour's points and the points above them."""
_LIP_COLUMNS: Final = np.concatenate(
    [
        np.stack([inner, *middle, outer], axis=1)[first:-1]
        for inner, middle, outer, first in (
            (INNER_LIP_UPPER, MIDDLE_LIP_UPPER, OUTER_LIP_UPPER, 0),
            (INNER_LIP_LOWER, MIDDLE_LIP_LOWER, OUTER_LIP_LOWER, 1),
        )
    ]
    + [np.asarray([[INNER_LIP_UPPER[-1], MIDDLE_LIP_UPPER[0][-1], MIDDLE_LIP_UPPER[1][-1], OUTER_LIP_UPPER[-1]]])]
).astype(np.int64)
"""Columns of four lip points from the inner lip contour out to the outer one, the two mouth corners included."""
MIN_LIP_RING_STEP: Final = 0.3
"""In each lip column the drawn points keep at least this share of the user's own step outwards from the one inside
them: a thin target lip on a thick user's (or the user's wide mouth gap around the target's lip line) cannot fold the
lip triangles over, which drew a jagged lip outline."""
_LIP_POINTS: Final = np.unique(_LIP_COLUMNS)
_UPPER_LIP_POINTS: Final = [*OUTER_LIP_UPPER, *INNER_LIP_UPPER[1:-1]]
_LOWER_LIP_POINTS: Final = [*OUTER_LIP_LOWER, *INNER_LIP_LOWER[1:-1]]
"""Each lip's outer and inner lines: the points its move from the user's frame onto the drawn lip is fitted on."""
_LIP_LINE_POINTS: Final = [*_UPPER_LIP_POINTS, *_LOWER_LIP_POINTS]
_INNER_LIP_PAIRS: Final = np.asarray(list(zip(INNER_LIP_UPPER[1:-1], INNER_LIP_LOWER[1:-1], strict=True)), np.int64)
LIP_TRIANGLES: Final = TESSELATION_TRIANGLES[np.isin(TESSELATION_TRIANGLES, _LIP_POINTS).sum(axis=1) >= 2]
"""Surface triangles with at least two corners on the lips: the lips themselves and the skin strip around them."""
_LIP_CORNERS: Final = _corner_rows(LIP_TRIANGLES)
LIP_UNFOLD_STEPS: Final = 6
"""At most this many passes pull the corners of still-folded lip triangles half way to the user's lip shape."""
PHOTO_CHOICE_KEYS: Final = (
    "mouthSmileLeft",
    "mouthSmileRight",
    "jawOpen",
    "mouthPucker",
    "mouthFunnel",
    "browInnerUp",
    "browDownLeft",
    "browDownRight",
    "eyeSquintLeft",
    "eyeSquintRight",
    "cheekSquintLeft",
    "cheekSquintRight",
)
"""The MediaPipe scores that a photo's texture shows (smile lines, a laugh's cheeks, a frown's or raised brows'
creases): with several photos of the target, each frame draws the one whose scores are nearest the user's."""
PHOTO_MAIN_PREFERENCE: Final = 0.2
"""The target's own photo (the first) is drawn unless another is nearer the user's expression by this much: photos
of one person differ in make-up, hair and light as well, which should not come and go with every small change."""
PHOTO_SWITCH_MARGIN: Final = 0.15
"""Another photo is drawn only once it is nearer the user's expression than the current one by this much."""
PHOTO_COLOUR_SIGMA: Final = 0.03
"""Another photo of the target gives only its detail finer than a Gaussian of this share of the face's size (lines,
creases, lashes); its colours below that (make-up, lipstick, skin tone) and its hair are the target's own photo's,
so they do not change as the drawn photo does."""
PHOTO_FADE_FRAMES: Final = 6
"""Frames over which the drawn photo fades into the next (0.2 s at 30 fps)."""
GAZE_MAX_SHIFT: Final = 0.2
"""The most (in eye widths) that the drawn iris moves along the eye to sit where the user's does."""
GAZE_FOLLOW_RATE: Final = 0.01
"""Share of each frame's gaze taken into a user's running mean gaze: the drawn eyes keep the photo's gaze when the
user looks where they usually do (at their screen) and turn as far as the user's eyes turn from there."""
GAZE_CORNER_FADE: Final = 0.5
"""Share of each half of the eye, at its corner, over which the gaze shift fades to none (see follow_gaze)."""
MOUTH_PARTING_SOFTNESS_PX: Final = 1.5
"""The user's moved mouth turns from the upper lip's move to the lower's over at least twice this many pixels across
the drawn parting line (a closed mouth's inner lines meet)."""
MOUTH_WARP_MARGIN: Final = 0.15
"""Around the drawn lips, the share of the region's width over which the user's mouth is moved with them: more than
blend_face reads of it (lip_detail_from_user's window, 2 × LIP_DETAIL_GROW + 3 × LIP_DETAIL_SIGMA of the face
width; the mouth cut's, less)."""
LID_RING_WEIGHTS: Final = (1.0, 0.6, 0.25)
"""How far the 0th (upper lid contour), 1st and 2nd ring of points above an eye follow the lid as it moves, for a lid
drawn as open as the photo's or wider."""
LOWERED_LID_RING_WEIGHTS: Final = (1.0, 1.0, 0.45)
"""The same for a lid drawn lower than the photo's (a user looking down, a sleepy or squinting eye): the photo's upper
lashes lie between the lid contour and the first ring, and stretched with a lowered lid they hung over the eye as a
long brush of lashes. They now move down whole, and the lid skin above them stretches instead (the brow, from the
third ring, stays)."""
LOWERED_LID_SHORTFALL: Final = 0.3
"""The lowered weights take over (smoothly) as the drawn lid gap falls short of the target's own by up to this share
of it; none of a lid's weights jumps from one frame to the next."""
_LID_CENTRES: Final = ((RIGHT_EYE_UPPER[4], RIGHT_EYE_LOWER[4]), (LEFT_EYE_UPPER[4], LEFT_EYE_LOWER[4]))
_LID_CENTRE_ROWS: Final = np.asarray(_LID_CENTRES, np.int64).T
"""(upper centres, lower centres) of the two eyes, as index rows."""


def estimate_yaw_deg(
    points_px: npt.NDArray[np.floating], reference_points: npt.NDArray[np.floating] | None = None
) -> float:
    """Head yaw in degrees (0 = facing the camera, or facing like the reference), from a 468+×3 mesh.

    With reference_points (the target photo's 468×3 mesh): the yaw of the rigid 3D rotation that best takes the
    reference's head onto this one (align.umeyama on POSE_POINTS: eye corners, nose, brows, mouth corners and
    temples, many points spread in depth), i.e. how far the head is turned from the pose in which the target photo
    shows its face: exactly what decides how far the photo's texture must turn. Without it, from the depth
    difference of the two cheek edges alone, which is noisier and reads low on far turns (the far edge slides
    along the silhouette).
    """
    if reference_points is not None and reference_points.shape[0] >= MESH_POINT_COUNT:
        indices = list(POSE_POINTS)
        _, rotation, _ = umeyama(
            np.asarray(reference_points[indices, :3], np.float64), np.asarray(points_px[indices, :3], np.float64)
        )
        # Rotation about the vertical axis: how much of the reference's depth direction now points sideways.
        return math.degrees(math.atan2(float(rotation[0, 2]), float(rotation[2, 2])))
    right, left = points_px[CHEEK_EDGES[0]], points_px[CHEEK_EDGES[1]]
    return math.degrees(math.atan2(float(left[2] - right[2]), float(left[0] - right[0])))


def folded_share(user_points_px: npt.NDArray[np.floating], drawn_signed_areas: npt.NDArray[np.float64]) -> float:
    """Share of the user's visible face area (front-facing surface triangles) that is drawn folded over (its
    triangle faces away in the drawn mesh; drawn_signed_areas: _signed_areas of it). A mesh reshaped towards a photo
    seen from another side folds at the far cheek before anything else shows it."""
    user_area = _signed_areas(user_points_px) * FRONT_FACING_SIGN
    drawn_area = drawn_signed_areas * FRONT_FACING_SIGN
    visible = user_area > MIN_TRIANGLE_AREA_PX
    total = float(user_area[visible].sum())
    if total <= 0.0:
        return 1.0
    return float(user_area[visible & (drawn_area <= 0.0)].sum()) / total


def _signed_areas(points_px: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    return _triangle_areas(points_px, _SURFACE_CORNERS)


def _triangle_areas(points_px: npt.NDArray[np.floating], corners: npt.NDArray[np.intp]) -> npt.NDArray[np.float64]:
    """Twice the signed area of each triangle (corners: _corner_rows) of a mesh (N×2+ pixels), float64."""
    x_a, x_b, x_c = np.asarray(points_px[:, 0], np.float64)[corners]
    y_a, y_b, y_c = np.asarray(points_px[:, 1], np.float64)[corners]
    return np.asarray((x_b - x_a) * (y_c - y_a) - (y_b - y_a) * (x_c - x_a), np.float64)


@dataclass(frozen=True, slots=True)
class _TargetLevel:
    """One pyramid level of the target photo and its triangle vertices in that level's pixels."""

    image_bgra: npt.NDArray[np.uint8]  # H×W×4: BGR + face alpha
    face_size_px: float
    vertex_a: npt.NDArray[np.float32]  # 2×K: x row, y row
    edge_ab: npt.NDArray[np.float32]  # 2×K
    edge_ac: npt.NDArray[np.float32]  # 2×K
    points_px: npt.NDArray[np.float32]  # 468×2
    mirror_corners: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]
    """vertex_a, edge_ab, edge_ac of each triangle's mirror image (its corners' MIRROR_POINTS): _mirror_maps."""
    as_taken_bgra: npt.NDArray[np.uint8] | None = None
    """The level as photographed, where image_bgra had its smile folds smoothed (engines/smile_folds.py): a smiling
    user gets them back. None for a photo left as it was."""


@dataclass(slots=True)
class _PhotoTexture:
    """One photo of the target, ready to draw from: its pyramid, and what the per-frame fades read of it."""

    levels: list[_TargetLevel]
    edges_inverse: npt.NDArray[np.float64]
    """The inverse of each surface triangle's edge matrix in the photo (triangle_edges_inverse), for the rim fade."""
    foreshortened: npt.NDArray[np.float64]
    """foreshortened_rim of the photo."""
    expression: npt.NDArray[np.float64]
    """The photo's MediaPipe scores over PHOTO_CHOICE_KEYS (what it shows), to pick the photo nearest the user's."""
    shade: npt.NDArray[np.float64] | None
    """The photo's own light at each mesh vertex over its mean (stages/shading.py), where the point is drawn from
    (its mirror point's where `mirror` says so); None when it cannot be fitted."""
    side_light: float = 0.0
    """How hard the photo as taken is lit from one side (side_light)."""
    smile: float = 0.0
    """How broadly the photo smiles (smile_folds.smile_score)."""
    level_index: int = 0
    """The pyramid level last drawn from (see MeshFaceSwapper._pick_level)."""
    wide_eyes: tuple[WideEyeModel, ...] | None = None
    """Its eyes, for drawing them wider than photographed (engines/wide_eyes.py); None without iris points."""
    iris_offsets: npt.NDArray[np.float64] | None = None
    """Where its irises sit in its eyes (stages.expression.iris_offsets); None without iris points."""
    softened: dict[tuple[int, float, bool], npt.NDArray[np.uint8]] = field(default_factory=dict)
    """Level images blurred for a soft camera, by (level, blur in the level's pixels, whether as taken): _softened."""
    mirror: npt.NDArray[np.float32] | None = None
    """Per mesh point, how much of it is drawn from its mirror point's side of the photo (engines/symmetric_fill.py)
    for its turn and its light; None for a photo drawn as it is."""
    mirror_for_turn: npt.NDArray[np.float32] | None = None
    """The same for its turn alone: what is drawn when colours are not matched (a shadow is then drawn as taken)."""


@dataclass(slots=True)
class _PhotoChoice:
    """Per tracked face: the photo drawn now, the one it is fading from, and how far the fade has come (0-1)."""

    current: int
    previous: int
    progress: float = 1.0


@dataclass(frozen=True, slots=True)
class MeshSwappedFace(SwappedFace):
    """A SwappedFace that also says where the engine drew the target's features: feature_points_px, 468×2 float32
    frame pixels. blend_face cuts the user's open mouth (and eyes) along these contours, so the cut matches the
    rendered lips even where they were reshaped towards the target."""

    feature_points_px: npt.NDArray[np.float32]
    mouth_bgr: BgrImage | None = None
    """Region-sized: the user's own frame moved so that their lips lie on feature_points_px's and their open mouth
    inside its inner lips (_user_mouth_moved), or None when the mouth was not moved."""
    light_edges: float = 0.0
    """How much blend keeps the edges of the drawn face's own light (0-1): the target photo's side light
    (side_light)."""


class MeshFaceSwapper(SwapEngine):
    """Piecewise-affine mesh swap (see the module docstring). Processing thread only; no weights needed.

    map_side_px: the longer side of the coarse warp map (smaller = faster, softer lip and lid edges).
    fade_start_deg / fade_end_deg: head yaw at which the swapped face starts to fade and is gone.
    smooth_smile_folds: a single smiling photo's folds are lifted out of its texture (engines/smile_folds.py); off
    where photos are drawn as taken (morphs and faces of no one are made from the donors' own photos).
    fill_mouth: the photo's open mouth is filled from its lips (engines/photo_mouth.py), for when the user's own
    mouth shows through (SwapConfig.mouth_from_user); off, the photo's teeth are drawn in the open mouth.
    """

    name = "mesh"
    alignment = None

    def __init__(
        self,
        map_side_px: int = 128,
        fade_start_deg: float = 30.0,
        fade_end_deg: float = 50.0,
        identity_weight: float = 1.0,
        smooth_smile_folds: bool = True,
        fill_mouth: bool = True,
    ) -> None:
        if not 0.0 <= identity_weight <= 1.0:
            raise ValueError("identity_weight must be between 0 and 1")
        if map_side_px < 16:
            raise ValueError("map_side_px must be at least 16")
        if not 0.0 <= fade_start_deg < fade_end_deg <= 90.0:
            raise ValueError("need 0 <= fade_start_deg < fade_end_deg <= 90")
        self.map_side_px = map_side_px
        self.fade_start_deg = fade_start_deg
        self.fade_end_deg = fade_end_deg
        self.identity_weight = identity_weight
        self.smooth_smile_folds = smooth_smile_folds
        self.fill_mouth = fill_mouth
        self._photos: list[_PhotoTexture] = []
        self._photo_choice: dict[int, _PhotoChoice] = {}
        self._target_points: npt.NDArray[np.float64] = np.zeros((0, 3))
        self._jaw_weights: npt.NDArray[np.float64] = np.zeros(0)
        self._lid_weights: npt.NDArray[np.float64] = np.zeros((2, 0))
        self._lowering_lid_weights: npt.NDArray[np.float64] = np.zeros((2, 0))
        self._pucker_weights: npt.NDArray[np.float64] = np.zeros(0)
        self._rest_mouth_ratio: dict[int, float] = {}
        self._usual_gaze: dict[int, npt.NDArray[np.float64]] = {}
        self._usual_lid_gap: dict[int, npt.NDArray[np.float64]] = {}
        self._user_shade: dict[int, npt.NDArray[np.float64]] = {}
        self._softening: dict[int, tuple[float, int]] = {}
        """Per track: (the blur the photo is drawn with, in frame pixels; frames drawn): _follow_softness."""
        self._light_edges = 0.0
        self._point_weights: dict[bool, npt.NDArray[np.float64]] = {}
        self._expression = ExpressionTransfer()

    def set_target(self, target: TargetFace) -> None:
        """Build the target's pyramids and triangle vertices. Raises TargetFaceError for a target without a mesh.

        The face's shape (and so its identity) comes from target's own photo; target.more_photos (other photos of
        the same person) are further textures: each frame draws the photo whose expression is nearest the user's
        (PHOTO_CHOICE_KEYS), fading over PHOTO_FADE_FRAMES when that changes.
        """
        self.prepare_target(target)()

    def prepare_target(self, target: TargetFace) -> Callable[[], None]:
        """set_target's photo textures (most of its time: a quarter to half a second for a phone photo) built on the
        calling thread, without touching the target in use; the returned call puts them in use (see
        SwapEngine.prepare_target)."""
        # A single photo's smile folds would be drawn on every expression; with several, the one drawn is the photo
        # nearest the user's expression, so its folds are the user's too and stay.
        smooth = self.smooth_smile_folds and not target.more_photos
        photos = [
            _photo_texture(photo, smooth_folds=smooth, fill_mouth=self.fill_mouth)
            for photo in (target, *target.more_photos)
        ]
        return lambda: self._use_target(target, photos)

    def _use_target(self, target: TargetFace, photos: list[_PhotoTexture]) -> None:
        points = np.asarray(target.landmarks.points_px, dtype=np.float32)
        target_points = points[:MESH_POINT_COUNT, :3].astype(np.float64)
        if points.shape[1] < 3:
            target_points = np.hstack([target_points, np.zeros((MESH_POINT_COUNT, 1))])
        self._photos = photos
        self._photo_choice.clear()
        self._target_points = target_points
        self._expression.set_target(target_points, target.landmarks.blendshapes)
        self._jaw_weights = jaw_weights(target_points[:, :2])
        self._lid_weights = lid_weights(target_points[:, :2], LID_RING_WEIGHTS)
        # What a fully lowered lid adds to the weights, once per target rather than every frame.
        self._lowering_lid_weights = lid_weights(target_points[:, :2], LOWERED_LID_RING_WEIGHTS) - self._lid_weights
        self._pucker_weights = pucker_weights(target_points[:, :2])
        self._light_edges = photos[0].side_light
        self._rest_mouth_ratio.clear()
        self._usual_gaze.clear()
        self._usual_lid_gap.clear()
        self._user_shade.clear()
        self._softening.clear()

    def destination_points(
        self,
        points_px: npt.NDArray[np.floating],
        settings: SwapConfig,
        blendshapes: dict[str, float] | None = None,
        track_id: int = 0,
        shut: tuple[float, float] | None = None,
    ) -> npt.NDArray[np.float32]:
        """Where each of the 468 mesh points of the target is drawn in the frame: 468×2 float32 frame pixels.

        The user's mesh (head pose, expression) reshaped towards the target's own proportions (identity): the
        target's neutral face (its photo's expression taken out) wearing the user's expression, in the user's head
        pose (see stages/expression.py; blendshapes: the user's MediaPipe scores, track_id: which face, for its
        running neutral face), its jaw opened as far as the user's, and every point moved identity_weight of the way
        from the user's position to that mesh. The face outline stays the user's (no gap at the mask's edge), with
        a fade over a few rings of points; the mouth and eye openings keep the user's own gap, so talking and
        blinking follow the user exactly (an upper lid drawn lower than the photo's carries the photo's lashes down
        whole and stretches the lid skin above them: _lids_following); with the user's own mouth (or eyes) kept,
        their contour stays the user's.
        shut: this frame's eye_gap_scales when the caller already has them; None works them out here.
        """
        user = np.asarray(points_px[:MESH_POINT_COUNT, :3], dtype=np.float64)
        weight = self.identity_weight
        if weight <= 0.0 or self._target_points.shape[0] != MESH_POINT_COUNT:
            return np.ascontiguousarray(user[:, :2], dtype=np.float32)
        neutral, expression = self._expression.neutral_and_expression(user, blendshapes or {}, track_id)
        user_xy = user[:, :2]
        if shut is None:
            shut = self.eye_gap_scales(user_xy, track_id)
        lids = self._lids_following(neutral[:, :2] + expression[:, :2], user_xy, shut)
        # The lids and the skin above them follow the lid gap below (as the jaw does), not the expression, so a
        # closing lid pulls the target's lid skin down with it.
        fitted = neutral[:, :2] + (1.0 - lids.max(axis=0))[:, None] * expression[:, :2]
        # Open (or close) the target's jaw to the user's mouth opening: the lower lip, chin and lower face follow.
        user_gap = user_xy[LOWER_LIP_CENTRE] - user_xy[UPPER_LIP_CENTRE]
        target_gap = fitted[LOWER_LIP_CENTRE] - fitted[UPPER_LIP_CENTRE]
        fitted += self._jaw_weights[:, None] * (user_gap - target_gap)[None, :]
        # Close (or open) the target's upper lids to the user's lid gap, with the lid skin above them: keeping only
        # the gap on the lid contour would squash the target's open eye, lashes and liner, into the narrow gap of
        # a wink, which still reads as an open eye.
        for (upper_centre, lower_centre), weights, scale in zip(_LID_CENTRES, lids, shut, strict=True):
            user_lid_gap = (user_xy[lower_centre] - user_xy[upper_centre]) * scale
            target_lid_gap = fitted[lower_centre] - fitted[upper_centre]
            fitted += weights[:, None] * (target_lid_gap - user_lid_gap)[None, :]
        key = settings.eyes_from_user
        point_weights = self._point_weights.get(key)
        if point_weights is None:
            point_weights = identity_point_weights(key)
            self._point_weights[key] = point_weights
        destination = user_xy + (weight * point_weights)[:, None] * (fitted - user_xy)
        # The mouth and eye openings: the blended centre line, the user's gap.
        upper, lower = _OPENING_PAIRS[:, 0], _OPENING_PAIRS[:, 1]
        centre = (destination[upper] + destination[lower]) * 0.5
        half_gap = (user_xy[lower] - user_xy[upper]) * (0.5 * np.repeat([1.0, *shut], _OPENING_PAIR_COUNTS))[:, None]
        destination[upper] = centre - half_gap
        destination[lower] = centre + half_gap
        narrow_pout(
            destination,
            self._mouth_width_ratio(track_id),
            self._pucker_weights * weight,
        )
        keep_lip_rings_in_order(destination, user_xy)
        return np.ascontiguousarray(destination, dtype=np.float32)

    def _lids_following(
        self, worn: npt.NDArray[np.float64], user_xy: npt.NDArray[np.float64], shut: tuple[float, float]
    ) -> npt.NDArray[np.float64]:
        """2×468: how far each point follows each eye's upper lid this frame: LID_RING_WEIGHTS' weights for a lid
        drawn as open as the photo's or wider, turning into LOWERED_LID_RING_WEIGHTS' as the drawn lid gap falls
        short of the target's own (worn: the target's neutral face wearing the user's expression, 468×2) by up to
        LOWERED_LID_SHORTFALL."""
        upper, lower = _LID_CENTRE_ROWS
        drawn_gaps = np.hypot(*(user_xy[lower] - user_xy[upper]).T) * shut
        target_gaps = np.maximum(np.hypot(*(worn[lower] - worn[upper]).T), 1e-6)
        # A smoothstep from 0 to LOWERED_LID_SHORTFALL, on the two eyes' shortfalls at once.
        ramp = np.clip((1.0 - drawn_gaps / target_gaps) / LOWERED_LID_SHORTFALL, 0.0, 1.0)
        lowered = ramp * ramp * (3.0 - 2.0 * ramp)
        return np.asarray(self._lid_weights + lowered[:, None] * self._lowering_lid_weights, np.float64)

    def swap_face(
        self, frame_bgr: BgrImage, face: FaceLandmarks, aligned: AlignedFace | None, settings: SwapConfig
    ) -> SwappedFace | None:
        """The target photo warped onto this face's mesh, within the face's box (see SwapEngine.swap_face).

        Returns None without a target, for a face turned too far away, or one almost entirely outside the frame.
        """
        if not self._photos:
            return None
        points = np.asarray(face.points_px, dtype=np.float32)
        fade = self._fade_for_yaw(abs(estimate_yaw_deg(points, self._target_points)))
        if fade <= 0.0:
            return None
        frame_height, frame_width = frame_bgr.shape[:2]
        mesh_box = Box.around(points[:MESH_POINT_COUNT])
        region = mesh_box.expanded(1.04).clipped(frame_width, frame_height)
        if region.width < 8 or region.height < 8:
            return None
        face_size_px = float(max(mesh_box.width, mesh_box.height))
        shut = self.eye_gap_scales(np.asarray(points[:MESH_POINT_COUNT, :2], np.float64), face.track_id)
        destination = self.destination_points(points, settings, face.blendshapes, face.track_id, shut)
        drawn_areas = _signed_areas(destination)
        fade *= _fade_for_folds(folded_share(points, drawn_areas))
        if fade <= 0.0:
            return None

        # Coarse grid over the region; grid pixel j covers frame pixels around x0 + (j + 0.5) / scale - 0.5.
        scale = min(1.0, self.map_side_px / max(region.width, region.height))
        grid_width = max(2, round(region.width * scale))
        grid_height = max(2, round(region.height * scale))
        scale_x, scale_y = grid_width / region.width, grid_height / region.height
        grid_points = np.empty((MESH_POINT_COUNT, 2), dtype=np.float32)
        grid_points[:, 0] = (destination[:, 0] - region.x0 + 0.5) * scale_x - 0.5
        grid_points[:, 1] = (destination[:, 1] - region.y0 + 0.5) * scale_y - 0.5
        depth_a, depth_b, depth_c = points[:, 2][_CORNER_POINTS]
        triangle_depth = (depth_a + depth_b + depth_c) / np.float32(3.0)  # mean(axis=1), summed in the same order
        raster = rasterise_triangles(grid_points[MESH_TRIANGLES], triangle_depth, grid_width, grid_height)
        if raster.pixel_index.size == 0:
            return None

        user_irises = iris_offsets(points)
        gaze_shift = None
        choice = self._choose_photo(face)
        drawn_irises = None
        if not settings.eyes_from_user and user_irises is not None:
            gaze = user_irises[:, 0]
            gaze_shift = gaze - follow_per_track(self._usual_gaze, face.track_id, gaze, GAZE_FOLLOW_RATE)
            # An eye drawn wider than the photo's has its iris redrawn (wide_eyes): along the eye where the photo's
            # sits, moved as follow_gaze moves it; across it, where the user's sits in the user's (same) lid gap, and
            # as large for the eye as the user's, so the white shows above and below it as on the user's.
            photo_irises = self._photos[choice.current].iris_offsets
            if photo_irises is not None:
                along = photo_irises[:, 0] + np.clip(gaze_shift, -GAZE_MAX_SHIFT, GAZE_MAX_SHIFT)
                drawn_irises = np.column_stack([along, user_irises[:, 1], iris_sizes(points)])
        size = (region.width, region.height)
        user_smile = smile_score(face.blendshapes)
        softening = self._softening.get(face.track_id, (0.0, 0))[0]
        drawn: dict[int, tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]] = {}

        def draw(index: int) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
            """Photo index's texture and coverage grid, drawn once a frame."""
            if index not in drawn:
                grid_size = (grid_width, grid_height)
                photo = self._photos[index]
                texture, covered = self._draw_photo(
                    photo,
                    face_size_px,
                    raster,
                    grid_points,
                    grid_size,
                    destination,
                    drawn_areas,
                    gaze_shift,
                    shut,
                    size,
                    user_smile,
                    softening,
                    photo.mirror if settings.colour_match else photo.mirror_for_turn,
                )
                if photo.wide_eyes is not None and drawn_irises is not None:
                    texture = with_wide_eyes(
                        texture,
                        _softened(photo, face_size_px, softening, photo.levels[photo.level_index].image_bgra),
                        0.5**photo.level_index,
                        photo.wide_eyes,
                        destination,
                        region,
                        drawn_irises,
                    )
                if index > 0:  # another photo's lines and creases, in the colours and hair of the target's own
                    first, covered = draw(0)
                    texture = in_colours_of(texture, first, PHOTO_COLOUR_SIGMA * face_size_px)
                drawn[index] = texture, covered
            return drawn[index]

        texture, covered = draw(choice.current)
        if choice.progress < 1.0:  # fading from the photo drawn before
            previous, covered_before = draw(choice.previous)
            texture = np.asarray(cv2.addWeighted(texture, choice.progress, previous, 1.0 - choice.progress, 0.0))
            covered = choice.progress * covered + (1.0 - choice.progress) * covered_before
        grid_coverage = cv2.resize(
            fade * covered.reshape(grid_height, grid_width), size, interpolation=cv2.INTER_LINEAR
        )
        # cv2 splits the channels: numpy's strided channel copies cost ten times more here.
        coverage = grid_coverage * (cv2.extractChannel(texture, 3).astype(np.float32) * np.float32(1.0 / 255.0))
        mouth_bgr = None
        if settings.mouth_from_user:
            mouth_bgr = _user_mouth_moved(frame_bgr, region, points[:MESH_POINT_COUNT, :2], destination)
        face_bgr = np.asarray(cv2.cvtColor(texture, cv2.COLOR_BGRA2BGR), dtype=np.uint8)
        self._follow_softness(
            face_bgr,
            frame_bgr[region.y0 : region.y1, region.x0 : region.x1],
            points[list(FACE_OVAL), :2] - (region.x0, region.y0),
            coverage,
            face.track_id,
        )
        photo_shade = self._photos[0].shade  # other photos are drawn in the first one's colours and light
        if settings.colour_match and photo_shade is not None:
            face_bgr = self._in_user_light(
                face_bgr,
                frame_bgr,
                region,
                points,
                photo_shade,
                raster,
                (grid_width, grid_height),
                face.track_id,
            )
        face_bgr = with_user_lids(
            face_bgr, frame_bgr, region, points[:MESH_POINT_COUNT], destination, shut, face_size_px
        )
        return MeshSwappedFace(
            region=region,
            feature_points_px=destination,
            mouth_bgr=mouth_bgr,
            light_edges=self._light_edges,
            face_bgr=face_bgr,
            coverage=np.asarray(coverage, np.float32),
        )

    def _follow_softness(
        self,
        drawn_bgr: BgrImage,
        user_bgr: BgrImage,
        outline_px: npt.NDArray[np.floating],
        coverage: npt.NDArray[np.float32],
        track_id: int,
    ) -> None:
        """Update the track's softening: the blur (frame pixels) that the photo is drawn with so that it is no sharper
        than the user's camera (stages/sharpness.py). Every SOFTENING_MEASURE_FRAMES frames of a track both blurs
        are measured inside the face outline (outline_px, region pixels; the drawn face only where it covers fully),
        the drawn face's own blur being what it measures less the softening it was drawn with (blurs add in
        quadrature), and SOFTENING_FOLLOW_RATE of the new softening is taken in, so that it does not flicker."""
        softening, frames = self._softening.get(track_id, (0.0, 0))
        if frames % SOFTENING_MEASURE_FRAMES == 0:
            inside = sharpness.inside_outline(outline_px, drawn_bgr.shape[:2])
            user_blur = sharpness.edge_blur_px(cv2.cvtColor(user_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32), inside)
            drawn_blur = sharpness.edge_blur_px(
                cv2.cvtColor(drawn_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32), inside & (coverage > FULL_COVERAGE)
            )
            if user_blur is not None and drawn_blur is not None:
                own_blur = math.sqrt(max(drawn_blur * drawn_blur - softening * softening, 0.0))
                measured = sharpness.softening_px(user_blur, own_blur)
                softening = measured if frames == 0 else softening + SOFTENING_FOLLOW_RATE * (measured - softening)
        if len(self._softening) >= MAX_TRACKED_FACES and track_id not in self._softening:
            self._softening.clear()
        self._softening[track_id] = (softening, frames + 1)

    def _in_user_light(
        self,
        face_bgr: BgrImage,
        frame_bgr: BgrImage,
        region: Box,
        points: npt.NDArray[np.float32],
        photo_shade: npt.NDArray[np.float64],
        raster: RasterisedMesh,
        grid_size: tuple[int, int],
        track_id: int,
    ) -> BgrImage:
        """face_bgr (region-sized, drawn on `raster`'s grid) with the photo's directional light swapped for the
        user's: each vertex is brightened or darkened by the user's fitted shade there over the photo's (SHADE_LIMITS),
        interpolated across the triangles. The user's shade is a running mean per track (LIGHT_FOLLOW_RATE): a
        room's light does not flicker from frame to frame, MediaPipe's normals do a little."""
        if points.shape[1] < 3:
            return face_bgr
        normals = shading.vertex_normals(points)
        region_points = points[:MESH_POINT_COUNT, :2] - (region.x0, region.y0)
        luminance = shading.vertex_luminance(
            frame_bgr[region.y0 : region.y1, region.x0 : region.x1], region_points, shading.face_width(points)
        )
        coefficients = shading.fit_light(luminance, normals)
        if coefficients is None:
            return face_bgr
        user_shade = follow_per_track(
            self._user_shade, track_id, shading.relative_shade(coefficients, normals), LIGHT_FOLLOW_RATE
        )
        ratio = np.clip(user_shade / photo_shade, *SHADE_LIMITS).astype(np.float32)
        height, width = face_bgr.shape[:2]
        grid_width, grid_height = grid_size
        grid = np.ones(grid_width * grid_height, np.float32)
        grid[raster.pixel_index] = _across_triangles(ratio, raster)
        gain = cv2.resize(grid.reshape(grid_height, grid_width), (width, height), interpolation=cv2.INTER_LINEAR)
        # Brightness only: (gain - 1) × luma added to each channel, so the colour offsets between channels stay.
        # Scaling the three channels would scale the colour of a lit-up shadow's noise too (the photo's JPEG chroma
        # turns into purple and red speckle).
        brightening = cv2.multiply(gain - np.float32(1.0), cv2.cvtColor(face_bgr, cv2.COLOR_BGR2GRAY), dtype=cv2.CV_32F)
        # (GRAY2BGR copies the one channel to three, as cv2.merge would, in two thirds of the time.)
        relit = cv2.add(face_bgr, cv2.cvtColor(brightening, cv2.COLOR_GRAY2BGR), dtype=cv2.CV_8U)
        return np.asarray(relit, np.uint8)

    def photo_in_use(self, track_id: int) -> int:
        """Which of the target's photos is drawn for this face now: 0 = the target's own, k = more_photos[k - 1]."""
        choice = self._photo_choice.get(track_id)
        return choice.current if choice is not None else 0

    def _choose_photo(self, face: FaceLandmarks) -> _PhotoChoice:
        """Which photo (and which it fades from) to draw for this face this frame; updates the track's choice."""
        if len(self._photos) == 1:
            return _PhotoChoice(0, 0)
        scores = face.blendshapes or {}
        user_expression = np.array([scores.get(key, 0.0) for key in PHOTO_CHOICE_KEYS], np.float64)
        if face.track_id not in self._photo_choice and len(self._photo_choice) >= MAX_TRACKED_FACES:
            self._photo_choice.clear()
        choice = choose_photo(
            self._photo_choice.get(face.track_id), user_expression, [photo.expression for photo in self._photos]
        )
        self._photo_choice[face.track_id] = choice
        return choice

    def _draw_photo(
        self,
        photo: _PhotoTexture,
        face_size_px: float,
        raster: RasterisedMesh,
        grid_points: npt.NDArray[np.float32],
        grid_size: tuple[int, int],
        destination: npt.NDArray[np.floating],
        drawn_areas: npt.NDArray[np.float64],
        gaze_shift: npt.NDArray[np.float64] | None,
        shut: tuple[float, float],
        size: tuple[int, int],
        user_smile: float,
        softening: float,
        mirror_weights: npt.NDArray[np.float32] | None,
    ) -> tuple[npt.NDArray[np.uint8], npt.NDArray[np.float32]]:
        """One photo warped onto the rasterised mesh: (its BGRA texture over the region, size = (width, height); the
        grid-sized coverage its rim fade leaves, flat). raster: the mesh drawn on the grid; destination, drawn_areas:
        the drawn mesh and its triangles' signed areas (rim_stretch_fade); shut: the eyes' gap
        scales (a shutting eye's upper lid is read from higher up the photo, SHUT_LID_SKIN_SHARE); user_smile: how
        broadly the user smiles (a smoothed photo's folds return with it); softening: the blur to draw it with, in
        frame pixels (_follow_softness); mirror_weights: how much of each point is drawn from its mirror image
        (photo.mirror or mirror_for_turn; None: none)."""
        level = self._pick_level(photo, face_size_px)
        grid_width, grid_height = grid_size
        # Pixels outside the mesh follow the best overall affine fit, so the upsampled map stays smooth at the edge.
        map_x, map_y = affine_fill(grid_points, level.points_px, grid_width, grid_height)
        triangle = raster.triangle
        weight_b, weight_c = raster.weight_b, raster.weight_c
        vertex_a, edge_ab, edge_ac = level.vertex_a, level.edge_ab, level.edge_ac
        if min(shut) < 1.0:
            vertex_a, edge_ab, edge_ac = _corners_with_lid_skin(level.points_px, shut)
        map_x.ravel()[raster.pixel_index] = (
            vertex_a[0].take(triangle) + weight_b * edge_ab[0].take(triangle) + weight_c * edge_ac[0].take(triangle)
        )
        map_y.ravel()[raster.pixel_index] = (
            vertex_a[1].take(triangle) + weight_b * edge_ab[1].take(triangle) + weight_c * edge_ac[1].take(triangle)
        )
        covered = np.zeros(grid_width * grid_height, dtype=np.float32)
        rim = rim_stretch_fade(destination, drawn_areas, photo.edges_inverse, photo.foreshortened)
        covered[raster.pixel_index] = _across_triangles(rim, raster)
        mirror = None
        if mirror_weights is not None:
            mirror = _mirror_maps(map_x, map_y, raster, level.mirror_corners, mirror_weights, size)
        if gaze_shift is not None:
            follow_gaze(map_x, map_y, grid_points, level.points_px, gaze_shift)
        full_maps = (
            cv2.resize(map_x, size, interpolation=cv2.INTER_LINEAR),
            cv2.resize(map_y, size, interpolation=cv2.INTER_LINEAR),
        )
        texture: npt.NDArray[np.uint8] = _remapped(
            _softened(photo, face_size_px, softening, level.image_bgra), full_maps, mirror
        )
        fold_share = returning_fold_share(user_smile, photo.smile)
        if fold_share > 0.0 and level.as_taken_bgra is not None:
            as_taken = _remapped(_softened(photo, face_size_px, softening, level.as_taken_bgra), full_maps, mirror)
            texture = np.asarray(cv2.addWeighted(as_taken, fold_share, texture, 1.0 - fold_share, 0.0), np.uint8)
        return texture, covered

    def eye_gap_scales(self, user_xy: npt.NDArray[np.floating], track_id: int) -> tuple[float, float]:
        """Per eye (right, left), the share of the user's lid gap drawn: 1 for an eye open as usual, falling to 0 (shut)
        as the gap falls from EYE_SHUT_SHARES[1] to EYE_SHUT_SHARES[0] of the user's usual gap (running mean per
        track). A lid lowered to a slit reads as closed on the user, whose lashes hide the slit; drawn as a slit of
        the photo's open eye, it showed a sliver of iris under a brush of squeezed lashes: a squint, not a wink.
        user_xy: the user's mesh (468+×2 frame pixels). Updates the track's running mean: once a frame."""
        corners = np.asarray([RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS])
        widths = np.linalg.norm(user_xy[corners[:, 1]] - user_xy[corners[:, 0]], axis=1)
        centres = np.asarray(_LID_CENTRES)
        gaps = np.linalg.norm(user_xy[centres[:, 1]] - user_xy[centres[:, 0]], axis=1) / np.maximum(widths, 1e-6)
        usual = follow_per_track(self._usual_lid_gap, track_id, gaps, EYE_GAP_FOLLOW_RATE)
        ratio = gaps / np.maximum(usual, 1e-6)
        scales = smoothstep(ratio.astype(np.float32), EYE_SHUT_SHARES)
        return float(scales[0]), float(scales[1])

    def _mouth_width_ratio(self, track_id: int) -> float:
        """The user's mouth width over its width at rest with the rest of the expression (< 1 in a pout; see
        ExpressionTransfer.pout_width_ratio and REST_MOUTH_FOLLOW_RATE). Updates track_id's running mean."""
        ratio = self._expression.pout_width_ratio
        rest = follow_per_track(self._rest_mouth_ratio, track_id, ratio, REST_MOUTH_FOLLOW_RATE)
        return ratio / min(rest, 1.0)

    def _fade_for_yaw(self, yaw_deg: float) -> float:
        if yaw_deg <= self.fade_start_deg:
            return 1.0
        if yaw_deg >= self.fade_end_deg:
            return 0.0
        # Smoothstep, so the face does not pop at either end of the fade.
        t = (self.fade_end_deg - yaw_deg) / (self.fade_end_deg - self.fade_start_deg)
        return t * t * (3.0 - 2.0 * t)

    def _pick_level(self, photo: _PhotoTexture, face_size_px: float) -> _TargetLevel:
        """The smallest pyramid level of photo still at least as detailed as the face in the frame (no aliasing).

        With hysteresis: the level last used is kept while it is within LEVEL_HYSTERESIS of the ideal, because a
        face whose size sits on a level boundary would otherwise switch level (sharpness) every frame: flicker.
        """
        levels = photo.levels
        current = min(photo.level_index, len(levels) - 1)
        coarser_suffices = current + 1 < len(levels) and levels[current + 1].face_size_px >= face_size_px * (
            1.0 + LEVEL_HYSTERESIS
        )
        if levels[current].face_size_px >= face_size_px * (1.0 - LEVEL_HYSTERESIS) and not coarser_suffices:
            return levels[current]
        chosen = 0
        for index, level in enumerate(levels[1:], start=1):
            if level.face_size_px < face_size_px:
                break
            chosen = index
        photo.level_index = chosen
        return levels[chosen]


@dataclass(frozen=True, slots=True)
class _MirrorMaps:
    """Where a drawn face is cross-faded with its mirror image (_mirror_maps): the window of the region that holds
    every pixel of non-zero weight (x0, y0, x1, y1), and over that window the maps into the photo and the weight."""

    window: tuple[int, int, int, int]
    map_x: npt.NDArray[np.float32]
    map_y: npt.NDArray[np.float32]
    weight: npt.NDArray[np.float32]


def _mirror_maps(
    map_x: npt.NDArray[np.float32],
    map_y: npt.NDArray[np.float32],
    raster: RasterisedMesh,
    mirror_corners: tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]],
    mirror_weights: npt.NDArray[np.float32],
    size: tuple[int, int],
) -> _MirrorMaps | None:
    """Maps that draw each rasterised pixel from the mirror image of its place in the photo (each triangle's corners
    swapped for their mirror points), and how much (mirror_weights across the triangles), over the window where that
    is more than nothing (None: nowhere this frame). map_x, map_y: the grid's own maps before the gaze moves them
    (outside the mesh, the same); mirror_corners: the photo level's _TargetLevel.mirror_corners; size: the region's
    (width, height)."""
    grid_weight = np.zeros(map_x.size, np.float32)
    grid_weight[raster.pixel_index] = _across_triangles(mirror_weights, raster)
    weight = np.asarray(cv2.resize(grid_weight.reshape(map_x.shape), size, interpolation=cv2.INTER_LINEAR), np.float32)
    # Only the far cheek is mirrored: the second remap and the cross-fade cover its window, not the whole face.
    columns = np.flatnonzero(weight.max(axis=0) > 0.0)
    rows = np.flatnonzero(weight.max(axis=1) > 0.0)
    if columns.size == 0:
        return None
    x0, x1, y0, y1 = int(columns[0]), int(columns[-1]) + 1, int(rows[0]), int(rows[-1]) + 1
    vertex_a, edge_ab, edge_ac = mirror_corners
    triangle, weight_b, weight_c = raster.triangle, raster.weight_b, raster.weight_c
    mirrored = []
    for axis, grid_map in enumerate((map_x, map_y)):
        mirrored_map = grid_map.copy()
        mirrored_map.ravel()[raster.pixel_index] = (
            vertex_a[axis].take(triangle)
            + weight_b * edge_ab[axis].take(triangle)
            + weight_c * edge_ac[axis].take(triangle)
        )
        full = cv2.resize(mirrored_map, size, interpolation=cv2.INTER_LINEAR)
        mirrored.append(np.ascontiguousarray(full[y0:y1, x0:x1], np.float32))
    return _MirrorMaps((x0, y0, x1, y1), mirrored[0], mirrored[1], np.ascontiguousarray(weight[y0:y1, x0:x1]))


def _remapped(
    image_bgra: npt.NDArray[np.uint8], maps: tuple[np.ndarray, np.ndarray], mirror: _MirrorMaps | None
) -> npt.NDArray[np.uint8]:
    """image_bgra warped by maps, cross-faded with its mirror image where `mirror` (_mirror_maps) says."""
    texture = np.asarray(cv2.remap(image_bgra, *maps, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE), np.uint8)
    if mirror is None:
        return texture
    x0, y0, x1, y1 = mirror.window
    mirrored = cv2.remap(image_bgra, mirror.map_x, mirror.map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    window = texture[y0:y1, x0:x1]
    window[:] = cv2.blendLinear(mirrored, window, mirror.weight, np.float32(1.0) - mirror.weight)
    return texture


def _softened(
    photo: _PhotoTexture, face_size_px: float, softening: float, image: npt.NDArray[np.uint8]
) -> npt.NDArray[np.uint8]:
    """image (the image_bgra or as_taken_bgra of photo's level last picked) blurred by `softening` frame pixels for a
    face face_size_px across: that many of the level's own pixels scaled by its face size over the frame's, rounded to
    SOFTENING_STEP_PX so that a slowly changing softening blurs an image anew only now and then (kept in
    photo.softened, a few at a time; 0.3-5 ms each on the shared portraits). Drawn from a blurred level, the face
    costs nothing more per frame."""
    level = photo.levels[photo.level_index]
    level_blur = softening * level.face_size_px / max(face_size_px, 1.0)
    step = round(level_blur / SOFTENING_STEP_PX) * SOFTENING_STEP_PX
    if step < sharpness.MIN_SOFTENING_PX:
        return image
    key = (photo.level_index, step, image is level.as_taken_bgra)
    blurred = photo.softened.get(key)
    if blurred is None:
        if len(photo.softened) >= SOFTENED_IMAGES_KEPT:
            photo.softened.clear()
        blurred = sharpness.colour_blurred(image, step)
        photo.softened[key] = blurred
    return blurred


def _photo_texture(photo: TargetFace, smooth_folds: bool = True, fill_mouth: bool = True) -> _PhotoTexture:
    """A photo's pyramid (BGR + face alpha, halved down to about 96 px across the face) and per-photo figures. Its
    eyes are white-balanced by their whites first (engines/eye_colour.py); fill_mouth: its open mouth filled from its
    lips (engines/photo_mouth.py); smooth_folds: a smiling photo's smile folds smoothed out (engines/smile_folds.py)."""
    points = np.asarray(photo.landmarks.points_px, dtype=np.float32)
    if points.ndim != 2 or points.shape[0] < MESH_POINT_COUNT or photo.image_bgr.ndim != 3:
        raise TargetFaceError(
            f"The target face {photo.name!r} has no full face mesh; choose a photo where the face is clearly visible."
        )
    scores = photo.landmarks.blendshapes or {}
    photo_bgr = balance_eye_whites(photo.image_bgr, points)
    photo_bgr = fill_photo_mouth(photo_bgr, points) if fill_mouth else photo_bgr
    image_bgr = smooth_smile_folds(photo_bgr, points, scores) if smooth_folds else photo_bgr
    # The texture carries a 4th channel: how much each pixel is the target's face rather than hair or a hand over it
    # (see target_face_alpha); one remap warps colour and alpha together.
    alpha = target_face_alpha(image_bgr, points[:MESH_POINT_COUNT, :2])
    image = np.ascontiguousarray(np.dstack([image_bgr, alpha]))
    as_taken = None if image_bgr is photo_bgr else np.ascontiguousarray(np.dstack([photo_bgr, alpha]))
    points_px = points[:MESH_POINT_COUNT, :2].copy()
    levels = []
    while True:
        vertex_a, edge_ab, edge_ac = _triangle_corners(points_px)
        face_box = Box.around(points_px)
        levels.append(
            _TargetLevel(
                image_bgra=image,
                face_size_px=float(max(face_box.width, face_box.height)),
                vertex_a=vertex_a,
                edge_ab=edge_ab,
                edge_ac=edge_ac,
                points_px=points_px,
                mirror_corners=_triangle_corners(np.ascontiguousarray(points_px[MIRROR_POINTS])),
                as_taken_bgra=as_taken,
            )
        )
        if levels[-1].face_size_px < 96 or min(image.shape[:2]) < 32:
            break
        image = np.asarray(cv2.pyrDown(image), dtype=np.uint8)
        if as_taken is not None:
            as_taken = np.asarray(cv2.pyrDown(as_taken), dtype=np.uint8)
        # pyrDown halves the size; pixel centres map as x_half = (x + 0.5) / 2 - 0.5.
        points_px = (points_px + 0.5) / 2.0 - 0.5
    luminance = shading.vertex_luminance(image_bgr, points, shading.face_width(points))
    shade = _photo_shade(luminance, points, levels[0].image_bgra[:, :, 3])
    foreshortened = foreshortened_rim(points[:MESH_POINT_COUNT])
    lit_from_side = side_light(shade)
    mirror = mirror_weights(points, luminance)
    mirror_for_turn = mirror_weights(points)
    # Where a point is drawn from its mirror, so are its light (the light swap's) and its view (the rim fade's).
    if mirror is not None and shade is not None:
        shade = (1.0 - mirror) * shade + mirror * shade[MIRROR_POINTS]
    if mirror_for_turn is not None:
        foreshortened = foreshortened * (1.0 - mirror_for_turn[TESSELATION_TRIANGLES[_RIM_TRIANGLES]].mean(axis=1))
    return _PhotoTexture(
        levels=levels,
        edges_inverse=triangle_edges_inverse(points[:MESH_POINT_COUNT, :2]),
        foreshortened=foreshortened,
        expression=np.array([scores.get(key, 0.0) for key in PHOTO_CHOICE_KEYS], np.float64),
        shade=shade,
        side_light=lit_from_side,
        mirror=mirror,
        mirror_for_turn=mirror_for_turn,
        smile=smile_score(scores),
        wide_eyes=wide_eye_models(image_bgr, points),
        iris_offsets=iris_offsets(points),
    )


def _corners_with_lid_skin(
    photo_points: npt.NDArray[np.float32], shut: tuple[float, float]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The triangles' photo-side vertex_a, edge_ab, edge_ac (2×K each) with each upper lid contour read
    SHUT_LID_SKIN_SHARE × (1 − that eye's gap scale) of the way up to the ring above it."""
    points = photo_points.copy()
    for scale, (lid, above) in zip(shut, _UPPER_LID_PAIRS, strict=True):
        points[lid] += np.float32(SHUT_LID_SKIN_SHARE * (1.0 - scale)) * (points[above] - points[lid])
    return _triangle_corners(points)


def _triangle_corners(
    points_px: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """Each MESH_TRIANGLES triangle's first corner and its two edges from it on a 468×2 mesh: 2×K each (x row,
    y row)."""
    corners = np.ascontiguousarray(points_px.T)[:, _CORNER_POINTS]  # 2×3×K
    return (
        np.ascontiguousarray(corners[:, 0]),
        np.ascontiguousarray(corners[:, 1] - corners[:, 0]),
        np.ascontiguousarray(corners[:, 2] - corners[:, 0]),
    )


def _across_triangles(vertex_values: npt.NDArray[np.floating], raster: RasterisedMesh) -> npt.NDArray[np.float32]:
    """A value per mesh point, interpolated to each pixel of a rasterised MESH_TRIANGLES with its barycentric weights
    (P float32)."""
    value_a, value_b, value_c = vertex_values[_CORNER_POINTS]
    triangle = raster.triangle
    weight_a = 1.0 - raster.weight_b - raster.weight_c
    return np.asarray(
        weight_a * value_a.take(triangle)
        + raster.weight_b * value_b.take(triangle)
        + raster.weight_c * value_c.take(triangle),
        np.float32,
    )


def _photo_shade(
    luminance: npt.NDArray[np.float64], points: npt.NDArray[np.float32], face_alpha: npt.NDArray[np.uint8]
) -> npt.NDArray[np.float64] | None:
    """The photo's fitted light at each vertex relative to its mean (None for a flat mesh or too little skin), from
    its brightness at each vertex (shading.vertex_luminance); hair over the face (face_alpha below one half) does not
    count."""
    if points.shape[1] < 3:
        return None
    normals = shading.vertex_normals(points)
    height, width = face_alpha.shape
    x = np.clip(np.rint(points[:MESH_POINT_COUNT, 0]).astype(np.int64), 0, width - 1)
    y = np.clip(np.rint(points[:MESH_POINT_COUNT, 1]).astype(np.int64), 0, height - 1)
    coefficients = shading.fit_light(luminance, normals, face_alpha[y, x] >= 128)
    return None if coefficients is None else shading.relative_shade(coefficients, normals)


def side_light(shade: npt.NDArray[np.float64] | None) -> float:
    """0-1: how hard a photo is lit from one side, from its fitted shade per vertex (SIDE_LIT_SHADES)."""
    if shade is None:
        return 0.0
    darker = float(np.percentile(shade[shading.SKIN_VERTICES], 5))
    low, high = SIDE_LIT_SHADES
    return float(np.clip((high - darker) / (high - low), 0.0, 1.0))


def choose_photo(
    choice: _PhotoChoice | None,
    user_expression: npt.NDArray[np.float64],
    photo_expressions: list[npt.NDArray[np.float64]],
) -> _PhotoChoice:
    """The photo to draw for a face this frame (see MeshFaceSwapper.set_target): the one whose expression is nearest
    the user's, changed only when it is nearer than the current one by PHOTO_SWITCH_MARGIN (no flicker between two
    photos the user's face is halfway between), and faded in over PHOTO_FADE_FRAMES frames."""
    distances = [float(np.linalg.norm(user_expression - expression)) for expression in photo_expressions]
    distances[1:] = [distance + PHOTO_MAIN_PREFERENCE for distance in distances[1:]]
    nearest = int(np.argmin(distances))
    if choice is None:
        return _PhotoChoice(nearest, nearest)
    progress = min(1.0, choice.progress + 1.0 / PHOTO_FADE_FRAMES)
    if nearest != choice.current and distances[nearest] < distances[choice.current] - PHOTO_SWITCH_MARGIN:
        return _PhotoChoice(nearest, choice.current, 1.0 / PHOTO_FADE_FRAMES)
    return _PhotoChoice(choice.current, choice.previous, progress)


def pucker_weights(points_px: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """468 float64: how much each point takes part in a pout's narrowing (1 on the lips, fading out around them).

    Measured on the target's own mesh (468×2 pixels): elliptical distance from the mouth centre in mouth half-widths
    (half as tall as wide), 1 up to PUCKER_REACH[0], 0 from PUCKER_REACH[1]; every lip point is 1.
    """
    left, right = points_px[MOUTH_CORNERS[0]], points_px[MOUTH_CORNERS[1]]
    half_width = max(float(np.linalg.norm(right - left)) / 2.0, 1.0)
    across = (right - left) / (2.0 * half_width)
    down = np.array([-across[1], across[0]])
    offset = points_px - (left + right) / 2.0
    distance = np.hypot(offset @ across, 2.0 * (offset @ down)) / half_width
    ramp = np.clip((PUCKER_REACH[1] - distance) / (PUCKER_REACH[1] - PUCKER_REACH[0]), 0.0, 1.0)
    weights = ramp * ramp * (3.0 - 2.0 * ramp)
    weights[_LIP_POINTS] = 1.0
    return np.asarray(weights, dtype=np.float64)


def narrow_pout(destination: npt.NDArray[np.float64], width_ratio: float, weights: npt.NDArray[np.float64]) -> None:
    """Narrow the drawn mouth (468×2, in place) further when the user's mouth is narrower than at rest (a pout).

    width_ratio: the user's mouth width over its width at rest (MeshFaceSwapper._mouth_width_ratio). When it is
    below 1, points move along the drawn mouth's axis towards its centre by weights × (1 − width_ratio **
    (PUCKER_GAIN − 1)) of their distance along it, and the inner lips close their gap by the same share.
    """
    if width_ratio >= 1.0:
        return
    shrink = 1.0 - max(width_ratio, 0.0) ** (PUCKER_GAIN - 1.0)
    left, right = destination[MOUTH_CORNERS[0]], destination[MOUTH_CORNERS[1]]
    span = float(np.linalg.norm(right - left))
    if span <= 1e-6:
        return
    across = (right - left) / span
    along = (destination - (left + right) / 2.0) @ across
    destination -= (shrink * weights * along)[:, None] * across[None, :]
    # The opening shrinks with the width, so the mouth opens as far for its width as the user's does (a narrower
    # mouth with the same gap reads as opened wider).
    upper, lower = _INNER_LIP_PAIRS[:, 0], _INNER_LIP_PAIRS[:, 1]
    half_gap = (destination[lower] - destination[upper]) * 0.5
    destination[upper] += shrink * half_gap
    destination[lower] -= shrink * half_gap


def keep_lip_rings_in_order(destination: npt.NDArray[np.float64], user_xy: npt.NDArray[np.float64]) -> None:
    """Move drawn lip points (468×2, in place) outwards where they would fold over the ring inside them.

    Along each lip column (_LIP_COLUMNS), measured in the direction from the user's inner lip point to the outer one,
    every drawn step outwards is at least MIN_LIP_RING_STEP of the user's step; the inner point (the mouth opening,
    the user's own gap) stays. The two middle points are moved first, within the room the outer point leaves them;
    the outer point moves only when the column has too little room altogether. Order-preserving: a column in order
    already is left exactly as it is.
    """
    user = user_xy[_LIP_COLUMNS]  # C×4×2
    drawn = destination[_LIP_COLUMNS]
    span = user[:, 3] - user[:, 0]
    length = np.linalg.norm(span, axis=1)
    valid = length > 1e-6
    if not valid.any():
        return
    direction = span[valid] / length[valid, None]
    user_along = np.einsum("cpk,ck->cp", user[valid] - user[valid, :1], direction)
    drawn_along = np.einsum("cpk,ck->cp", drawn[valid] - drawn[valid, :1], direction)
    least = MIN_LIP_RING_STEP * np.maximum(np.diff(user_along, axis=1), 0.0)  # C×3: the smallest step allowed
    wanted = drawn_along.copy()
    wanted[:, 3] = np.maximum(wanted[:, 3], least.sum(axis=1))
    for ring in (1, 2):  # outwards: at least the smallest step beyond the ring inside
        wanted[:, ring] = np.maximum(wanted[:, ring], wanted[:, ring - 1] + least[:, ring - 1])
    for ring in (2, 1):  # inwards: room left for the steps beyond
        wanted[:, ring] = np.minimum(wanted[:, ring], wanted[:, ring + 1] - least[:, ring])
    moved = drawn[valid] + (wanted - drawn_along)[:, :, None] * direction[:, None, :]
    columns = _LIP_COLUMNS[valid]
    destination[columns[:, 1:]] = moved[:, 1:]
    # What the columns cannot catch (a sideways fold near the corners): the corners of lip triangles still folded
    # move towards the user's own lip shape, laid over the drawn lips (a similarity fit), which does not fold.
    user_area = _triangle_areas(user_xy, _LIP_CORNERS) * FRONT_FACING_SIGN
    visible = user_area > MIN_TRIANGLE_AREA_PX
    safe = None
    for _ in range(LIP_UNFOLD_STEPS):
        folded = visible & (_triangle_areas(destination, _LIP_CORNERS) * FRONT_FACING_SIGN <= 0.0)
        if not folded.any():
            break
        if safe is None:  # (most frames have no fold left: the fit is made only when one is)
            scale, rotation, shift = umeyama(user_xy[_LIP_POINTS], destination[_LIP_POINTS])
            safe = scale * user_xy @ rotation.T + shift
        pulled = np.zeros(destination.shape[0], bool)
        pulled[LIP_TRIANGLES[folded]] = True
        step = np.where(pulled[:, None], 0.5 * (safe - destination), 0.0)
        # The two sides of the mouth opening move together, so the opening keeps the user's gap.
        pair_step = 0.5 * (step[_INNER_LIP_PAIRS[:, 0]] + step[_INNER_LIP_PAIRS[:, 1]])
        step[_INNER_LIP_PAIRS[:, 0]] = pair_step
        step[_INNER_LIP_PAIRS[:, 1]] = pair_step
        destination += step


_RIM_TRIANGLES: Final = np.flatnonzero(
    (ring_distance(FACE_OVAL, MESH_POINT_COUNT)[TESSELATION_TRIANGLES] <= RIM_RINGS).all(axis=1)
)


def _incidence(triangles: npt.NDArray[np.int32]) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.int64]]:
    """(points, table): the points the triangles use, and per point the numbers of its triangles, padded with
    len(triangles) (an extra entry), for a per-point minimum without a Python loop."""
    points = np.unique(triangles)
    lists = [np.flatnonzero((triangles == point).any(axis=1)) for point in points]
    table = np.full((len(points), max(len(triangle_list) for triangle_list in lists)), len(triangles), np.int64)
    for row, triangle_list in enumerate(lists):
        table[row, : len(triangle_list)] = triangle_list
    return points.astype(np.int64), table


_RIM_POINTS, _RIM_POINT_TRIANGLES = _incidence(TESSELATION_TRIANGLES[_RIM_TRIANGLES])
_RIM_CORNERS: Final = _corner_rows(TESSELATION_TRIANGLES[_RIM_TRIANGLES])


def foreshortened_rim(photo_points: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Per rim triangle (_RIM_TRIANGLES), 0-1: how foreshortened the photo's turn shows it (RIM_FORESHORTENED).

    photo_points: the photo's 468×3 mesh. The photo's yaw (expression.photo_yaw_deg) turns the expression basis's
    reference head, and each triangle's facing (how squarely it faces the camera) is compared with the frontal
    head's. The mean head, not the photo's own mesh, says this, so a frontal photo of a face shaped unlike the mean,
    or tilted up or down, is not foreshortened anywhere, and a turned one only on its far side.
    """
    yaw = photo_yaw_deg(photo_points)
    frontal = head_facing(0.0)[_RIM_TRIANGLES]
    turned = head_facing(yaw)[_RIM_TRIANGLES]
    # A triangle hidden on the frontal head too (the side of the head) is as foreshortened there: not at all.
    share = np.where(frontal > 1e-3, turned / np.maximum(frontal, 1e-3), 1.0)
    low, high = RIM_FORESHORTENED
    return np.asarray(np.clip((high - share) / (high - low), 0.0, 1.0), np.float64)


def triangle_edges_inverse(points_px: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Per surface triangle, the inverse of its 2×2 edge matrix (columns: corner b − a, c − a) in a mesh's pixels:
    times the same triangle's edge matrix elsewhere, the affine map from this mesh's triangle to that one. A
    degenerate triangle gets a huge inverse (any drawing of it counts as stretched)."""
    corner_a, corner_b, corner_c = np.asarray(points_px[:, :2], np.float64)[_SURFACE_CORNERS]
    (ab_x, ab_y), (ac_x, ac_y) = (corner_b - corner_a).T, (corner_c - corner_a).T
    determinant = ab_x * ac_y - ac_x * ab_y
    determinant = np.where(np.abs(determinant) < 1e-9, 1e-9, determinant)
    inverse = np.stack([np.stack([ac_y, -ac_x], axis=1), np.stack([-ab_y, ab_x], axis=1)], axis=1)
    return np.asarray(inverse / determinant[:, None, None], np.float64)


def rim_stretch_fade(
    drawn_points: npt.NDArray[np.floating],
    drawn_areas: npt.NDArray[np.float64],
    photo_edges_inverse: npt.NDArray[np.float64],
    foreshortened: npt.NDArray[np.float64],
) -> npt.NDArray[np.float32]:
    """Per mesh point (468), how much of the target to draw there (0-1) for how far a foreshortened rim is stretched.

    drawn_points: the mesh as drawn (468×2+ pixels); drawn_areas: its surface triangles' signed areas (swap_face has
    them once a frame); photo_edges_inverse: triangle_edges_inverse of the photo's mesh.
    A triangle's stretch is the larger singular value of the affine map from the photo's triangle to the drawn one
    (how much longer it is drawn in its most stretched direction: a far cheek squeezed across in the photo is
    stretched across, and its area alone understated that by the square root), relative to the median over the face
    of the maps' overall scale (so the face's size does not count). Rim triangles (RIM_RINGS of the outline) that
    the photo shows foreshortened (foreshortened_rim) and that are stretched past RIM_STRETCH_FADE fade, and each
    point takes the lowest value of its triangles, so the fade runs smoothly across the triangles (interpolated
    within each).
    """
    fade = np.ones(MESH_POINT_COUNT, np.float32)
    if photo_edges_inverse.shape[0] != len(TESSELATION_TRIANGLES) or not foreshortened.any():
        return fade
    drawn = np.asarray(drawn_points[:MESH_POINT_COUNT, :2], np.float64)
    inverse = photo_edges_inverse
    inverse_determinant = inverse[:, 0, 0] * inverse[:, 1, 1] - inverse[:, 0, 1] * inverse[:, 1, 0]
    area_scale = np.abs(drawn_areas * inverse_determinant)  # |det| of each triangle's map
    # The maps themselves only on the rim, written out (numpy's batched 2×2 products cost more than the fade).
    corner_a, corner_b, corner_c = drawn[_RIM_CORNERS]
    (ab_x, ab_y), (ac_x, ac_y) = (corner_b - corner_a).T, (corner_c - corner_a).T
    rim_inverse = inverse[_RIM_TRIANGLES]
    squared_norm = np.zeros(len(_RIM_TRIANGLES))
    for column in (0, 1):
        squared_norm += (ab_x * rim_inverse[:, 0, column] + ac_x * rim_inverse[:, 1, column]) ** 2
        squared_norm += (ab_y * rim_inverse[:, 0, column] + ac_y * rim_inverse[:, 1, column]) ** 2
    # Singular values of a 2×2 map in closed form: s1² + s2² = |M|², s1 · s2 = |det M|.
    rim_scale = area_scale[_RIM_TRIANGLES]
    largest = np.sqrt(0.5 * (squared_norm + np.sqrt(np.maximum(squared_norm**2 - 4.0 * rim_scale**2, 0.0))))
    stretch = largest / max(float(np.sqrt(shading.median(area_scale))), 1e-9)
    low, high = RIM_STRETCH_FADE
    ramp = np.clip((stretch - low) / (high - low), 0.0, 1.0)
    triangle_fade = np.append(1.0 - foreshortened * ramp * ramp * (3.0 - 2.0 * ramp), 1.0).astype(np.float32)
    fade[_RIM_POINTS] = triangle_fade[_RIM_POINT_TRIANGLES].min(axis=1)
    return fade


def _fade_for_folds(share: float) -> float:
    """1 while at most FOLD_FADE[0] of the face is drawn folded, falling linearly to 0 at FOLD_FADE[1]."""
    start, end = FOLD_FADE
    return float(np.clip((end - share) / (end - start), 0.0, 1.0))


def _user_mouth_moved(
    frame_bgr: BgrImage, region: Box, user_points_px: npt.NDArray[np.float32], drawn_points_px: npt.NDArray[np.float32]
) -> BgrImage | None:
    """The frame's region with the user's lips moved onto the drawn ones (see MeshSwappedFace): the upper lip by the
    affine that takes the drawn upper lip (its outer and inner lines) onto the user's, the lower lip by the lower's,
    and between the inner lines (teeth, the mouth's inside) a blend from the one to the other down the opening.

    Each lip fitted on its own keeps its height: one affine on the inner lines alone (a closed mouth's are a pixel or
    two apart) left the vertical scale to the landmarks' noise (0.14-0.6 on pressed lips) and stretched the user's
    lips into vertical streaks (carried onto the drawn lips by lip_detail_from_user); one on all the lip lines put
    the user's parting line off the drawn one wherever the lips' thickness differs. Only the drawn mouth and
    MOUTH_WARP_MARGIN around it are warped (all that blend_face reads of it); elsewhere it is the frame as it is. None
    when the lips were not moved (less than a tenth of a pixel), so blend_face can use the frame as it is.
    """
    if float(np.abs(drawn_points_px[_LIP_LINE_POINTS, :2] - user_points_px[_LIP_LINE_POINTS, :2]).max()) < 0.1:
        return None
    source = frame_bgr[region.y0 : region.y1, region.x0 : region.x1]
    moved = source.copy()
    origin = np.array([region.x0, region.y0], np.float64)
    drawn = drawn_points_px[:, :2].astype(np.float64) - origin
    user = user_points_px[:, :2].astype(np.float64) - origin
    margin = math.ceil(MOUTH_WARP_MARGIN * region.width) + 2
    window = Box.around(drawn[[*OUTER_LIP_UPPER, *OUTER_LIP_LOWER]]).grown(margin).clipped(region.width, region.height)
    if window.x1 <= window.x0 or window.y1 <= window.y0:
        return moved
    columns = np.arange(window.x0, window.x1, dtype=np.float32)
    rows = np.arange(window.y0, window.y1, dtype=np.float32)[:, None]

    def line_height(line: tuple[int, ...]) -> npt.NDArray[np.float32]:
        """The drawn lip line's height (region pixels) over the window's columns."""
        points = drawn[list(line)]
        order = np.argsort(points[:, 0])
        return np.asarray(np.interp(columns, points[order, 0], points[order, 1]), np.float32)

    upper_line, lower_line = line_height(INNER_LIP_UPPER), line_height(INNER_LIP_LOWER)
    opening = np.maximum(lower_line - upper_line, np.float32(2.0 * MOUTH_PARTING_SOFTNESS_PX))
    down_the_opening = (rows - (upper_line + lower_line - opening) / np.float32(2.0)) / opening
    np.clip(down_the_opening, 0.0, 1.0, out=down_the_opening)
    moves = []
    for lip in (_UPPER_LIP_POINTS, _LOWER_LIP_POINTS):
        design = np.hstack([drawn[lip], np.ones((len(lip), 1))])
        # The least-squares affine drawn (x, y, 1) → the user's (x, y) (cv2's solver: a quarter of numpy's time on a
        # system this small).
        moves.append(np.asarray(cv2.solve(design, user[lip], flags=cv2.DECOMP_SVD)[1], np.float32))
    upper, change = moves[0], moves[1] - moves[0]
    # Each map is the upper lip's move plus down_the_opening × (the lower's − the upper's), both affine in (x, y).
    map_x, map_y = (
        (upper[0, k] * columns + upper[1, k] * rows + upper[2, k])
        + down_the_opening * (change[0, k] * columns + change[1, k] * rows + change[2, k])
        for k in (0, 1)
    )
    moved[window.y0 : window.y1, window.x0 : window.x1] = cv2.remap(
        source, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return moved


def fit_similarity_3d(
    source_points: npt.NDArray[np.float64], destination_points: npt.NDArray[np.float64], fit_indices: tuple[int, ...]
) -> npt.NDArray[np.float64]:
    """source_points (N×3) moved by the 3D similarity (rotation, uniform scale, shift) that best maps its fit_indices
    points onto destination_points' (align.umeyama). Returns N×3 float64. A head turned in the frame turns
    the fitted mesh too, so a frontal target photo fits a turned user."""
    indices = list(fit_indices)
    scale, rotation, translation = umeyama(source_points[indices], destination_points[indices])
    return np.asarray(scale * source_points @ rotation.T + translation, dtype=np.float64)


def identity_point_weights(eyes_from_user: bool) -> npt.NDArray[np.float64]:
    """468 float64 in [0, 1]: how far each mesh point may move from the user's towards the target's position.

    0 on the face outline (the mask follows it) and on the eye contours when the user's own eyes are kept (the
    mouth needs no pin: the engine moves the user's open mouth along with the lips, see MeshSwappedFace),
    rising over a few rings of points (RING_FADE) to 1 on the inner face; the lips get LIP_IDENTITY_SHARE of it.
    """
    pinned: tuple[int, ...] = FACE_OVAL
    if eyes_from_user:
        pinned = pinned + RIGHT_EYE + LEFT_EYE
    rings = ring_distance(pinned, MESH_POINT_COUNT)
    fade = np.asarray(RING_FADE, dtype=np.float64)
    weights = np.where(rings < fade.size, fade[np.minimum(rings, fade.size - 1)], 1.0)
    lips = list(set(OUTER_LIP_UPPER + OUTER_LIP_LOWER + INNER_LIP_UPPER + INNER_LIP_LOWER))
    weights[lips] *= LIP_IDENTITY_SHARE
    return weights


def jaw_weights(points_px: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    """468 float64: how much each point moves with the lower jaw (0 above the mouth, 1 on the lower lip and chin).

    Measured on the target's own mesh (468×2 pixels) with its eye line levelled; the lip contours are set exactly
    (upper lips 0, lower lips 1, mouth corners 0.5).
    """
    right_eye = points_px[list(RIGHT_EYE_CORNERS)].mean(axis=0)
    left_eye = points_px[list(LEFT_EYE_CORNERS)].mean(axis=0)
    across = (left_eye - right_eye) / max(float(np.linalg.norm(left_eye - right_eye)), 1e-6)
    down = np.array([-across[1], across[0]])
    height = points_px @ down
    mouth_line = float(height[[UPPER_LIP_CENTRE, LOWER_LIP_CENTRE]].mean())
    lip_half_height = max(float(height[OUTER_LIP_LOWER[5]] - height[OUTER_LIP_UPPER[5]]) / 2.0, 1.0)
    weights = np.clip((height - mouth_line) / (2.0 * lip_half_height) + 0.5, 0.0, 1.0)
    weights[list(OUTER_LIP_UPPER + INNER_LIP_UPPER)] = 0.0
    weights[list(OUTER_LIP_LOWER + INNER_LIP_LOWER)] = 1.0
    weights[[OUTER_LIP_UPPER[0], OUTER_LIP_UPPER[-1], INNER_LIP_UPPER[0], INNER_LIP_UPPER[-1]]] = 0.5
    return np.asarray(weights, dtype=np.float64)


def lid_weights(points_px: npt.NDArray[np.float64], ring_weights: tuple[float, ...]) -> npt.NDArray[np.float64]:
    """2×468 float64 (right eye, left eye): how much each point moves with that eye's upper lid.

    ring_weights (LID_RING_WEIGHTS, LOWERED_LID_RING_WEIGHTS) over the rings of mesh points around the upper lid
    contour (1 on its inner points), counted only above the eye's corner line on the target's own mesh (468×2
    pixels); 0 on the corners, the lower lid and everything below.
    """
    weights = np.zeros((2, MESH_POINT_COUNT), dtype=np.float64)
    fade = np.asarray(ring_weights, dtype=np.float64)
    for row, (upper, corners) in enumerate(((RIGHT_EYE_UPPER, RIGHT_EYE_CORNERS), (LEFT_EYE_UPPER, LEFT_EYE_CORNERS))):
        first, second = points_px[corners[0]], points_px[corners[1]]
        across = (second - first) / max(float(np.linalg.norm(second - first)), 1e-6)
        down = np.array([-across[1], across[0]])
        if down[1] < 0:
            down = -down  # image y grows downwards
        above = (points_px - first) @ down < 0.0
        rings = ring_distance(upper[1:-1], MESH_POINT_COUNT)
        near = rings < fade.size
        weights[row, near & above] = fade[rings[near & above]]
        weights[row, list(upper[1:-1])] = 1.0
        weights[row, list(corners)] = 0.0
    return weights


def follow_gaze(
    map_x: npt.NDArray[np.float32],
    map_y: npt.NDArray[np.float32],
    grid_points: npt.NDArray[np.float32],
    target_points_px: npt.NDArray[np.float32],
    shifts: npt.NDArray[np.float64],
) -> None:
    """Move the target's irises along the drawn eyes by shifts (right, left eye; eye widths), in place in the
    coarse warp map (grid pixel → target pixel), so the drawn eyes look where the user's do.

    Inside each drawn eye opening the map samples the photo shifted against the gaze by the same share of the
    photo's eye width: the iris and the white around it slide along the eye, fully over its middle and fading to no
    shift at the corners (GAZE_CORNER_FADE), where the white is squeezed or stretched; the lids and lashes on the
    outline stay. grid_points: the drawn 468 points in grid pixels; target_points_px: the photo's, in the
    texture's pixels.
    """
    height, width = map_x.shape
    for (contour, corners), shift in zip(
        ((RIGHT_EYE, RIGHT_EYE_CORNERS), (LEFT_EYE, LEFT_EYE_CORNERS)), shifts, strict=True
    ):
        shift = min(max(float(shift), -GAZE_MAX_SHIFT), GAZE_MAX_SHIFT)
        first, second = grid_points[corners[0]].astype(np.float64), grid_points[corners[1]].astype(np.float64)
        axis = second - first
        eye_width_sq = float(axis @ axis)
        if abs(shift) * math.sqrt(eye_width_sq) < 0.1 or eye_width_sq < 4.0:
            continue  # under a tenth of a grid pixel: nothing would show
        outline = grid_points[list(contour)]
        window = Box.around(outline).grown(1).clipped(width, height)
        x0, y0, x1, y1 = window.x0, window.y0, window.x1, window.y1
        if x1 - x0 < 2 or y1 - y0 < 2:
            continue
        inside: np.ndarray = np.zeros((y1 - y0, x1 - x0), np.uint8)
        cv2.fillPoly(inside, [np.round((outline - (x0, y0)) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
        centre = (first + second) / 2.0
        xs = (np.arange(x0, x1, dtype=np.float32) - np.float32(centre[0])) * np.float32(axis[0] / (0.5 * eye_width_sq))
        ys = (np.arange(y0, y1, dtype=np.float32) - np.float32(centre[1])) * np.float32(axis[1] / (0.5 * eye_width_sq))
        along = xs[None, :] + ys[:, None]  # -1 at one corner, 1 at the other
        ramp = np.clip((1.0 - np.abs(along)) / GAZE_CORNER_FADE, 0.0, 1.0)
        weight = inside * np.float32(1.0 / 255.0) * (ramp * ramp * (3.0 - 2.0 * ramp))
        target_axis = target_points_px[corners[1]] - target_points_px[corners[0]]
        map_x[y0:y1, x0:x1] -= np.float32(shift * float(target_axis[0])) * weight
        map_y[y0:y1, x0:x1] -= np.float32(shift * float(target_axis[1])) * weight


def in_colours_of(
    texture_bgra: npt.NDArray[np.uint8], reference_bgra: npt.NDArray[np.uint8], sigma_px: float
) -> npt.NDArray[np.uint8]:
    """texture_bgra's detail above a Gaussian of sigma_px on reference_bgra's colours below it, with
    reference_bgra's alpha (both H×W×4 uint8, drawn on the same mesh)."""
    height, width = texture_bgra.shape[:2]
    # The colours below sigma are smooth: their difference is found on a grid a few times coarser (8 ms → 0.6 ms).
    factor = max(1.0, sigma_px / 2.5)
    small = (max(2, round(width / factor)), max(2, round(height / factor)))

    def smooth(image: npt.NDArray[np.uint8]) -> npt.NDArray[np.float32]:
        reduced = cv2.pyrDown(image) if factor >= 2.0 else image
        grid = cv2.resize(reduced, small, interpolation=cv2.INTER_LINEAR).astype(np.float32)
        return np.asarray(cv2.GaussianBlur(grid, (0, 0), max(0.8, sigma_px / factor)), np.float32)

    difference = cv2.resize(smooth(reference_bgra) - smooth(texture_bgra), (width, height))
    mixed = np.asarray(cv2.add(texture_bgra, difference, dtype=cv2.CV_8U), np.uint8)
    cv2.mixChannels([reference_bgra], [mixed], [3, 3])
    return mixed
