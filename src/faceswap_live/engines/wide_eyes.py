"""An eye opened wider than the photo's, drawn with a round iris and the white of the eye around it.

The mesh warp stretches the photo's eye to the user's lid gap. When the user opens their eyes wide (surprise, fear),
the photo's iris, whose top its upper lid hides, was stretched into a tall oval that filled the whole opening, with no
white above or below it: a strange large eye, not a wide one. As the drawn opening grows taller for its width than the
photo's (WIDE_STRETCH), the inside of each eye is drawn again from the photo by a map that turns, with the opening,
from that stretch into a similarity about the iris (the eye's own width and tilt, no stretch), the iris where the
user's sits across the eye and as large for the eye as the user's: the iris rounds and the white shows above and below
it by geometry, not by one picture fading into another (a double iris half-way, and a change in every frame of a face
holding still). Where the map reaches past the photo's opening (onto the lids and lashes), the hidden part of the iris
takes, ring by ring, the mean colour of the part the photo shows at that distance from its centre (dark rim, lighter
middle, the pupil), and the white takes its colour (the photo's brighter eye pixels, greyed where they are tinted),
darker under the upper lid, where the lid's shadow falls, and towards the lid margin and the corners, where the
eyeball turns away. Made once per photo (wide_eye_models); per frame only while an eye is drawn wider than the
photo's, on a window the size of the eye.
"""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.stages.mesh_topology import (
    CHEEKBONES,
    LANDMARK_COUNT,
    LEFT_EYE,
    LEFT_EYE_CORNERS,
    LEFT_EYE_LIDS,
    LEFT_IRIS_CENTRE,
    RIGHT_EYE,
    RIGHT_EYE_CORNERS,
    RIGHT_EYE_LIDS,
    RIGHT_IRIS_CENTRE,
)
from faceswap_live.types import BgrImage, Box

WIDE_STRETCH: Final = (1.15, 1.45)
"""The drawn eye's opening over the photo's (each over its eye's width) at which the stretched photo eye starts to
turn into the round-iris one, and at which it is round. Below, the stretched photo eye reads right (a blink, a squint,
an eye as open as the photo's)."""
MORPH_FADE_IN: Final = 0.15
"""The redrawn eye fades in over this first part of the way from stretched to round (what the mesh warp draws and
the stretched redraw differ a little: one affine map over the eye against a few triangles); beyond, it changes by
geometry alone."""
LID_SHADOW: Final = 0.35
"""How much darker the filled white is just under the upper lid (fading out over half the way down)."""
OPENING_FEATHER: Final = 0.03
"""Blur of the photo's eye opening (a share of the eye's width): where it shows the white and where the white is
filled blend over a few pixels."""
CORNER_SHADOW: Final = 0.15
"""How much darker the filled white is at the eye's corners, where the eyeball turns away."""
RIM_SHADOW: Final = 0.5
RIM_SHADOW_WIDTH: Final = 0.15
"""The filled white darkens towards the lid margin all round (RIM_SHADOW × (1 − the outline blurred by this share of
the eye's width)): a flat white up to the lids read as painted on, and its hard edge changed with every pixel the lids
moved (flicker on a face holding still)."""
EDGE_FEATHER_PX: Final = 0.7
"""Blur of the redrawn eye's outline (drawn pixels)."""
OPENING_INSET: Final = 0.03
"""The photo's eye opening counts as seen only this far (a share of the eye's width) inside its outline: the outline
itself runs along the lash line."""
SCLERA_BRIGHT_SHARE: Final = 0.25
"""The white's colour: the median of this brightest share of the photo's eye pixels outside the iris."""
MIN_IRIS_SHOWN: Final = 0.5
"""An eye is redrawn only if the photo shows at least half of its iris inside the eye's outline: 0.46-0.98 on the
shared portraits. A shut eye shows next to none; eyes narrowed to slits in a laugh (p21_2: 0.46), in the shade of
their sockets, redrawn open on a user at rest stared out as a dark disc in a bright white. Drawn as photographed,
stretched, they read as the photo's squint."""
IRIS_RINGS: Final = 8
"""Rings the iris's colour is measured in, from its centre out (the pupil, the iris, its darker rim)."""
IRIS_MARGIN: Final = 1.1
"""Pixels within this many iris radii of the iris centre count as iris (not white) in the photo."""
SCLERA_TINT: Final = (0.15, 0.3)
"""The white's colour is greyed (kept as bright) from this saturation ((max - min) / max of its channels), fully from
the second: on the shared portraits that show their whites, 0.03-0.15 (a photo's own colour cast included); where
lids, liner or shade were most of what was measured, 0.2-0.43."""
SCLERA_MIN_BRIGHTNESS: Final = 0.85
"""The white is at least this bright against the cheeks (the brightest channel's median at the cheekbones): an eye in
its lids' shadow measured dark grey, and a drawn wide eye is lit."""
FALLBACK_SCLERA_BGR: Final = (205.0, 208.0, 215.0)
"""The white's colour for a photo whose eye shows too little of it (a squint)."""
_EYES: Final = (
    (RIGHT_EYE, RIGHT_EYE_CORNERS, RIGHT_EYE_LIDS, RIGHT_IRIS_CENTRE),
    (LEFT_EYE, LEFT_EYE_CORNERS, LEFT_EYE_LIDS, LEFT_IRIS_CENTRE),
)


@dataclass(frozen=True, slots=True)
class WideEyeModel:
    """What one eye of a photo is drawn wide from (photo pixels at full size)."""

    iris_centre: npt.NDArray[np.float64]  # 2
    iris_radius: float
    opening: float
    """The photo's lid gap over its eye's width."""
    iris_in_gap: float
    """How far the iris centre sits from the middle of the lids, across the eye, in lid gaps (downwards +)."""
    axis: npt.NDArray[np.float64]  # 2: from one eye corner to the other
    opening_mask: npt.NDArray[np.float32]
    """1 inside the photo's eye opening clear of its lid's edge (OPENING_INSET), fading to 0 (OPENING_FEATHER), over
    mask_origin's box."""
    mask_origin: tuple[int, int]
    sclera_bgr: npt.NDArray[np.float32]  # 3
    iris_rings: npt.NDArray[np.float32]
    """IRIS_RINGS × 3: the mean colour of the iris the photo shows in each ring, from the centre out."""


def wide_eye_models(image_bgr: BgrImage, points_px: npt.NDArray[np.floating]) -> tuple[WideEyeModel, ...] | None:
    """Per eye (the person's right, then left), what it is drawn wide from; None for a mesh without irises or an eye
    too small to measure."""
    points = np.asarray(points_px, np.float64)
    if points.shape[0] < LANDMARK_COUNT:
        return None
    models = []
    whites = []
    fallback = np.asarray(FALLBACK_SCLERA_BGR, np.float32)
    height, width = image_bgr.shape[:2]
    for contour, corners, lids, iris in _EYES:
        axis = points[corners[1], :2] - points[corners[0], :2]
        eye_width = float(np.linalg.norm(axis))
        if eye_width < 4.0:
            return None
        centre = points[iris, :2]
        radius = float(np.mean(np.linalg.norm(points[iris + 1 : iris + 5, :2] - centre, axis=1)))
        outline = points[list(contour), :2]
        box = Box.around(outline).grown(2).clipped(width, height)
        if box.width < 2 or box.height < 2:
            return None
        mask = np.zeros((box.height, box.width), np.uint8)
        cv2.fillPoly(mask, [np.round((outline - (box.x0, box.y0)) * 16).astype(np.int32)], 255, cv2.LINE_8, shift=4)
        inset = max(1, round(OPENING_INSET * eye_width))
        clear = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * inset + 1, 2 * inset + 1)))
        inside = clear > 0
        pixels = image_bgr[box.y0 : box.y1, box.x0 : box.x1][inside].astype(np.float32)
        ys, xs = np.nonzero(inside)
        from_iris = np.hypot(xs + box.x0 - centre[0], ys + box.y0 - centre[1])
        # A photo with its eyes shut or narrowed to slits shows too little iris to draw a round one from: it is drawn
        # as photographed, stretched (the app already suggests a photo with open eyes).
        iris_area = math.pi * max(radius, 1.0) ** 2
        if np.count_nonzero(mask[_disk(mask.shape, centre - (box.x0, box.y0), radius)]) < MIN_IRIS_SHOWN * iris_area:
            return None
        white = pixels[from_iris > IRIS_MARGIN * radius]
        whites.append(white)
        rings = _ring_colours(pixels, from_iris / max(radius, 1.0), np.float32(0.4) * fallback)
        gap = float(np.linalg.norm(points[lids[1], :2] - points[lids[0], :2]))
        normal = np.array([-axis[1], axis[0]]) / eye_width
        lid_middle = (points[lids[0], :2] + points[lids[1], :2]) / 2.0
        models.append(
            WideEyeModel(
                iris_centre=centre,
                iris_radius=max(radius, 1.0),
                opening=gap / eye_width,
                iris_in_gap=float((centre - lid_middle) @ normal) / max(gap, 1.0),
                axis=axis,
                opening_mask=np.asarray(
                    cv2.GaussianBlur(clear.astype(np.float32) / 255.0, (0, 0), max(0.7, OPENING_FEATHER * eye_width)),
                    np.float32,
                ),
                mask_origin=(box.x0, box.y0),
                sclera_bgr=fallback,
                iris_rings=rings,
            )
        )
    # One white for both eyes, from both: an eye that shows little of its white (a squint, a lid's shadow) would
    # give a grey one, and the two eyes would differ.
    white = np.concatenate(whites)
    if len(white) >= 8:
        brightness = white.mean(axis=1)
        sclera = np.median(white[brightness >= np.quantile(brightness, 1.0 - SCLERA_BRIGHT_SHARE)], axis=0)
        # Mostly lid, liner or shade where the eye shows little white: a tinted colour turns grey, and a dark one
        # (the lids' shadow) is lifted towards the cheeks' brightness.
        cheeks = np.clip(np.rint(points[list(CHEEKBONES), :2]).astype(np.int64), 0, [width - 1, height - 1])
        cheek_brightness = float(np.median(image_bgr[cheeks[:, 1], cheeks[:, 0]].max(axis=1)))
        sclera = sclera * max(1.0, SCLERA_MIN_BRIGHTNESS * cheek_brightness / max(float(sclera.max()), 1.0))
        top = min(float(sclera.max()), 255.0)
        tint = (top - float(sclera.min())) / max(top, 1.0)
        grey = top * np.asarray(FALLBACK_SCLERA_BGR, np.float32) / max(FALLBACK_SCLERA_BGR)
        greying = min(max((tint - SCLERA_TINT[0]) / (SCLERA_TINT[1] - SCLERA_TINT[0]), 0.0), 1.0)
        sclera = np.minimum((1.0 - greying) * sclera + greying * grey, 255.0)
        models = [dataclasses.replace(model, sclera_bgr=np.asarray(sclera, np.float32)) for model in models]
    return tuple(models)


def _disk(shape: tuple[int, ...], centre: npt.NDArray[np.float64], radius: float) -> npt.NDArray[np.bool_]:
    """shape[:2] bool: the pixels within radius of centre (x, y)."""
    ys, xs = np.ogrid[: shape[0], : shape[1]]
    return np.asarray((xs - centre[0]) ** 2 + (ys - centre[1]) ** 2 <= radius * radius, np.bool_)


def _ring_colours(
    pixels: npt.NDArray[np.float32], from_centre: npt.NDArray[np.float64], fallback: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """IRIS_RINGS × 3: the mean colour of pixels (N×3) in each ring of the iris (from_centre: each pixel's distance
    from its centre in iris radii); a ring the photo does not show takes the nearest shown ring's, fallback without."""
    index = np.floor(from_centre * IRIS_RINGS).astype(np.int64)
    inside = index < IRIS_RINGS
    totals = np.zeros((IRIS_RINGS, 3), np.float64)
    np.add.at(totals, index[inside], pixels[inside])
    counts = np.bincount(index[inside], minlength=IRIS_RINGS)
    shown = np.flatnonzero(counts > 0)
    if len(shown) == 0:
        return np.tile(fallback, (IRIS_RINGS, 1)).astype(np.float32)
    colours = totals[shown] / counts[shown, None]
    nearest = shown[np.abs(np.arange(IRIS_RINGS)[:, None] - shown[None, :]).argmin(axis=1)]
    return np.asarray(colours[np.searchsorted(shown, nearest)], np.float32)


def iris_sizes(points_px: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """Per eye (right, left) of a 478-point mesh, the iris's radius over the eye's width (corner to corner)."""
    points = np.asarray(points_px, np.float64)[:, :2]
    sizes = []
    for _, corners, _, iris in _EYES:
        radius = np.mean(np.linalg.norm(points[iris + 1 : iris + 5] - points[iris], axis=1))
        sizes.append(float(radius) / max(float(np.linalg.norm(points[corners[1]] - points[corners[0]])), 1e-6))
    return np.asarray(sizes, np.float64)


def wide_share(model: WideEyeModel, drawn_points_px: npt.NDArray[np.floating], eye: int) -> float:
    """How much of the round-iris eye to draw for eye (0 right, 1 left) at its drawn opening: 0 up to WIDE_STRETCH[0]
    of the photo's opening, 1 from WIDE_STRETCH[1]."""
    _, corners, lids, _ = _EYES[eye]
    points = np.asarray(drawn_points_px, np.float64)
    eye_width = float(np.linalg.norm(points[corners[1], :2] - points[corners[0], :2]))
    gap = float(np.linalg.norm(points[lids[1], :2] - points[lids[0], :2]))
    if eye_width < 2.0 or model.opening <= 1e-6:
        return 0.0
    stretch = gap / eye_width / model.opening
    low, high = WIDE_STRETCH
    ramp = min(max((stretch - low) / (high - low), 0.0), 1.0)
    return ramp * ramp * (3.0 - 2.0 * ramp)


def with_wide_eyes(
    texture_bgra: npt.NDArray[np.uint8],
    photo_bgra: npt.NDArray[np.uint8],
    level_factor: float,
    models: tuple[WideEyeModel, ...],
    drawn_points_px: npt.NDArray[np.floating],
    region: Box,
    irises: npt.NDArray[np.float64],
) -> npt.NDArray[np.uint8]:
    """texture_bgra (region-sized, the photo warped onto the drawn mesh) with each eye drawn wider than the photo's
    redrawn with a round iris (see the module docstring); texture_bgra itself when neither eye is.

    photo_bgra: the pyramid level drawn from, level_factor: its size over the photo's (1, 1/2, ...);
    drawn_points_px: where the photo's mesh points are drawn (frame pixels);
    irises: per eye (right, left) where the drawn iris sits, along the eye and across it, in eye widths from the
    middle of its corners (as stages.expression.iris_offsets measures them), and its radius in eye widths."""
    shares = [wide_share(model, drawn_points_px, eye) for eye, model in enumerate(models)]
    if max(shares) <= 0.0:
        return texture_bgra
    result = texture_bgra.copy()
    drawn = np.asarray(drawn_points_px, np.float64)[:, :2] - (region.x0, region.y0)
    for eye, (model, share) in enumerate(zip(models, shares, strict=True)):
        if share > 0.0:
            _redraw_eye(result, photo_bgra, level_factor, model, eye, drawn, share, irises[eye])
    return result


def _redraw_eye(
    texture: npt.NDArray[np.uint8],
    photo_bgra: npt.NDArray[np.uint8],
    level_factor: float,
    model: WideEyeModel,
    eye: int,
    drawn: npt.NDArray[np.float64],
    share: float,
    iris: npt.NDArray[np.float64],
) -> None:
    """One eye of texture (in place), redrawn share of the way from the photo's eye stretched to the drawn lids to its
    round iris at iris (along, across, radius)."""
    contour, corners, lids, _ = _EYES[eye]
    outline = drawn[list(contour)]
    height, width = texture.shape[:2]
    window = Box.around(outline).grown(1).clipped(width, height)
    if window.width < 3 or window.height < 3:
        return
    x0, y0 = window.x0, window.y0
    inside = np.zeros((window.height, window.width), np.float32)
    cv2.fillPoly(inside, [np.round((outline - (x0, y0)) * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)
    outline_mask = inside
    inside = np.asarray(cv2.GaussianBlur(inside, (0, 0), EDGE_FEATHER_PX), np.float32)  # a soft lid edge
    drawn_axis = drawn[corners[1]] - drawn[corners[0]]
    normal = np.array([-drawn_axis[1], drawn_axis[0]])  # across the eye, downwards for an upright face
    eye_middle = (drawn[corners[0]] + drawn[corners[1]]) / 2.0
    drawn_width = max(float(np.linalg.norm(drawn_axis)), 1e-6)
    photo_width = max(float(np.linalg.norm(model.axis)), 1e-6)
    upper, lower = drawn[lids[0]], drawn[lids[1]]
    drawn_gap = max(float(np.linalg.norm(lower - upper)), 1e-6)
    # From the photo's eye stretched to the drawn lid gap (share 0: what the mesh warp draws) to the photo's eye
    # by a similarity about the iris, as large for the eye as the user's (share 1: the white shows where the user's
    # does), the map changes by geometry: the iris rounds and moves to the user's across the eye as the eye opens,
    # rather than one picture fading into another (which, on a face holding still, changed every frame).
    stretched_across = ((lower + upper) / 2.0 - eye_middle) @ normal / drawn_width**2 + model.iris_in_gap * (
        drawn_gap / drawn_width
    )
    across_at = stretched_across + share * (float(iris[1]) - stretched_across)
    drawn_centre = eye_middle + iris[0] * drawn_axis + across_at * normal
    round_scale = model.iris_radius / max(float(iris[2]) * drawn_width, 1e-6)
    along_scale = photo_width / drawn_width + share * (round_scale - photo_width / drawn_width)
    across_scale = model.opening * photo_width / drawn_gap + share * (
        round_scale - model.opening * photo_width / drawn_gap
    )
    # All of it is affine in the pixel's position, so it is built from a row and a column (float32, as cv2.remap
    # takes it): where each drawn pixel lands along and across the photo's eye from its iris centre (photo pixels).
    columns = np.arange(window.x0, window.x1, dtype=np.float32)
    rows = np.arange(window.y0, window.y1, dtype=np.float32)
    unit_d = drawn_axis / drawn_width
    along = _plane(columns, rows, drawn_centre, along_scale * unit_d)
    across_photo = _plane(columns, rows, drawn_centre, across_scale * np.array([-unit_d[1], unit_d[0]]))
    unit = model.axis / photo_width
    centre_x, centre_y = model.iris_centre
    seen_x = np.float32(centre_x) + along * np.float32(unit[0]) - across_photo * np.float32(unit[1])
    seen_y = np.float32(centre_y) + along * np.float32(unit[1]) + across_photo * np.float32(unit[0])
    scale = max(along_scale, across_scale)
    # Stretched, the photo's lash line is drawn at the drawn one (the band just inside the photo's outline counts
    # as seen); as the eye rounds, that band is filled too. Well outside the photo's opening it is filled at any share.
    seen = np.power(_seen(model, seen_x, seen_y), np.float32(share))[:, :, None]
    colour = _sample(photo_bgra, level_factor, seen_x, seen_y)
    # Iris or white, with an edge a drawn pixel wide.
    from_centre = np.sqrt(along * along + across_photo * across_photo)
    iris_weight = np.clip((np.float32(model.iris_radius) - from_centre) / np.float32(scale) + 0.5, 0, 1)
    # The white, darker under the upper lid (across the eye: -1 on the upper lid's middle, 1 on the lower's) and
    # towards the corners, where the eyeball turns away (along the eye: -1 and 1 at the corners).
    lid_axis = lower - upper
    lid_middle = (upper + lower) / 2.0
    across = _plane(columns, rows, lid_middle, lid_axis * (2.0 / max(float(lid_axis @ lid_axis), 1e-6)))
    along_eye = _plane(columns, rows, eye_middle, drawn_axis * (2.0 / (drawn_width * drawn_width)))
    # ... and along the whole lid margin, where the eyeball curves away under the lids (the outline blurred: 1/2 on
    # it, 1 well inside).
    rim = cv2.GaussianBlur(
        outline_mask, (0, 0), max(0.7, RIM_SHADOW_WIDTH * drawn_width), borderType=cv2.BORDER_CONSTANT
    )
    shadow = (
        (1.0 - LID_SHADOW * np.clip(-across, 0.0, 1.0) ** 3)
        * (1.0 - CORNER_SHADOW * np.minimum(along_eye * along_eye, 1.0))
        * (1.0 - RIM_SHADOW * (1.0 - rim))
    )
    white = shadow[:, :, None] * model.sclera_bgr[None, None, :]
    iris_weight = iris_weight[:, :, None]
    # The hidden iris, ring by ring; between two rings' middles their colours blend.
    ring = np.clip(from_centre * np.float32(IRIS_RINGS / model.iris_radius) - 0.5, 0.0, IRIS_RINGS - 1.0)
    inner = np.minimum(ring.astype(np.int32), IRIS_RINGS - 2)
    outward = (ring - inner)[:, :, None]
    iris_fill = (1.0 - outward) * model.iris_rings[inner] + outward * model.iris_rings[inner + 1]
    hidden = iris_weight * iris_fill + (1.0 - iris_weight) * white
    redrawn = seen * colour + (1.0 - seen) * hidden
    current = texture[y0 : window.y1, x0 : window.x1]
    weight = (inside * np.float32(min(share / MORPH_FADE_IN, 1.0)))[:, :, None]
    blended = current[:, :, :3].astype(np.float32)
    blended += weight * (redrawn - blended)
    current[:, :, :3] = cv2.convertScaleAbs(blended)  # rounded and saturated, in one pass


def _plane(
    columns: npt.NDArray[np.float32],
    rows: npt.NDArray[np.float32],
    origin: npt.NDArray[np.float64],
    gradient: npt.NDArray[np.float64],
) -> npt.NDArray[np.float32]:
    """rows × columns float32: gradient · ((column, row) - origin) at each pixel."""
    return (
        np.float32(gradient[0]) * (columns - np.float32(origin[0]))[None, :]
        + np.float32(gradient[1]) * (rows - np.float32(origin[1]))[:, None]
    )


def _seen(model: WideEyeModel, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """How much each photo pixel (full size) lies inside the photo's eye opening (0-1, soft at the edge)."""
    map_x = x - np.float32(model.mask_origin[0])
    map_y = y - np.float32(model.mask_origin[1])
    seen = cv2.remap(model.opening_mask, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_CONSTANT, borderValue=0)
    return np.asarray(seen, np.float32)


def _sample(
    photo_bgra: npt.NDArray[np.uint8], level_factor: float, x: npt.NDArray[np.float32], y: npt.NDArray[np.float32]
) -> npt.NDArray[np.float32]:
    """The level's colour (BGR, float32) at photo pixels (full size) x, y."""
    # pyrDown halves the size; pixel centres map as x_half = (x + 0.5) / 2 - 0.5.
    factor = np.float32(level_factor)
    map_x = (x + np.float32(0.5)) * factor - np.float32(0.5)
    map_y = (y + np.float32(0.5)) * factor - np.float32(0.5)
    sampled = cv2.remap(photo_bgra, map_x, map_y, cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE)
    return np.asarray(sampled[:, :, :3], np.float32)
