"""Compositing a swapped face into the frame: face mask, colour and light match, alpha or Poisson blend.

Shared by every engine: an engine returns a SwappedFace (new pixels and its own coverage in a frame region) and
blend_face does the rest, touching only that region. Pure functions, safe from any thread; the work is done on a
coarse grid over the face (about 128 px across) wherever the result is smooth anyway (masks, shading, Poisson
correction) and only the final composite runs at full resolution, so blending costs two to three milliseconds.

Light: the swapped face keeps the photo's detail (pores, brows, wrinkles, make-up) but takes its shading from the
user's frame. Both faces' light fields are Gaussian averages over skin (sigma an eighth of the face width) with the
eyes, brows and lips of each face left out and filled from the skin around them, and the photo's hair left out too;
the photo is multiplied by their ratio (match_colour). Its own highlights and shadows divide out, the user's light
multiplies in, and neither face's features leak into the other. A user's beard or stubble (fine, dark detail below
the nose, each measured against their cheekbones: facial_hair) is left out of the user's field too: read as shade,
it painted the target's chin grey. (A shadow sharper than that sigma, down the side of a side-lit photo's nose, is
taken out before, by the mesh engine: stages/shading.py.) The user's open mouth is cut along the drawn inner lip line
at full resolution (sub-pixel, feathered outwards), so the lip edge stays smooth up close; where the user's own lip
still shows inside that line, it takes the drawn lips' colour (user_lips_in_target_colour). A user's beard
where the mask fades at the face outline, or has a hole where the photo has hair over a cheek, is painted over with
the drawn face's skin (cover_beard): left as it was, it drew a chinstrap beard along the target's jaw.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.config import SwapConfig
from faceswap_live.stages.mesh_topology import (
    CHEEKBONES,
    FACE_OVAL,
    INNER_LIPS,
    LEFT_EYE,
    LEFT_EYE_CORNERS,
    LEFT_EYEBROW,
    MESH_POINT_COUNT,
    NOSE_TIP,
    NOSE_WING_SIDES,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    RIGHT_EYE,
    RIGHT_EYE_CORNERS,
    RIGHT_EYEBROW,
    closed_contour,
)
from faceswap_live.stages.shading import median
from faceswap_live.types import BgrImage, Box, FaceLandmarks, Mask, SwappedFace

OUTER_LIPS: Final = closed_contour(OUTER_LIP_UPPER, OUTER_LIP_LOWER)

__all__ = [
    "FACE_OVAL",
    "blend_face",
    "build_face_mask",
    "cover_beard",
    "feature_polygons",
    "lip_detail_from_user",
    "match_colour",
    "mouth_cut",
    "user_beard_cover",
    "user_glasses_mask",
    "user_lips_in_target_colour",
]

LIP_DETAIL_SIGMA: Final = 0.02
"""Lip detail: what lies above a Gaussian of this fraction of the face width (lip lines, the pucker's folds and
highlights) comes from the user's frame, the colour below it from the photo."""
LIP_DETAIL_GROW: Final = 0.03
"""The lip detail region: the drawn outer lips grown by this fraction of the face width, feathered as much again."""
INNER_LIP_BAND: Final = 0.035
"""How far into the user's open mouth (a share of the face width, about a lip's thickness) their own lip may show:
MediaPipe's inner lip line often lies inside the lip, so a band of the user's lip shows through the cut; there
lip-coloured pixels take the drawn lips' colour (user_lips_in_target_colour)."""
LIP_HUE_LIMITS_DEG: Final = (15.0, 35.0)
"""Hue difference (Lab, degrees) from the user's lip colour up to which a pixel counts fully as lip, and from which
not at all."""
LIP_CHROMA_LIMITS: Final = (0.35, 0.6)
"""Chroma, as a share of the lip's, from which a pixel starts to count as lip and at which it counts fully."""
LIP_LIGHTNESS_LIMITS: Final = (-17.0, -10.0, 8.0, 14.0)
"""Lightness (Lab L) less the lip's: a pixel counts as lip from the first to the fourth value, fully between the
second and third. Teeth are lighter, the tongue and the mouth's inside darker (on v09, by 15-22 and 18-20); the
paler, wet inside of a lip is within a few units."""
LIP_WORK_FACE_WIDTH_PX: Final = 200.0
"""Which pixels inside the mouth are lip is worked out at most at this face width (the window scaled down): the same
answer for a 1080p face at a tenth of the cost."""
LIP_EDGE_REACH_PX: Final = 2.0
"""Lip-coloured patches are recoloured only if they come within this many (working) pixels of the cut's edge."""
LIP_WEIGHT_SIGMA_PX: Final = 0.8
"""Blur of the recolouring weight, so a compressed video's blocky edge between lip and mouth does not show as a
jagged line."""
MASK_GRID_SIDE_PX: Final = 128
"""Masks are drawn on a grid with this longer side and scaled up: feathered edges are smooth at any size."""
MOUTH_FEATHER: Final = 0.025
"""Feather of the eye cut, as a fraction of the face size (a soft edge just on the lid line)."""
LIP_EDGE_SIGMA: Final = 0.75
LIP_EDGE_SIGMA_MIN_PX: Final = 0.8
LIP_SUPERSAMPLING: Final = 4
"""The mouth cut fades outwards from the inner lip line with a Gaussian of this many warp-grid cells (at least
LIP_EDGE_SIGMA_MIN_PX frame pixels): smooth at any size, and wide enough to cover the coarse map's steps."""
EYE_GROW: Final = 0.02
"""The eye cut is grown by this fraction of the face size, so lashes and the lid edge come from the user too."""
SHADING_GRID_SIDE_PX: Final = 48
"""Colour/light matching works on a grid this size: only the low frequencies (lighting, skin tone) are matched."""
SHADING_SIGMA: Final = 0.125
"""Gaussian sigma of the light field as a fraction of the face width: the shade of brows and nose, not pores."""
FEATURE_GROW: Final = 0.04
"""Eyes, brows and lips are left out of the light fields grown by this fraction of the face width (lashes, lid
shadow and the lip line go with them)."""
GAIN_LIMITS: Final = (0.4, 2.5)
"""Range of the brightness ratio of the user's light to the target photo's (match_colour)."""
DETAIL_GAIN_MAX: Final = 1.6
"""The target's detail (its texture less its own light) is scaled by the brightness ratio up to this much: the light
itself still reaches the user's; the detail of a shadowed side lit up further brought its noise up as colour speckle."""
LIGHT_EDGE_LEVELS: Final = 10.0
"""The edge-keeping light field (match_colour's keep_light_edges) keeps steps in the drawn face's brightness of more
than about this many grey levels (the guided filter's regularisation is its square)."""
LIGHT_EDGE_DEPARTURE: Final = (10.0, 25.0)
"""The edge-keeping light field is taken where it departs from the Gaussian one by the first number of grey levels,
fully from the second: at a shadow's edge, not over the smooth shading of a face."""
EYE_COLOUR_FEATHER: Final = 0.01
"""Blur of the edge of the drawn eyes, which keep the photo's colours (match_colour's keep_colour_in), as a share of
the face width."""
COLOUR_DETAIL_GAIN_MAX: Final = 1.0
"""The colour part of the target's detail (a pixel's colour less its light's, that light taken at the pixel's own
brightness) is scaled by at most this much: lit up with the brightness, a shadowed side's JPEG chroma noise and
stubble turned into purple and blue speckle."""
_CHROMA_OF_BGR: Final = np.eye(3, dtype=np.float32) - np.float32(1.0 / 3.0)
"""3×3: a BGR value less its grey (the mean of its channels), for cv2.transform."""
HIGHLIGHT_KNEE: Final = 220.0
"""Relit values above this (0-255) are compressed smoothly so that they reach white only in the limit."""
FACIAL_HAIR_DETAIL_SIGMA: Final = 0.006
"""Facial hair is found by its fine detail: what lies above a Gaussian of this share of the face width (stubble and
beard hairs; pores and the shade of a fold lie above and below it)."""
FACIAL_HAIR_TEXTURE: Final = (1.8, 3.0)
"""That detail's strength over the cheekbones', from which a cell starts to count as facial hair and at which it
counts fully. On the chin (median over its cells): 0.6-2.2 on the shared talking clips without a beard, 8-10 with
one (v10); 2.2-5.5 on portraits with a stubble or a beard, up to 3.2 on a retouched portrait without one (p02_1)."""
FACIAL_HAIR_DARKNESS: Final = (0.9, 0.75)
"""Brightness over the cheekbones' from which a cell starts to count as facial hair and at which it counts fully. A
chin reads 0.35-0.54 under a beard and 0.67-0.75 without one on the shared faces, so the texture test decides; a
false beard costs little (that skin's light is filled from the skin around), a missed one a grey chin."""
FACIAL_HAIR_SPREAD: Final = 2.0
FACIAL_HAIR_FILL: Final = 2.0
"""The weight is blurred by FACIAL_HAIR_SPREAD grid cells and multiplied by FACIAL_HAIR_FILL: a cell mostly among
bearded ones counts fully (the gaps between hairs too), and the weight does not flicker cell by cell with the
landmarks (on v10, flicker on still stretches 1.20 with a one-cell blur, 1.16 with two; 1.10 without the test)."""
FACIAL_HAIR_BELOW_NOSE: Final = (-0.02, 0.03)
"""Facial hair is looked for only below the nose wings (moustache, chin, jaw): from this far above their level (a
share of the face width, along the face's own down) to fully at this far below it."""
BEARD_EDGE_LEVELS: Final = (-0.2, -0.1)
"""For the beard painted over (user_beard_cover), facial hair is looked for from this far above the nose wings' level
instead (the same measure): the sideburns and the cheeks down, not the hair at the temples."""
BEARD_RING_SHARE: Final = (0.7, 0.85)
"""A user's beard is painted over (user_beard_cover) as their mean facial-hair weight (facial_hair on match_colour's
grid) in the ring along the outline below the nose goes from the first value to the second: 0.89-0.93 in every frame
of the shared clip of a full beard (v10), at most 0.62 with stubble and 0.59 with long hair beside the jaw (14 other
clips). A stubble's weight comes and goes from frame to frame, and covering it by turns would flicker."""
BEARD_MOUTH_MARGIN: Final = 0.02
"""The user's beard is never painted over within this share of the face width around their outer lips."""
BEARD_GRID_FACTOR: Final = 2
"""The beard is found on a grid of this many pixels a cell (finer than the light match's: a beard's edge)."""
BEARD_FILL_FROM: Final = 0.6
BEARD_FILL_SIGMA: Final = 0.03
"""The beard is painted over with the drawn face's own colour carried into it: a Gaussian average of the drawn face
(this share of the face width) where the face mask is above BEARD_FILL_FROM."""
GLASSES_LINE_WIDTH: Final = 0.06
"""Glasses frames are found as lines narrower than this share of the face width (user_glasses_mask)."""
GLASSES_BRIDGE_SCORE: Final = 30.0
"""Line strength (grey levels) on the bridge between the eyes from which the user counts as wearing glasses."""
LENS_INSIDE: Final = (0.62, 0.42)
"""Semi-axes, in eye widths, of the ellipse around each eye that is always the target's (inside any lens rim)."""
POISSON_GRID_SIDE_PX: Final = 96
"""Poisson blending solves on a grid this size and applies the (smooth) correction at full resolution."""


def build_face_mask(
    face: FaceLandmarks,
    swapped: SwappedFace,
    feather: float,
    *,
    cut_mouth: bool = False,
    cut_eyes: bool = False,
) -> Mask:
    """Feathered face-oval mask in the swapped region's pixels, times the engine's coverage.

    Returns region.height×region.width float32 in [0, 1]: 0 outside the user's face oval (the feather fades inside
    the oval, never past the jaw line), and 0 inside the user's open mouth (cut_mouth: teeth and tongue stay the
    user's own) and eyes (cut_eyes: blinks and gaze stay the user's own), with soft edges.
    """
    region = swapped.region
    scale = min(1.0, MASK_GRID_SIDE_PX / max(region.width, region.height, 1))
    grid_width, grid_height = max(1, round(region.width * scale)), max(1, round(region.height * scale))
    scale_x, scale_y = grid_width / max(region.width, 1), grid_height / max(region.height, 1)
    face_size = max(face.box.width, face.box.height) * max(scale_x, scale_y)

    feature_points = getattr(swapped, "feature_points_px", None)

    def to_grid(indices: tuple[int, ...], features: bool = False) -> npt.NDArray[np.int32]:
        # The cuts follow the features where the engine drew them (if it says), the outline the user's face.
        source = feature_points if features and feature_points is not None else face.points_px
        points = source[list(indices), :2]
        grid = np.empty_like(points)
        grid[:, 0] = (points[:, 0] - region.x0 + 0.5) * scale_x - 0.5
        grid[:, 1] = (points[:, 1] - region.y0 + 0.5) * scale_y - 0.5
        # 4 fractional bits: sub-pixel polygon edges, so a slowly moving face does not step from pixel to pixel.
        return np.round(grid * 16).astype(np.int32)

    mask: np.ndarray = np.zeros((grid_height, grid_width), dtype=np.uint8)
    cv2.fillPoly(mask, [to_grid(FACE_OVAL)], 255, lineType=cv2.LINE_AA, shift=4)
    kernel = _odd(face_size * feather)
    if kernel > 1:
        # Erode by the blur's radius first, so the fade ends on the oval instead of spilling past the jaw line.
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel)))
        mask = cv2.GaussianBlur(mask, (kernel, kernel), 0)
    cut: np.ndarray = np.zeros_like(mask)
    if cut_eyes:
        eyes: np.ndarray = np.zeros_like(mask)
        cv2.fillPoly(eyes, [to_grid(RIGHT_EYE, True), to_grid(LEFT_EYE, True)], 255, lineType=cv2.LINE_AA, shift=4)
        grow = _odd(face_size * EYE_GROW)
        if grow > 1:
            eyes = cv2.dilate(eyes, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
        cut = np.maximum(cut, eyes)
    if cut_eyes:
        cut_kernel = _odd(face_size * MOUTH_FEATHER)
        if cut_kernel > 1:
            cut = cv2.GaussianBlur(cut, (cut_kernel, cut_kernel), 0)
        mask = cv2.multiply(mask, cv2.bitwise_not(cut), scale=1.0 / 255.0)
    grid_mask = mask.astype(np.float32) * np.float32(1.0 / 255.0)
    full: Mask = np.asarray(
        cv2.resize(grid_mask, (region.width, region.height), interpolation=cv2.INTER_LINEAR), np.float32
    )
    if cut_mouth:
        full *= 1.0 - mouth_cut(face, swapped)
    return np.asarray(full * swapped.coverage, dtype=np.float32)


def mouth_cut(face: FaceLandmarks, swapped: SwappedFace) -> Mask:
    """Region-sized float32: 1 inside the inner-lip polygon where the engine drew the lips (feature_points_px, else
    the user's own), fading to 0 outside it over about two LIP_EDGE_SIGMA grid cells.

    Drawn at full resolution with sub-pixel vertices, so the lip line is smooth even up close, where the coarse
    mask grid would step. The whole polygon is cut (1 right up to the drawn lip line) and the feather lies outside
    it: the engine's warp map is coarse too, so the texture just inside the lip line is a smear of the photo's lip
    line, which must not show; a fade of a grid cell or so outside covers the map's steps.
    """
    return _mouth_cut_with_window(face, swapped)[0]


def _mouth_cut_with_window(face: FaceLandmarks, swapped: SwappedFace) -> tuple[Mask, tuple[int, int, int, int] | None]:
    """mouth_cut, and the window (x0, y0, x1, y1 in region pixels) outside which it is 0 (None: 0 everywhere)."""
    region = swapped.region
    feature_points = getattr(swapped, "feature_points_px", None)
    lips_px = np.asarray(
        (feature_points if feature_points is not None else face.points_px)[list(INNER_LIPS), :2], np.float64
    ) - (region.x0, region.y0)
    cut: Mask = np.zeros((region.height, region.width), np.float32)
    grid_cell_px = max(1.0, max(region.width, region.height) / MASK_GRID_SIDE_PX)
    sigma = max(LIP_EDGE_SIGMA_MIN_PX, LIP_EDGE_SIGMA * grid_cell_px)
    window = Box.around(lips_px).grown(math.ceil(3.0 * sigma) + 2).clipped(region.width, region.height)
    x0, y0, x1, y1 = window.x0, window.y0, window.x1, window.y1
    if x1 - x0 < 2 or y1 - y0 < 2:
        return cut, None
    # Filled on a grid LIP_SUPERSAMPLING times finer and averaged down: the polygon's area per pixel, so the edge
    # moves with the lips by fractions of a pixel (cv2's anti-aliased fill snaps near-horizontal edges to rows).
    fine = LIP_SUPERSAMPLING
    polygon = np.round(((lips_px - (x0, y0) + 0.5) * fine - 0.5) * 16).astype(np.int32)
    inside_fine: np.ndarray = np.zeros(((y1 - y0) * fine, (x1 - x0) * fine), np.uint8)
    cv2.fillPoly(inside_fine, [polygon], 255, lineType=cv2.LINE_8, shift=4)
    inside = cv2.resize(inside_fine, (x1 - x0, y1 - y0), interpolation=cv2.INTER_AREA)
    # A Gaussian edge is 0.5 on the lip line; doubled and clipped, it is 1 inside and fades only outwards.
    soft = cv2.GaussianBlur(inside.astype(np.float32) * np.float32(2.0 / 255.0), (0, 0), sigma)
    cut[y0:y1, x0:x1] = np.minimum(soft, 1.0)
    return cut, (x0, y0, x1, y1)


def match_colour(
    face_bgr: BgrImage,
    reference_bgr: BgrImage,
    mask: Mask,
    *,
    face_weight: Mask | None = None,
    face_features: Sequence[npt.NDArray[np.floating]] = (),
    reference_features: Sequence[npt.NDArray[np.floating]] = (),
    face_width_px: float | None = None,
    reference_hair: npt.NDArray[np.float32] | None = None,
    keep_light_edges: float = 0.0,
    keep_colour_in: Sequence[npt.NDArray[np.floating]] = (),
    face_points: npt.NDArray[np.floating] | None = None,
) -> BgrImage:
    """face_bgr relit to the reference's light and skin tone, keeping face_bgr's detail (same H×W×3 uint8 BGR).

    A quotient of light fields: both images are reduced to a coarse grid and their colours averaged over skin with
    a Gaussian of sigma SHADING_SIGMA × the face width (face_width_px; without it, the larger side of the image):
    that is the light and shade falling on each face. face_bgr's brightness is multiplied by the ratio of the two
    fields (the reference's shading in, face_bgr's own highlights and shadows out) and its colour shifted by their
    difference, so a light from one side, a colour cast or a darker room carry over while the target's pores,
    brows, wrinkles and make-up stay. What is darker than its light field (brows, lashes, a beard) takes the colour
    part of that difference in proportion to its brightness, as a surface under a coloured light does
    (_unlit_colour_shift).

    Only skin enters each light field: pixels where mask (and face_weight, the engine's own coverage: hair and
    hands over the target are not skin) is above 0.3, minus the feature polygons (K×2 points in this image's
    pixels: eyes, brows, lips) of each face, which are filled from the skin around them. So the user's brows and
    mouth are not painted back onto the target as smudges of shade, and the target's dark brows, fringe or glasses
    frame do not read as a shadow to be lit up into a band of skin. With reference_hair (facial_hair of the
    reference on its default grid, the one this function works on) the reference's facial hair is left out too: a
    beard is not the user's light, and read as one it painted the target's chin grey. With face_points (the drawn
    face's mesh in its pixels) the same goes for face_bgr's own beard: read as the photo's light, a dark beard or
    moustache was lit up to the user's bare skin (a washed-out beard) and the bare skin beside it glowed white.

    keep_light_edges (0-1; the engine's light_edges) takes face_bgr's light field that much from an edge-keeping
    filter (_with_light_edges): a photo lit hard from one side has its shadow's edge right beside lit skin, and a
    blurred field there lifts the lit skin with the shadow (a white wedge between the brows) and scales the edge's
    contrast up as detail. Only for such photos: a frontal photo's deep eye sockets and nose shade are part of who
    the target is to a face recogniser, and keeping their edges out of its light cost identity.

    Inside keep_colour_in (polygons in face_bgr's pixels: the drawn eyes) only the brightness is matched, not the
    colour: the shift that turns the photo's skin tone into the user's turned blue irises olive and the whites of the
    eyes beige.
    """
    height, width = face_bgr.shape[:2]
    if (mask > 0.5).sum() < 16:
        return face_bgr
    grid = _Grid.over(width, height)
    scale, size = 1.0 / grid.factor, grid.size
    coarse_mask = grid.shrink(mask)
    skin = np.where(coarse_mask > 0.3, coarse_mask, 0.0).astype(np.float32)
    face_skin = skin
    if face_weight is not None:
        face_skin = skin * grid.shrink(face_weight)
    face_width_grid = (face_width_px if face_width_px is not None else max(height, width)) * scale
    face_skin = face_skin * _outside_features(face_features, size, scale, face_width_grid)
    reference_skin = skin * _outside_features(reference_features, size, scale, face_width_grid)
    if reference_hair is not None:
        reference_skin = reference_skin * (1.0 - reference_hair)
    if face_points is not None and face_width_px is not None:
        face_skin = face_skin * (1.0 - facial_hair(face_bgr, face_points, face_width_px, grid))
    if (face_skin > 0.3).sum() < 4 or (reference_skin > 0.3).sum() < 4:
        face_skin, reference_skin = skin, skin
    face_small = grid.shrink(face_bgr).astype(np.float32)
    reference_small = grid.shrink(reference_bgr).astype(np.float32)
    sigma = max(0.8, SHADING_SIGMA * face_width_grid)
    face_light = _weighted_blur(face_small, face_skin, sigma)
    if keep_light_edges > 0.0:
        face_light = _with_light_edges(face_small, face_skin, face_light, sigma, keep_light_edges)
    reference_light = _weighted_blur(reference_small, reference_skin, sigma)
    # Brightness as a gain (one for all channels, so light and shade scale the target's detail naturally), colour as
    # an offset: per-channel gains would tint the detail (wrinkles and pores turn red under a warm light).
    face_grey, reference_grey = _channel_mean(face_light), _channel_mean(reference_light)
    # The +8 keeps near-black pixels (hair, pupils) from turning the ratio into noise.
    gain = np.clip((reference_grey + 8.0) / (face_grey + 8.0), *GAIN_LIMITS).astype(np.float32)
    # relit = reference light + face detail × gain, where the detail (face − its light) is scaled by at most
    # DETAIL_GAIN_MAX: the shadowed side of a photo lit up 2.5× also lit up its sensor and JPEG noise into coloured
    # speckle. Written as face × detail gain + shift, one multiply-add per pixel.
    detail_gain = np.minimum(gain, DETAIL_GAIN_MAX)
    shift = reference_light - face_light * detail_gain
    # cv2's per-element arithmetic (three equal gain channels) is several times faster than numpy's broadcasting.
    full_gain = grid.spread(np.repeat(detail_gain, 3, axis=2))
    # The shift's colour part is a colour cast (the photo's skin tone to the user's), and a cast scales with how much
    # light a surface sends back: added whole to what is darker than the skin around it (brows, lashes, liner, a
    # beard), it turned dark features into saturated orange-brown bands on a user warmer than the photo.
    unlit_colour = _unlit_colour_shift(face_bgr, face_grey, shift)
    full_shift = np.asarray(cv2.subtract(grid.spread(shift), unlit_colour), np.float32)
    for polygon in keep_colour_in:
        _without_colour_shift(full_shift, np.asarray(polygon, np.float64), EYE_COLOUR_FEATHER * face_width_grid / scale)
    relit = cv2.multiply(face_bgr, full_gain, dtype=cv2.CV_32F)
    cv2.add(relit, full_shift, dst=relit)
    colour_excess = np.maximum(detail_gain - COLOUR_DETAIL_GAIN_MAX, 0.0)
    if float(colour_excess.max()) > 0.0:
        # The detail's colour (not its brightness) back to COLOUR_DETAIL_GAIN_MAX times the photo's. The detail's
        # colour is the pixel's less the light's at the pixel's own brightness (up to the light's): against the
        # light's full brightness a dark feature (an iris, lashes, a brow) read as the light's colour negated, and
        # taking that out painted the photo's skin tone onto it (a dark-skinned photo's brown irises glowed amber
        # on a fairer user).
        face_float = face_bgr.astype(np.float32)
        light = grid.spread(face_light)
        brightness = np.minimum(_channel_mean(face_float) / np.maximum(_channel_mean(light), np.float32(1.0)), 1.0)
        detail_colour = cv2.transform(face_float, _CHROMA_OF_BGR) - cv2.transform(light, _CHROMA_OF_BGR) * brightness
        excess = grid.spread(np.repeat(colour_excess, 3, axis=2))
        cv2.subtract(relit, cv2.multiply(detail_colour, excess), dst=relit)
    # Highlights roll off towards white instead of clipping: a photo darker than the user's room, lit up, would
    # otherwise burn its bright spots (lens glare, a shiny forehead) into flat white patches. Only the few bright
    # values are touched.
    # Bilinear upsampling stays within the grid's values, so the grid bounds the brightest relit value.
    hot = relit > HIGHLIGHT_KNEE if float((255.0 * detail_gain + shift).max()) > HIGHLIGHT_KNEE else None
    if hot is not None and hot.any():
        over = relit[hot] - HIGHLIGHT_KNEE
        relit[hot] = HIGHLIGHT_KNEE + over / (1.0 + over * np.float32(1.0 / (255.0 - HIGHLIGHT_KNEE)))
    return np.asarray(np.clip(relit, 0, 255, out=relit), dtype=np.uint8)


def facial_hair(
    image_bgr: BgrImage,
    points_px: npt.NDArray[np.floating],
    face_width_px: float,
    grid: _Grid | None = None,
    levels: tuple[float, float] = FACIAL_HAIR_BELOW_NOSE,
) -> npt.NDArray[np.float32]:
    """Where a beard or stubble covers the face: float32 on `grid` (default: _Grid.over the image), 0-1.

    Facial hair is skin with strong fine detail (FACIAL_HAIR_DETAIL_SIGMA) that is darker than the cheekbones, where
    a beard seldom grows (both compared with the cheekbones' own, so the camera's sharpness and the room's light
    cancel out), below the nose wings (levels: from and fully at, as in FACIAL_HAIR_BELOW_NOSE). A lit or shadowed
    chin keeps a skin's fine detail, so light alone is never taken for a beard. points_px: the face's mesh in
    image_bgr's pixels. Only the rows from the cheekbones down are read (0.3-0.5 ms a face).
    """
    height, width = image_bgr.shape[:2]
    grid = grid or _Grid.over(width, height)
    columns, rows = grid.size
    points = np.asarray(points_px[:, :2], np.float64)
    cheekbones = points[list(CHEEKBONES)]
    first_row = min(max(int(float(cheekbones[:, 1].min()) // grid.factor) - 1, 0), rows - 1)
    top = first_row * grid.factor
    below = _Grid(width, height - top, grid.factor)
    grey = cv2.cvtColor(image_bgr[top:], cv2.COLOR_BGR2GRAY).astype(np.float32)
    detail = cv2.subtract(grey, cv2.GaussianBlur(grey, (0, 0), max(0.7, FACIAL_HAIR_DETAIL_SIGMA * face_width_px)))
    texture = np.sqrt(below.shrink(cv2.multiply(detail, detail)))
    luminance = below.shrink(grey)
    cells = below.cell_of(cheekbones - (0.0, top))
    # The small floors keep a perfectly smooth or black cheek (a synthetic image) from dividing by nothing.
    cheek_texture = median(texture[cells[:, 1], cells[:, 0]]) + 0.3
    cheek_luminance = median(luminance[cells[:, 1], cells[:, 0]]) + 1.0
    textured = np.clip((texture / cheek_texture - FACIAL_HAIR_TEXTURE[0]) / np.ptp(FACIAL_HAIR_TEXTURE), 0.0, 1.0)
    darker = np.clip((FACIAL_HAIR_DARKNESS[0] - luminance / cheek_luminance) / np.ptp(FACIAL_HAIR_DARKNESS), 0.0, 1.0)
    # Spread and strengthened: the gaps between a beard's hairs (skin-fine detail) count as beard too.
    hair = cv2.GaussianBlur((textured * darker).astype(np.float32), (0, 0), FACIAL_HAIR_SPREAD)
    hair = np.minimum(hair * np.float32(FACIAL_HAIR_FILL), np.float32(1.0))
    # Below the nose wings along the face's own down: square to the line through the outer eye corners, pointing
    # away from the brows.
    across = points[LEFT_EYE_CORNERS[1]] - points[RIGHT_EYE_CORNERS[0]]
    down = np.array([-across[1], across[0]]) / max(float(np.hypot(across[0], across[1])), 1e-6)
    if float(down @ (points[NOSE_TIP] - points[list(RIGHT_EYEBROW)].mean(axis=0))) < 0.0:
        down = -down
    nose_level = float(points[list(NOSE_WING_SIDES)].mean(axis=0) @ down)
    centre_x = (np.arange(columns) + 0.5) * grid.factor - 0.5
    centre_y = (np.arange(first_row, rows) + 0.5) * grid.factor - 0.5
    depth = centre_x[None, :] * down[0] + centre_y[:, None] * down[1] - nose_level
    low, high = (edge * face_width_px for edge in levels)
    result = np.zeros((rows, columns), np.float32)
    result[first_row:] = hair * np.clip((depth - low) / (high - low), 0.0, 1.0)
    return result


@dataclass(frozen=True)
class _Grid:
    """A coarse grid over a width × height region: each grid cell averages factor × factor pixels (the region padded
    at its right and bottom to whole cells). A whole factor lets cv2's area resize take its fast path: at a fractional
    one it cost 0.4 ms per face for each colour image."""

    width: int
    height: int
    factor: int

    @staticmethod
    def over(width: int, height: int) -> _Grid:
        """The finest grid of at most SHADING_GRID_SIDE_PX cells a side."""
        return _Grid(width, height, max(1, math.ceil(max(width, height) / SHADING_GRID_SIDE_PX)))

    @property
    def size(self) -> tuple[int, int]:
        return -(-self.width // self.factor), -(-self.height // self.factor)

    def shrink(self, image: np.ndarray) -> np.ndarray:
        """image (region-sized) averaged over each cell; the padding repeats the edge."""
        if self.factor == 1:
            return image
        columns, rows = self.size
        padded = cv2.copyMakeBorder(
            image, 0, rows * self.factor - self.height, 0, columns * self.factor - self.width, cv2.BORDER_REPLICATE
        )
        return np.asarray(cv2.resize(padded, (columns, rows), interpolation=cv2.INTER_AREA))

    def cell_of(self, points_px: npt.NDArray[np.float64]) -> npt.NDArray[np.int64]:
        """N×2 (column, row) of the cells holding these points (x, y pixels), clipped to the grid."""
        columns, rows = self.size
        cells = np.rint((points_px + 0.5) / self.factor - 0.5).astype(np.int64)
        return np.clip(cells, 0, (columns - 1, rows - 1))

    def spread(self, grid_values: np.ndarray) -> np.ndarray:
        """grid_values (grid-sized) bilinearly back over the region (float32, region-sized). A view into the whole
        cells' image: cv2 reads it as it is, a contiguous copy cost as much as the resize."""
        if self.factor == 1:
            return np.ascontiguousarray(grid_values, np.float32)
        columns, rows = self.size
        full = cv2.resize(grid_values, (columns * self.factor, rows * self.factor), interpolation=cv2.INTER_LINEAR)
        return np.asarray(full[: self.height, : self.width], np.float32)


def _outside_features(
    features: Sequence[npt.NDArray[np.floating]], size: tuple[int, int], scale: float, face_width_grid: float
) -> npt.NDArray[np.float32]:
    """Grid-sized float32: 0 inside the feature polygons (grown by FEATURE_GROW of the face width), 1 elsewhere."""
    inside: np.ndarray = np.zeros((size[1], size[0]), np.uint8)
    if not features:
        return np.ones((size[1], size[0]), np.float32)
    polygons = [_on_grid(np.asarray(points)[:, :2], scale) for points in features]
    cv2.fillPoly(inside, polygons, 255, lineType=cv2.LINE_AA, shift=4)
    grow = _odd(face_width_grid * FEATURE_GROW)
    if grow > 1:
        inside = cv2.dilate(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (grow, grow)))
    return np.asarray(1.0 - inside.astype(np.float32) / 255.0, np.float32)


def feature_polygons(points_px: npt.NDArray[np.floating], origin: tuple[int, int]) -> list[npt.NDArray[np.float64]]:
    """The eyes, brows and lips of a 468+ point mesh as polygons (K×2 float64) in pixels relative to origin."""
    shift = np.asarray(origin, np.float64)
    return [
        np.asarray(points_px[list(contour), :2], np.float64) - shift
        for contour in (RIGHT_EYE, LEFT_EYE, RIGHT_EYEBROW, LEFT_EYEBROW, OUTER_LIPS)
    ]


def _weighted_blur(image: npt.NDArray[np.float32], weight: npt.NDArray[np.float32], sigma: float) -> np.ndarray:
    """Gaussian average of image where weight > 0; far from any weight, the overall weighted mean."""
    weighted_image = image * weight[:, :, None]
    weighted = cv2.GaussianBlur(weighted_image, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)
    norm = cv2.GaussianBlur(weight, (0, 0), sigma, borderType=cv2.BORDER_CONSTANT)[:, :, None]
    mean = weighted_image.sum(axis=(0, 1)) / max(float(weight.sum()), 1e-6)
    # Blend towards the overall mean where little weight is near, instead of dividing by almost nothing.
    confidence = np.clip(norm / 0.25, 0.0, 1.0)
    local = weighted / np.maximum(norm, 1e-6)
    return np.asarray(local * confidence + mean * (1.0 - confidence), dtype=np.float32)


def _unlit_colour_shift(
    face_bgr: BgrImage, face_grey: npt.NDArray[np.float32], shift: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """Region-sized H×W×3: the part of the shift's colour (grid-sized shift, each channel less the channels' mean)
    that a pixel darker than the face's light field (face_grey, grid-sized) does not take: the colour times one less
    the pixel's brightness over the field's, 0 at the skin's brightness and above. Worked out at half resolution, as
    colour is (the eye resolves colour more coarsely than brightness; a brow stays several pixels across)."""
    height, width = face_bgr.shape[:2]
    half = (max(1, width // 2), max(1, height // 2))
    pixel_grey = cv2.cvtColor(cv2.resize(face_bgr, half, interpolation=cv2.INTER_AREA), cv2.COLOR_BGR2GRAY)
    light_grey = cv2.resize(np.ascontiguousarray(face_grey[:, :, 0]), half, interpolation=cv2.INTER_LINEAR)
    unlit = np.maximum(np.float32(1.0) - pixel_grey.astype(np.float32) / np.maximum(light_grey, np.float32(1.0)), 0.0)
    colour = cv2.resize(shift - _channel_mean(shift), half, interpolation=cv2.INTER_LINEAR)
    unlit_colour = cv2.multiply(colour, cv2.merge([unlit, unlit, unlit]))
    return np.asarray(cv2.resize(unlit_colour, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)


def _without_colour_shift(shift: npt.NDArray[np.float32], polygon: npt.NDArray[np.float64], feather_px: float) -> None:
    """shift (H×W×3 float32, in place) with its colour part (each channel less the channels' mean) taken out inside
    polygon (K×2 pixels), feathered over feather_px."""
    height, width = shift.shape[:2]
    box = Box.around(polygon).grown(math.ceil(3.0 * feather_px) + 1).clipped(width, height)
    if box.x1 <= box.x0 or box.y1 <= box.y0:
        return
    inside = np.zeros((box.height, box.width), np.float32)
    cv2.fillPoly(inside, [np.round((polygon - (box.x0, box.y0)) * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    if feather_px >= 0.5:
        inside = np.asarray(cv2.GaussianBlur(inside, (0, 0), feather_px), np.float32)
    window = shift[box.y0 : box.y1, box.x0 : box.x1]
    window -= (window - _channel_mean(window)) * inside[:, :, None]


def _with_light_edges(
    face_small: npt.NDArray[np.float32],
    skin: npt.NDArray[np.float32],
    light: npt.NDArray[np.float32],
    sigma: float,
    strength: float,
) -> npt.NDArray[np.float32]:
    """light (the Gaussian light field of face_small, grid-sized) moved towards one that keeps the edges of the face's
    own light: a guided filter (He, Sun and Tang) of the face over about sigma cells, guided by its brightness, with
    what is not skin filled from light, taken where it departs from light by LIGHT_EDGE_DEPARTURE grey levels, times
    strength."""
    weight = np.clip(skin, 0.0, 1.0)[:, :, None]
    filled = np.asarray(face_small * weight + light * (np.float32(1.0) - weight), np.float32)
    guide = _channel_mean(filled)
    side = 2 * max(1, round(sigma)) + 1

    def box(image: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        mean = cv2.boxFilter(image, -1, (side, side), borderType=cv2.BORDER_REFLECT)
        return np.asarray(mean if mean.ndim == 3 else mean[:, :, None], np.float32)

    guide_mean = box(guide)
    guide_variance = box(guide * guide) - guide_mean * guide_mean
    colour_mean = box(filled)
    covariance = box(guide * filled) - guide_mean * colour_mean
    slope = np.asarray(covariance / (guide_variance + np.float32(LIGHT_EDGE_LEVELS**2)), np.float32)
    kept = box(slope) * guide + box(colour_mean - slope * guide_mean)
    low, high = LIGHT_EDGE_DEPARTURE
    departure = np.abs(_channel_mean(kept) - _channel_mean(light))
    share = np.clip((departure - np.float32(low)) / np.float32(high - low), 0.0, 1.0)
    share = share * share * (np.float32(3.0) - np.float32(2.0) * share) * np.float32(strength)
    return np.asarray(light + share * (kept - light), np.float32)


def _channel_mean(image: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """image.mean(axis=2, keepdims=True) of an H×W×3 float32 image, the same sums in the same order: numpy's
    reduction over a last axis of three costs five times more."""
    return (image[:, :, 0] + image[:, :, 1] + image[:, :, 2])[:, :, None] / np.float32(3.0)


def poisson_correct(face_bgr: BgrImage, destination_bgr: BgrImage, mask: Mask) -> BgrImage:
    """face_bgr with a seamless-clone (Poisson) correction: edges merge into the destination without a seam.

    cv2.seamlessClone on a full face costs ~30 ms, so it runs on a grid of about 96 px; what it changes (a smooth
    membrane) is scaled up and added to the full-resolution face, keeping all detail. Same shapes as match_colour.
    """
    height, width = face_bgr.shape[:2]
    scale = min(1.0, POISSON_GRID_SIDE_PX / max(height, width))
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    face_small = cv2.resize(face_bgr, size, interpolation=cv2.INTER_AREA)
    destination_small = cv2.resize(destination_bgr, size, interpolation=cv2.INTER_AREA)
    inside: np.ndarray = (cv2.resize(mask, size, interpolation=cv2.INTER_AREA) > 0.05).astype(np.uint8) * 255
    # seamlessClone needs the mask clear of the image border; pad everything by a margin.
    margin = 4
    inside = cv2.copyMakeBorder(inside, margin, margin, margin, margin, cv2.BORDER_CONSTANT, value=0)
    face_padded = cv2.copyMakeBorder(face_small, margin, margin, margin, margin, cv2.BORDER_REPLICATE)
    destination_padded = cv2.copyMakeBorder(destination_small, margin, margin, margin, margin, cv2.BORDER_REPLICATE)
    x, y, box_width, box_height = cv2.boundingRect(inside)
    if box_width < 3 or box_height < 3:
        return face_bgr
    centre = (x + box_width // 2, y + box_height // 2)
    try:
        cloned = cv2.seamlessClone(face_padded, destination_padded, inside, centre, cv2.NORMAL_CLONE)
    except cv2.error:
        return face_bgr
    correction = cloned.astype(np.float32) - face_padded.astype(np.float32)
    correction = correction[margin:-margin, margin:-margin]
    full = cv2.resize(correction, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.asarray(np.clip(face_bgr.astype(np.float32) + full, 0, 255), dtype=np.uint8)


def blend_face(frame_bgr: BgrImage, swapped: SwappedFace, face: FaceLandmarks, settings: SwapConfig) -> None:
    """Composite one swapped face into frame_bgr (H×W×3 uint8 BGR) in place; only swapped.region is written.

    The mask follows the user's face oval (feathered by settings.mask_feather), cut at the open mouth and the eyes
    when settings ask for the user's own; colours are relit to the frame when settings.colour_match; the composite is
    an alpha blend, or a Poisson blend (settings.blend_mode "poisson") for the hardest lighting. A user's own glasses
    frames stay on top (user_glasses_mask).
    """
    region = swapped.region.clipped(frame_bgr.shape[1], frame_bgr.shape[0])
    if region != swapped.region or region.width <= 0 or region.height <= 0:
        if region.width <= 0 or region.height <= 0:
            return
        swapped = _crop_swapped(swapped, region)
    destination = frame_bgr[region.y0 : region.y1, region.x0 : region.x1]
    mask = build_face_mask(face, swapped, settings.mask_feather, cut_eyes=settings.eyes_from_user)
    cut, cut_window = _mouth_cut_with_window(face, swapped) if settings.mouth_from_user else (None, None)
    if cut is not None and cut_window is not None:
        x0, y0, x1, y1 = cut_window
        mask[y0:y1, x0:x1] *= 1.0 - cut[y0:y1, x0:x1]
    face_bgr = swapped.face_bgr
    face_width_px = float(np.ptp(face.points_px[list(FACE_OVAL), 0]))
    drawn_points = getattr(swapped, "feature_points_px", None)
    origin = (region.x0, region.y0)
    # The user's beard or stubble: left out of their light, and a full beard painted over where the mask shows it.
    user_points = np.asarray(face.points_px[:, :2], np.float64) - origin
    user_hair = facial_hair(destination, user_points, face_width_px, _Grid.over(region.width, region.height))
    beard = user_beard_cover(destination, user_points, face_width_px, settings.mask_feather, user_hair)
    if settings.colour_match:
        drawn_mesh = np.asarray((drawn_points if drawn_points is not None else face.points_px)[:, :2], np.float64)
        face_bgr = match_colour(
            face_bgr,
            destination,
            mask,
            face_weight=swapped.coverage,
            face_features=feature_polygons(drawn_mesh, origin),
            reference_features=feature_polygons(face.points_px, origin),
            face_width_px=face_width_px,
            reference_hair=user_hair,
            keep_light_edges=float(getattr(swapped, "light_edges", 0.0)),
            keep_colour_in=[drawn_mesh[list(eye)] - origin for eye in (RIGHT_EYE, LEFT_EYE)],
            face_points=drawn_mesh - origin,
        )
    mouth_bgr = getattr(swapped, "mouth_bgr", None)
    if settings.mouth_from_user:
        face_bgr = lip_detail_from_user(
            face_bgr,
            mouth_bgr if mouth_bgr is not None else destination,
            np.asarray((drawn_points if drawn_points is not None else face.points_px)[list(OUTER_LIPS), :2], np.float64)
            - (region.x0, region.y0),
            face_width_px,
        )
    if settings.blend_mode == "poisson":
        face_bgr = poisson_correct(face_bgr, destination, mask)
    alpha = mask
    background: BgrImage = destination
    if cut is not None and mouth_bgr is not None:
        # The engine moved the lips: what shows through the mouth cut is the user's mouth moved along with them.
        background = destination.copy()
        if cut_window is not None:
            x0, y0, x1, y1 = cut_window
            mouth_weight = np.asarray(cut[y0:y1, x0:x1] * swapped.coverage[y0:y1, x0:x1], np.float32)
            background[y0:y1, x0:x1] = cv2.blendLinear(
                mouth_bgr[y0:y1, x0:x1], destination[y0:y1, x0:x1], mouth_weight, 1.0 - mouth_weight
            )
    if cut is not None and cut_window is not None:
        background = user_lips_in_target_colour(
            background,
            cut,
            cut_window,
            user_lips=(destination, face.points_px),
            drawn_lips=(face_bgr, drawn_points if drawn_points is not None else face.points_px),
            origin=(region.x0, region.y0),
            face_width_px=face_width_px,
        )
    glasses = user_glasses_mask(destination, face.points_px, (region.x0, region.y0))
    original = destination.copy() if glasses is not None else None
    if beard is not None:
        background = cover_beard(background, beard, face_bgr, alpha, face_width_px)
    destination[:] = cv2.blendLinear(face_bgr, background, alpha, 1.0 - alpha)
    if glasses is not None and original is not None:
        # The user's glasses stay whole over the swapped face: a face without them would keep only the arms at
        # the temples, outside the mask.
        glasses *= np.minimum(alpha * 4.0, 1.0)
        destination[:] = cv2.blendLinear(original, destination, glasses, 1.0 - glasses)


def lip_detail_from_user(
    face_bgr: BgrImage, user_bgr: BgrImage, lips_px: npt.NDArray[np.float64], face_width_px: float
) -> BgrImage:
    """face_bgr with its lips' fine detail taken from user_bgr (same H×W×3 uint8 BGR, lips already in place).

    The photo's lips carry its own expression in their texture: the lip lines, folds and highlights of a smile or a
    pout. Around the drawn outer lips (lips_px, K×2 pixels in this image, grown by LIP_DETAIL_GROW of the face width
    and feathered) the detail above a Gaussian of LIP_DETAIL_SIGMA × face_width_px is the user's, as brightness only
    (one value for all channels), and the colour below it stays the photo's: the lips wear the user's expression in
    the target's colour, and no user colour or lip shape at larger scales comes in. The photo's detail goes in every
    channel: a gloss highlight is paler and greyer than the lip, and taken out as brightness alone it left a
    grey-blue patch on the lower lip.
    """
    height, width = face_bgr.shape[:2]
    grow = LIP_DETAIL_GROW * face_width_px
    sigma = max(0.8, LIP_DETAIL_SIGMA * face_width_px)
    box = Box.around(lips_px).grown(math.ceil(2.0 * grow + 3.0 * sigma) + 1).clipped(width, height)
    x0, y0, x1, y1 = box.x0, box.y0, box.x1, box.y1
    if x1 - x0 < 4 or y1 - y0 < 4 or face_width_px < 8:
        return face_bgr
    window: np.ndarray = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(window, [np.round((lips_px - (x0, y0)) * 16).astype(np.int32)], 255, cv2.LINE_AA, shift=4)
    size = _odd(2.0 * grow)
    if size > 1:
        window = cv2.dilate(window, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    weight = cv2.GaussianBlur(window.astype(np.float32) * np.float32(1.0 / 255.0), (0, 0), max(0.8, grow))
    face_window = face_bgr[y0:y1, x0:x1].astype(np.float32)
    user_grey = cv2.cvtColor(user_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY).astype(np.float32)
    user_detail = user_grey - cv2.GaussianBlur(user_grey, (0, 0), sigma)
    face_detail = face_window - cv2.GaussianBlur(face_window, (0, 0), sigma)
    changed = face_window + (user_detail[:, :, None] - face_detail) * weight[:, :, None]
    out = face_bgr.copy()
    out[y0:y1, x0:x1] = np.clip(changed, 0, 255, out=changed)  # (truncated to uint8 as astype does)
    return out


def user_lips_in_target_colour(
    shown_bgr: BgrImage,
    cut: Mask,
    cut_window: tuple[int, int, int, int],
    user_lips: tuple[BgrImage, npt.NDArray[np.floating]],
    drawn_lips: tuple[BgrImage, npt.NDArray[np.floating]],
    origin: tuple[int, int],
    face_width_px: float,
) -> BgrImage:
    """shown_bgr (what shows through the mouth cut: the user's mouth) with the user's own lip, where it shows inside
    the cut, in the colour of the drawn lips; teeth and the mouth's dark inside stay as they are.

    user_lips, drawn_lips: (image, mesh points in frame pixels) of the user's frame and of the relit swapped face,
    both region-sized; each lip colour is the median colour of its image between the outer and inner lip lines.
    Pixels up to INNER_LIP_BAND from the cut's edge (fading over half as much again), in patches that reach the edge,
    move by the difference of the two lip colours as far as they are lip-like (LIP_HUE_LIMITS_DEG, LIP_CHROMA_LIMITS,
    LIP_LIGHTNESS_LIMITS), so the user's shading of the lip stays. Which pixels are lip is worked out on the window
    scaled to LIP_WORK_FACE_WIDTH_PX (a large face costs no more). Returns shown_bgr itself when nothing changes.
    """
    x0, y0, x1, y1 = cut_window
    if face_width_px < 8.0:
        return shown_bgr
    scale = min(1.0, LIP_WORK_FACE_WIDTH_PX / face_width_px)
    window = shown_bgr[y0:y1, x0:x1]
    work_size = (max(2, round((x1 - x0) * scale)), max(2, round((y1 - y0) * scale)))
    small_cut = (
        cut[y0:y1, x0:x1] if scale == 1.0 else cv2.resize(cut[y0:y1, x0:x1], work_size, interpolation=cv2.INTER_AREA)
    )
    inside = (small_cut >= 0.5).astype(np.uint8)
    if cv2.countNonZero(inside) < 4:  # a closed mouth
        return shown_bgr
    user_lip = _lip_colour(*user_lips, origin)
    drawn_lip = _lip_colour(*drawn_lips, origin)
    if user_lip is None or drawn_lip is None:
        return shown_bgr
    small = window if scale == 1.0 else cv2.resize(window, work_size, interpolation=cv2.INTER_AREA)
    # 8-bit Lab (L × 2.55, a and b + 128) is a table lookup, several times faster than float Lab.
    lab = cv2.cvtColor(small, cv2.COLOR_BGR2Lab).astype(np.float32)
    lip_lab = cv2.cvtColor(np.rint(user_lip).astype(np.uint8).reshape(1, 1, 3), cv2.COLOR_BGR2Lab)[0, 0]
    lip_a, lip_b = float(lip_lab[1]) - 128.0, float(lip_lab[2]) - 128.0
    a, b = lab[:, :, 1] - 128.0, lab[:, :, 2] - 128.0
    lip_chroma = max(math.hypot(lip_a, lip_b), 1.0)
    chroma = np.asarray(cv2.magnitude(a, b), np.float32)
    hue_cosine = (a * lip_a + b * lip_b) / (np.maximum(chroma, 1e-3) * lip_chroma)
    near_hue, far_hue = np.cos(np.radians(LIP_HUE_LIMITS_DEG))
    lighter = (lab[:, :, 0] - float(lip_lab[0])) * np.float32(100.0 / 255.0)
    lip_like = (
        _ramp(hue_cosine, far_hue, near_hue)
        * _ramp(chroma * np.float32(1.0 / lip_chroma), *LIP_CHROMA_LIMITS)
        * np.interp(lighter, LIP_LIGHTNESS_LIMITS, (0.0, 1.0, 1.0, 0.0)).astype(np.float32)
    )
    band_px = INNER_LIP_BAND * face_width_px * scale
    # (The cut is 0 at the window's border, so distances are to the cut's edge.)
    depth = np.asarray(cv2.distanceTransform(inside, cv2.DIST_L2, 3), np.float32)
    near_edge = _ramp(depth, 1.5 * band_px, band_px)
    # Only lip that reaches the cut's edge: a tongue is as pink as a lip, but lies inside, past a dark gap.
    # The cut's feather counts too: half-shown user lip there would draw a pale line along the drawn lips.
    candidates = ((lip_like * near_edge * (small_cut > 0)) > 0.25).astype(np.uint8)
    count, labels = cv2.connectedComponents(candidates, connectivity=4)
    reaches_edge = np.zeros(count, np.float32)
    reaches_edge[labels[(candidates > 0) & (depth <= LIP_EDGE_REACH_PX)]] = 1.0
    reaches_edge[0] = 0.0
    reaching = reaches_edge[labels]
    small_weight = cv2.GaussianBlur((lip_like * near_edge * reaching).astype(np.float32), (0, 0), LIP_WEIGHT_SIGMA_PX)
    if float(small_weight.max()) < 1e-3:
        return shown_bgr
    if scale != 1.0:
        small_weight = cv2.resize(small_weight, (x1 - x0, y1 - y0), interpolation=cv2.INTER_LINEAR)
    weight = np.where(cut[y0:y1, x0:x1] > 0, np.asarray(small_weight, np.float32), np.float32(0.0))
    shift = (weight[:, :, None] * (drawn_lip - user_lip)).astype(np.float32)
    out = shown_bgr.copy()
    out[y0:y1, x0:x1] = np.clip(np.rint(window + shift), 0, 255).astype(np.uint8)
    return out


def _ramp(values: npt.NDArray[np.floating], zero_at: float, one_at: float) -> npt.NDArray[np.float32]:
    """0 at zero_at, 1 at one_at, linear between and clipped (either way round)."""
    return np.asarray(np.clip((values - zero_at) / (one_at - zero_at), 0.0, 1.0), np.float32)


def _lip_colour(
    image_bgr: BgrImage, points_px: npt.NDArray[np.floating], origin: tuple[int, int]
) -> npt.NDArray[np.float32] | None:
    """The median colour (B, G, R) of image_bgr (region-sized) between the mesh's outer and inner lip lines; None when
    the lips cover under 8 pixels."""
    outer = np.rint(points_px[list(OUTER_LIPS), :2] - origin).astype(np.int32)
    inner = np.rint(points_px[list(INNER_LIPS), :2] - origin).astype(np.int32)
    height, width = image_bgr.shape[:2]
    x0, y0 = np.maximum(outer.min(axis=0), 0)
    x1, y1 = np.minimum(outer.max(axis=0) + 1, (width, height))
    if x1 - x0 < 2 or y1 - y0 < 2:
        return None
    ring: np.ndarray = np.zeros((y1 - y0, x1 - x0), np.uint8)
    cv2.fillPoly(ring, [outer - (x0, y0)], 1)
    cv2.fillPoly(ring, [inner - (x0, y0)], 0)
    count = cv2.countNonZero(ring)
    if count < 8:
        return None
    crop = image_bgr[y0:y1, x0:x1]
    # Per channel, the first level that half the ring's pixels reach (a histogram: no copy of the pixels).
    histograms = np.stack([cv2.calcHist([crop], [channel], ring, [256], [0, 256]).ravel() for channel in range(3)])
    # How many levels hold less than half the count (np.searchsorted's answer), for the three channels at once.
    return np.asarray((np.cumsum(histograms, axis=1) < count / 2.0).sum(axis=1), np.float32)


def user_glasses_mask(
    frame_region_bgr: BgrImage, points_px: npt.NDArray[np.floating], origin: tuple[int, int]
) -> Mask | None:
    """Where the user's own glasses frame is, as a region-sized float32 mask in [0, 1]; None when no glasses show.

    frame_region_bgr: the user's frame in the swapped region (before compositing); points_px: the user's 468+ point
    mesh in frame pixels; origin: the region's top-left corner in the frame. Glasses are thin lines (dark or shiny)
    much narrower than GLASSES_LINE_WIDTH of the face width, found with a morphological black-hat and top-hat in a
    band from the brows to below the eyes. The user counts as wearing glasses when the bridge between the eyes holds
    such a line (95th percentile of the line strength there at least GLASSES_BRIDGE_SCORE grey levels: 37-106 on
    the shared clips with glasses, 4-20 without; clear plastic frames can stay below it). The eyes themselves are
    left out, so the target's eyes show through the user's lenses.
    """
    points = np.asarray(points_px[:, :2], np.float64) - origin
    oval = points[list(FACE_OVAL)]
    face_width = float(np.ptp(oval[:, 0]))
    inner_right, inner_left = points[RIGHT_EYE_CORNERS[1]], points[LEFT_EYE_CORNERS[0]]
    eye_gap = float(np.linalg.norm(inner_left - inner_right))
    if face_width < 40.0 or eye_gap < 8.0:
        return None
    height, width = frame_region_bgr.shape[:2]
    kernel = max(3, int(face_width * GLASSES_LINE_WIDTH)) | 1
    element = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel))

    def line_strength(x0: int, y0: int, x1: int, y1: int) -> npt.NDArray[np.uint8]:
        grey = cv2.cvtColor(frame_region_bgr[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
        return np.asarray(
            np.maximum(
                cv2.morphologyEx(grey, cv2.MORPH_BLACKHAT, element), cv2.morphologyEx(grey, cv2.MORPH_TOPHAT, element)
            ),
            np.uint8,
        )

    # First the bridge alone (cheap: most users wear no glasses), with a kernel's margin for the morphology.
    bridge_x, bridge_y = (inner_right + inner_left) / 2.0
    bx0, bx1 = max(0, int(bridge_x - 0.3 * eye_gap)), min(width, int(bridge_x + 0.3 * eye_gap) + 1)
    by0, by1 = max(0, int(bridge_y - 0.45 * eye_gap)), min(height, int(bridge_y + 0.15 * eye_gap) + 1)
    if bx1 - bx0 < 2 or by1 - by0 < 2:
        return None
    px0, py0 = max(0, bx0 - kernel), max(0, by0 - kernel)
    padded = line_strength(px0, py0, min(width, bx1 + kernel), min(height, by1 + kernel))
    bridge = padded[by0 - py0 : by1 - py0, bx0 - px0 : bx1 - px0].ravel()
    rank = int(0.95 * (bridge.size - 1))
    score = float(np.partition(bridge, rank)[rank])  # the 95th percentile
    if score < GLASSES_BRIDGE_SCORE:
        return None
    around_eyes = points[list(RIGHT_EYE + LEFT_EYE + RIGHT_EYEBROW + LEFT_EYEBROW)]
    x0, x1 = max(0, int(oval[:, 0].min()) - 2), min(width, int(oval[:, 0].max()) + 3)
    y0 = max(0, int(around_eyes[:, 1].min() - 0.1 * eye_gap))
    y1 = min(height, int(around_eyes[:, 1].max() + 0.9 * eye_gap))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return None
    lines = line_strength(x0, y0, x1, y1)
    # Lines as strong as the bridge's count fully, faint ones (skin texture, wrinkles) not at all.
    frame_lines = np.clip((lines.astype(np.float32) - 0.5 * score) / (0.3 * score), 0.0, 1.0)
    # Inside the lenses (an ellipse around each eye, well within any rim) are the user's eyes, lids and the
    # wrinkles around them: the target's show there instead.
    lens_insides = np.zeros(lines.shape, np.uint8)
    for corners in (RIGHT_EYE_CORNERS, LEFT_EYE_CORNERS):
        first, second = points[corners[0]] - (x0, y0), points[corners[1]] - (x0, y0)
        eye_width = float(np.linalg.norm(second - first))
        angle = math.degrees(math.atan2(float(second[1] - first[1]), float(second[0] - first[0])))
        centre = (first + second) / 2.0
        axes = (round(LENS_INSIDE[0] * eye_width), round(LENS_INSIDE[1] * eye_width))
        cv2.ellipse(lens_insides, (round(centre[0]), round(centre[1])), axes, angle, 0, 360, 255, -1)
    frame_lines[lens_insides > 0] = 0.0
    mask: Mask = np.zeros((height, width), np.float32)
    mask[y0:y1, x0:x1] = cv2.GaussianBlur(frame_lines, (0, 0), 0.8)
    return mask


def user_beard_cover(
    user_bgr: BgrImage,
    points_px: npt.NDArray[np.floating],
    face_width_px: float,
    feather: float,
    user_hair: npt.NDArray[np.float32],
) -> Mask | None:
    """How much of each pixel of the user's beard to paint over with the drawn face's skin (cover_beard): float32,
    user_bgr-sized (the face region of the user's frame; points_px: their mesh in its pixels); None for a user without
    a full beard.

    The face mask fades out inside the user's outline, and where the photo shows hair over a cheek it lets the
    user's cheek through: a full beard showed there as a dark band along the drawn jaw (a chinstrap on a target
    without a beard) and as patches of stubble on the cheeks. Only for a user whose ring along the outline below the
    nose (the mask's fade, feather × the face size, and half as much again) is mostly beard (user_hair: facial_hair
    on match_colour's grid over the region; BEARD_RING_SHARE): not for stubble, nor for long hair beside a bare jaw.
    Covered are the facial-hair pixels (facial_hair again, finer and from the sideburns down: BEARD_EDGE_LEVELS)
    inside the outline, never around the mouth (BEARD_MOUTH_MARGIN), whose cut shows the user's own lips and teeth.
    Nothing past the outline: read on a sharp photo, a smooth jaw's shading counts as facial hair too, and painting
    past the outline widened such a jaw, or laid a band of skin across a long beard.
    """
    height, width = user_bgr.shape[:2]
    points = np.asarray(points_px[:, :2], np.float64)
    coarse = _Grid.over(width, height)
    ring = _outline_ring(points, coarse, feather)
    ring[: max(0, int(float(points[list(NOSE_WING_SIDES), 1].mean()) / coarse.factor))] = 0.0
    share = float((user_hair * ring).sum()) / max(float(ring.sum()), 1e-6)
    low, high = BEARD_RING_SHARE
    bearded = min(max((share - low) / (high - low), 0.0), 1.0)
    if bearded <= 0.0:
        return None
    grid = _Grid(width, height, BEARD_GRID_FACTOR)
    hair = facial_hair(user_bgr, points, face_width_px, grid, levels=BEARD_EDGE_LEVELS)
    columns, rows = grid.size
    inside: np.ndarray = np.zeros((rows, columns), np.uint8)
    cv2.fillPoly(inside, [_on_grid(points[list(FACE_OVAL)], 1.0 / grid.factor)], 255, lineType=cv2.LINE_AA, shift=4)
    mouth: np.ndarray = np.zeros((rows, columns), np.uint8)
    cv2.fillPoly(mouth, [_on_grid(points[list(OUTER_LIPS)], 1.0 / grid.factor)], 255, lineType=cv2.LINE_AA, shift=4)
    around_mouth = _odd(2.0 * BEARD_MOUTH_MARGIN * face_width_px / grid.factor)
    mouth = cv2.dilate(mouth, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (around_mouth, around_mouth)))
    zone = cv2.subtract(inside, mouth).astype(np.float32) * np.float32(bearded / 255.0)
    return np.asarray(grid.spread(cv2.GaussianBlur(hair * zone, (0, 0), 1.0)), np.float32)


def _outline_ring(points: npt.NDArray[np.float64], grid: _Grid, feather: float) -> npt.NDArray[np.float32]:
    """On `grid` (float32, anti-aliased): 1 inside the face outline (points: the mesh in the grid's image pixels)
    less its core, the outline shrunk by 1.5 × feather × the face size: the ring of the mask's fade and half as much
    again."""
    columns, rows = grid.size
    inside: np.ndarray = np.zeros((rows, columns), np.uint8)
    cv2.fillPoly(inside, [_on_grid(points[list(FACE_OVAL)], 1.0 / grid.factor)], 255, lineType=cv2.LINE_AA, shift=4)
    shrink = _odd(1.5 * feather * float(np.ptp(points[:MESH_POINT_COUNT], axis=0).max()) / grid.factor)
    core = cv2.erode(inside, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (shrink, shrink)))
    return np.asarray(cv2.subtract(inside, core).astype(np.float32) * np.float32(1.0 / 255.0), np.float32)


def _on_grid(points: npt.NDArray[np.floating], scale: float) -> npt.NDArray[np.int32]:
    """Image pixels (N×2) to a grid `scale` times as fine, as cv2's fixed-point polygon (4 fractional bits)."""
    return np.round(((points + 0.5) * scale - 0.5) * 16).astype(np.int32)


def cover_beard(background: BgrImage, cover: Mask, face_bgr: BgrImage, alpha: Mask, face_width_px: float) -> BgrImage:
    """background (the region of the user's frame the face is composited over) with the user's beard (cover:
    user_beard_cover) painted over with the drawn face's skin: a Gaussian average (BEARD_FILL_SIGMA of the face
    width) of face_bgr where alpha is above BEARD_FILL_FROM, carried into the beard. Where the face is drawn whole
    (alpha 1) the paint does not show; where the mask fades or has a hole, skin shows instead of beard."""
    height, width = background.shape[:2]
    sigma_px = BEARD_FILL_SIGMA * face_width_px
    # The skin is smooth: averaged on cells of about half its sigma.
    grid = _Grid(width, height, max(BEARD_GRID_FACTOR, round(sigma_px / 2.0)))
    weight = grid.shrink(alpha)
    weight = np.where(weight > BEARD_FILL_FROM, weight, 0.0).astype(np.float32)
    skin = _weighted_blur(grid.shrink(face_bgr).astype(np.float32), weight, max(0.8, sigma_px / grid.factor))
    skin_bgr = np.clip(grid.spread(skin), 0, 255).astype(np.uint8)
    return np.asarray(cv2.blendLinear(skin_bgr, background, cover, 1.0 - cover), np.uint8)


def _crop_swapped(swapped: SwappedFace, region: Box) -> SwappedFace:
    """The part of a SwappedFace inside `region` (a sub-box of swapped.region)."""
    x0, y0 = region.x0 - swapped.region.x0, region.y0 - swapped.region.y0
    return SwappedFace(
        region=region,
        face_bgr=swapped.face_bgr[y0 : y0 + region.height, x0 : x0 + region.width],
        coverage=swapped.coverage[y0 : y0 + region.height, x0 : x0 + region.width],
    )


def _odd(size: float) -> int:
    """An odd kernel size near `size` (at least 1)."""
    return max(1, int(size)) | 1
