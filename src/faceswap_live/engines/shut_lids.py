"""A shutting eye drawn with the user's own lid, in the target's colours.

Drawn shut from the target photo, an eye is the photo's open eye squeezed: its lashes, liner and eye shadow stretched
over the closed lid as a brush of dark streaks (the longer and darker the photo's lashes, the worse; reading the lid
from higher up the photo, mesh_swapper.SHUT_LID_SKIN_SHARE, helps only on short lashes). A closed lid is skin with a
lash line along its edge, and the user's own is right there in the frame: as an eye shuts, its lid (from the lash line
up to the brow, the closed gap with its lash line included) is taken from the user's frame, moved onto the drawn eye by
the affine that best fits the user's lid and eye points onto the drawn ones, and recoloured to the drawn face: its
brightness times that of the skin around it, drawn over the user's, its colour shifted by their difference (what is
darker than the skin, in proportion to its brightness), at the scale LID_LIGHT_SIGMA (the target's skin tone and eye
shadow, never its squeezed lashes; the user's lash line, lid crease and the light on the lid), blended in as the eye
shuts (whole from half-way). Only while an eye shuts; an open eye is the target's. A user in glasses keeps the photo's
lid, smoothed along the eye (the streaks of its squeezed lashes run across it): the glasses' frame crosses the lid, and
a copy of it moved with the lid showed as a second rim.
"""

from __future__ import annotations

import math
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.stages.blend import user_glasses_mask
from faceswap_live.stages.mesh_topology import (
    LEFT_EYE,
    LEFT_EYE_ABOVE_UPPER,
    LEFT_EYEBROW,
    RIGHT_EYE,
    RIGHT_EYE_ABOVE_UPPER,
    RIGHT_EYEBROW,
)
from faceswap_live.types import BgrImage, Box

LID_COLOUR_SIGMA: Final = 0.03
"""Gaussian, as a share of the face size, of the blur along the eye that smooths the photo's lid for a user in
glasses, and the lid's working margin."""
LID_LIGHT_SIGMA: Final = 0.09
"""The user's lid is brightened by the drawn skin's brightness over the user's and shifted by their colours' difference,
each skin colour a weighted Gaussian mean of this share of the face size: the lid keeps the user's light and shading up
to this scale (a closed lid lit on its curve, darker in its crease and its socket) and takes the target's tone. Taking
the drawn face's own colours below 0.03 of the face made every closed lid one flat patch of the photo's squeezed eye
socket (the lid's brightness from lash line to brow followed the user's at r 0.02 over ten shut eyes, now 0.63)."""
LID_OWN_COLOUR: Final = 0.3
"""How much the lid's own colours count in its skin colour (against the skin around it)."""
LID_FEATHER: Final = 0.015
"""Blur of the lid's edge, as a share of the face size; the lid reaches this far below the drawn lower lash line."""
LID_WEIGHT_GAIN: Final = 2.0
"""The user's lid is drawn fully from half-way shut (this × how far shut): blended half and half with the photo's eye
squeezed into a slit, it showed that eye's lashes and stepped lash line through the lid."""
LASH_DARKNESS: Final = (0.45, 0.7)
"""Pixels (drawn or the user's) darker than the first share of the skin around the eye (its median brightness) count
for nothing in its skin colour, from the second they count fully: lashes, liner and brow hairs are dark, eye shadow and
skin are not."""
LID_FILL_REACH: Final = 4.0
LID_FILL_SHARE: Final = np.float32(0.05)
"""The skin colours are also taken from this many times LID_LIGHT_SIGMA away, at this weight: they decide only
where nothing near counts."""
_CHANNEL_MEAN: Final = np.full((1, 3), 1.0 / 3.0, np.float32)
"""cv2.transform matrix: an image's brightness as the mean of its channels."""
_LIDS: Final = (
    (RIGHT_EYE, RIGHT_EYE_ABOVE_UPPER, RIGHT_EYEBROW),
    (LEFT_EYE, LEFT_EYE_ABOVE_UPPER, LEFT_EYEBROW),
)
"""Per eye (the person's right, then left): its contour, the ring above its upper lid and the brow (its upper edge,
then its lower edge: mesh_topology)."""


def with_user_lids(
    face_bgr: BgrImage,
    frame_bgr: BgrImage,
    region: Box,
    user_points_px: npt.NDArray[np.floating],
    drawn_points_px: npt.NDArray[np.floating],
    shut: tuple[float, float],
    face_size_px: float,
) -> BgrImage:
    """face_bgr (region-sized, drawn) with each shutting eye's lid taken from the user's frame (see the module
    docstring); shut: per eye (right, left) the share of the user's lid gap drawn (1 open, 0 shut). face_bgr itself
    when both eyes are open. For a user in glasses the photo's own lid is smoothed along the eye instead: their frame
    crosses the lid, and a copy of it moved onto the drawn eye showed beside the frame itself (which blend_face draws
    where it is)."""
    if min(shut) >= 1.0:
        return face_bgr
    source = frame_bgr[region.y0 : region.y1, region.x0 : region.x1]
    in_glasses = user_glasses_mask(source, np.asarray(user_points_px), (region.x0, region.y0)) is not None
    result = face_bgr.copy()
    origin = np.array([region.x0, region.y0], np.float64)
    sigma = max(1.0, LID_COLOUR_SIGMA * face_size_px)
    for (eye, above, brow), scale in zip(_LIDS, shut, strict=True):
        weight = min(1.0, LID_WEIGHT_GAIN * (1.0 - scale))
        if weight <= 0.0:
            continue
        indices = [*eye, *above, *brow]
        drawn = np.asarray(drawn_points_px, np.float64)[indices, :2] - origin
        window = Box.around(drawn).grown(math.ceil(2.0 * sigma) + 2).clipped(region.width, region.height)
        x0, y0, x1, y1 = window.x0, window.y0, window.x1, window.y1
        if x1 - x0 < 4 or y1 - y0 < 4:
            continue
        drawn_window = result[y0:y1, x0:x1].astype(np.float32)
        drawn = drawn - (x0, y0)
        lid = np.zeros((y1 - y0, x1 - x0), np.float32)
        polygon = _lid_polygon(drawn, len(eye), len(above), LID_FEATHER * face_size_px)
        cv2.fillPoly(lid, [np.round(polygon * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
        if in_glasses:  # the squeezed lashes' streaks run across the eye: a blur along it leaves the lash line
            fill = np.asarray(cv2.GaussianBlur(drawn_window, (0, 0), sigmaX=sigma, sigmaY=0.5), np.float32)
        else:
            user = np.asarray(user_points_px, np.float64)[indices, :2] - origin
            brow_hull = np.asarray(
                cv2.convexHull(np.round(drawn[len(eye) + len(above) :] * 16).astype(np.int32)), np.int32
            )
            fill = _user_lid(source, drawn, user, drawn_window, lid, brow_hull, LID_LIGHT_SIGMA * face_size_px)
        mask = cv2.GaussianBlur(lid, (0, 0), max(0.5, LID_FEATHER * face_size_px)) * np.float32(weight)
        blended = drawn_window + mask[:, :, None] * (fill - drawn_window)
        result[y0:y1, x0:x1] = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return result


def _user_lid(
    source: BgrImage,
    drawn: npt.NDArray[np.float64],
    user: npt.NDArray[np.float64],
    drawn_window: npt.NDArray[np.float32],
    lid: npt.NDArray[np.float32],
    brow_hull: npt.NDArray[np.int32],
    sigma: float,
) -> npt.NDArray[np.float32]:
    """The user's lid from source (the frame's region) over drawn_window, moved by the affine that takes the drawn
    points (window pixels) onto the user's (region pixels), in the drawn skin's light and colour (their weighted
    Gaussian means of sigma, see LID_LIGHT_SIGMA): the skin around the lid counts and, less (LID_OWN_COLOUR), the lid
    itself (the photo's eye shadow, and its squeezed lashes that would darken it), never the brow (brow_hull, 16×
    fixed point)."""
    design = np.hstack([drawn, np.ones((drawn.shape[0], 1))])
    solution, *_ = np.linalg.lstsq(design, user, rcond=None)
    height, width = lid.shape
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    user_lid = np.asarray(
        cv2.warpAffine(
            source, np.ascontiguousarray(solution.T), (width, height), flags=flags, borderMode=cv2.BORDER_REPLICATE
        ),
        np.float32,
    )
    around = np.float32(1.0) - np.float32(1.0 - LID_OWN_COLOUR) * lid
    cv2.fillConvexPoly(around, brow_hull, 0.0, cv2.LINE_AA, shift=4)
    drawn_colour = _skin_colour(drawn_window, around, sigma)
    user_colour = _skin_colour(user_lid, around, sigma)
    # Brightness as one gain for the three channels, colour as an offset: per-channel gains turned the lash line of a
    # user's wink dark red under a target redder than the user.
    gain = cv2.transform(drawn_colour, _CHANNEL_MEAN) / np.maximum(cv2.transform(user_colour, _CHANNEL_MEAN), 1.0)
    lit = user_lid * gain[:, :, None]
    offset = drawn_colour - user_colour * gain[:, :, None]
    # The offset's colour part is a colour cast (the user's skin tone to the target's), and a cast scales with how
    # much light a surface sends back: added whole to the lash line, a target cooler than the user drew every wink
    # as a navy band. What is darker than the drawn skin takes it in proportion to its brightness (as in blend).
    colour = offset - cv2.transform(offset, _CHANNEL_MEAN)[:, :, None]
    skin_brightness = np.maximum(cv2.transform(drawn_colour, _CHANNEL_MEAN), 1.0)
    unlit = np.maximum(1.0 - cv2.transform(lit, _CHANNEL_MEAN) / skin_brightness, 0.0)
    offset -= colour * unlit[:, :, None]
    return np.asarray(lit + offset, np.float32)


def _skin_colour(
    image: npt.NDArray[np.float32], around: npt.NDArray[np.float32], sigma: float
) -> npt.NDArray[np.float32]:
    """Per pixel, the Gaussian (sigma) mean colour of image's skin: weighted by around, and only where a pixel is
    not much darker than the skin's median (the photo's squeezed lashes, liner and brow hairs, and the user's, turned
    a closed lid into a dark brown smudge)."""
    luminance = cv2.transform(image, _CHANNEL_MEAN)
    skin = around > 0.9
    reference = max(float(np.median(luminance[skin])) if skin.any() else float(luminance.mean()), 1.0)
    low, high = LASH_DARKNESS
    weights = around * np.clip((luminance / np.float32(reference) - low) / (high - low), 0.0, 1.0)
    # Far from any pixel that counts, the colours of the skin farther around (LID_FILL_REACH), rather than the noise
    # of dividing next to nothing by next to nothing. The weights ride as a fourth channel: one blur per scale.
    weighted = np.dstack([image * weights[:, :, None], weights])
    blurred = _coarse_blur(weighted, sigma) + LID_FILL_SHARE * _coarse_blur(weighted, LID_FILL_REACH * sigma)
    return np.asarray(blurred[:, :, :3] / np.maximum(blurred[:, :, 3:], np.float32(1e-4)), np.float32)


def _lid_polygon(
    points: npt.NDArray[np.float64], eye_count: int, above_count: int, below_px: float
) -> npt.NDArray[np.float64]:
    """The lid from the lower lash line up to the brow: the lower lid contour (the closed eye contour's second half,
    from the first corner), moved below_px down across the eye, then the brow's lower edge back from the end nearer
    the contour's last point. points: eye, ring above, brow (in order).

    The whole opening is covered, and a little below it: drawn shut, the photo's eye squeezed into the closed gap
    left a stair-stepped dark line along the lid (a few pixel rows of lashes and iris) where the user's closed lids
    show one soft lash line."""
    lower = points[[0, *range(eye_count - 1, eye_count // 2 - 1, -1)]]
    brow_points = points[eye_count + above_count :]
    brow = brow_points[len(brow_points) // 2 :]  # the lower edge
    axis = lower[-1] - lower[0]
    down = np.array([-axis[1], axis[0]]) / max(float(np.linalg.norm(axis)), 1e-6)
    if float((brow.mean(axis=0) - lower.mean(axis=0)) @ down) > 0.0:  # across the eye, away from the brow
        down = -down
    lower = lower + below_px * down
    if np.linalg.norm(brow[0] - lower[-1]) > np.linalg.norm(brow[-1] - lower[-1]):
        brow = brow[::-1]
    return np.concatenate([lower, brow])


def _coarse_blur(image: npt.NDArray[np.float32], sigma_px: float) -> npt.NDArray[np.float32]:
    """A Gaussian blur of sigma_px, on the image reduced so that sigma is 2.5 of its pixels (what is left is smooth:
    a tenth of the full-size blur's time)."""
    height, width = image.shape[:2]
    factor = max(1.0, sigma_px / 2.5)
    small_size = (max(2, round(width / factor)), max(2, round(height / factor)))
    small = cv2.resize(image, small_size, interpolation=cv2.INTER_AREA)
    blurred = cv2.GaussianBlur(small, (0, 0), max(0.5, sigma_px / factor))
    return np.asarray(cv2.resize(blurred, (width, height), interpolation=cv2.INTER_LINEAR), np.float32)
