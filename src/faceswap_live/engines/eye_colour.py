"""A target photo's eyes white-balanced by their whites, so a tinted photo's eyes do not glow in the user's light.

Blend keeps the drawn eyes' own colours (match_colour's keep_colour_in): the shift that turns the photo's skin tone into
the user's would turn blue irises olive. But that keeps the photo's colour cast in the eyes too: a sepia film still's
eyes stayed orange in a neutrally lit face, a warm photo's whites beige. Made once per photo (balance_eye_whites): the
whites of the eyes (inside the lid lines, outside the irises, the brighter half) are near-grey in every light, so where
their colour departs from what the whites of the shared portraits show (TYPICAL_WHITE_CHROMA) by more than
WHITE_DEPARTURE, the eyes are given the per-channel gains that bring them back, at the same brightness. Only where
the whites can be read: enough of them, and as bright as the cheek at least by WHITE_BRIGHTNESS_MIN (narrowed or
shaded eyes show their lids' skin instead).
"""

from __future__ import annotations

import math
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.stages.mesh_topology import (
    CHEEKBONES,
    FACE_OVAL,
    LANDMARK_COUNT,
    LEFT_EYE,
    LEFT_IRIS_CENTRE,
    RIGHT_EYE,
    RIGHT_IRIS_CENTRE,
)
from faceswap_live.types import BgrImage

TYPICAL_WHITE_CHROMA: Final = (0.309, 0.320, 0.372)
"""B, G, R shares of the eye whites' mean colour: the median over the shared portraits of the even-numbered people
whose whites can be read (16 photos; the odd-numbered 27 give 0.307, 0.324, 0.372)."""
WHITE_DEPARTURE: Final = (0.02, 0.05)
"""The whites' largest channel-share departure from TYPICAL_WHITE_CHROMA at which the balance starts, and at which it
is whole: 43 portraits' whites read within 0.02, a warm photo's 0.04, a sepia still's 0.10."""
WHITE_BRIGHTNESS_MIN: Final = 0.8
"""The whites' brightness over the cheeks' below which they are taken for shaded or narrowed (lid skin)."""
WHITE_PIXELS_MIN: Final = 12
GAIN_LIMITS: Final = (0.7, 1.4)
EYE_GROW: Final = 0.01
"""The eyes are balanced out to this share of the face width beyond the lid lines, feathered as far again."""


def balance_eye_whites(image_bgr: BgrImage, points_px: npt.NDArray[np.floating]) -> BgrImage:
    """image_bgr with its eyes white-balanced by their whites (a new image), or image_bgr itself where the whites
    are as usual or cannot be read. points_px: the photo's 478 landmarks (x, y in pixels; iris points needed)."""
    points = np.asarray(points_px, np.float64)[:, :2]
    if len(points) < LANDMARK_COUNT:
        return image_bgr
    gains = _white_gains(image_bgr, points)
    if gains is None:
        return image_bgr
    face_width = float(np.ptp(points[list(FACE_OVAL), 0]))
    grow = max(1.0, EYE_GROW * face_width)
    eyes = np.vstack([points[list(RIGHT_EYE)], points[list(LEFT_EYE)]])
    height, width = image_bgr.shape[:2]
    x0, y0 = np.maximum(np.floor(eyes.min(axis=0) - 4 * grow), 0).astype(int)
    x1 = int(min(np.ceil(eyes[:, 0].max() + 4 * grow), width))
    y1 = int(min(np.ceil(eyes[:, 1].max() + 4 * grow), height))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return image_bgr
    weight = np.zeros((y1 - y0, x1 - x0), np.float32)
    for eye in (RIGHT_EYE, LEFT_EYE):
        corners = np.round((points[list(eye)] - (x0, y0)) * 16).astype(np.int32)
        cv2.fillPoly(weight, [corners], 1.0, cv2.LINE_AA, shift=4)
    size = 2 * round(grow) + 1
    weight = cv2.dilate(weight, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (size, size)))
    weight = np.asarray(cv2.GaussianBlur(weight, (0, 0), grow), np.float32)
    window = image_bgr[y0:y1, x0:x1].astype(np.float32)
    balanced = window * (1.0 + weight[:, :, None] * (gains.astype(np.float32) - 1.0))
    result = image_bgr.copy()
    result[y0:y1, x0:x1] = np.clip(np.rint(balanced), 0, 255).astype(np.uint8)
    return result


def _white_gains(image_bgr: BgrImage, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float64] | None:
    """Per-channel gains (B, G, R) that bring the eye whites' colour to TYPICAL_WHITE_CHROMA at the same brightness,
    scaled by how far they depart from it (WHITE_DEPARTURE); None where no balance is needed or it cannot be read."""
    whites = _eye_whites(image_bgr, points)
    if whites is None or len(whites) < WHITE_PIXELS_MIN:
        return None
    mean = whites.mean(axis=0)
    cheeks = np.round(points[list(CHEEKBONES)]).astype(int)
    height, width = image_bgr.shape[:2]
    inside = (cheeks[:, 0] >= 0) & (cheeks[:, 0] < width) & (cheeks[:, 1] >= 0) & (cheeks[:, 1] < height)
    if not inside.any():
        return None
    cheek = float(np.median(image_bgr[cheeks[inside, 1], cheeks[inside, 0]].astype(np.float64).mean(axis=1)))
    if float(mean.mean()) < WHITE_BRIGHTNESS_MIN * cheek:
        return None
    chroma = mean / max(float(mean.sum()), 1e-6)
    typical = np.asarray(TYPICAL_WHITE_CHROMA, np.float64)
    low, high = WHITE_DEPARTURE
    strength = float(np.clip((np.abs(chroma - typical).max() - low) / (high - low), 0.0, 1.0))
    if strength <= 0.0:
        return None
    gains = typical / chroma
    gains *= float(mean.sum()) / float((gains * mean).sum())  # the same brightness
    return np.asarray(np.clip(1.0 + strength * (gains - 1.0), *GAIN_LIMITS), np.float64)


def _eye_whites(image_bgr: BgrImage, points: npt.NDArray[np.float64]) -> npt.NDArray[np.float32] | None:
    """The brighter half of the pixels inside the lid lines and outside the irises (N×3 BGR), or None."""
    height, width = image_bgr.shape[:2]
    eyes = np.vstack([points[list(RIGHT_EYE)], points[list(LEFT_EYE)]])
    x0, y0 = np.maximum(np.floor(eyes.min(axis=0)) - 2, 0).astype(int)
    x1 = int(min(np.ceil(eyes[:, 0].max()) + 3, width))
    y1 = int(min(np.ceil(eyes[:, 1].max()) + 3, height))
    if x1 - x0 < 4 or y1 - y0 < 4:
        return None
    inside = np.zeros((y1 - y0, x1 - x0), np.uint8)
    for eye in (RIGHT_EYE, LEFT_EYE):
        cv2.fillPoly(inside, [np.round(points[list(eye)] - (x0, y0)).astype(np.int32)], 1)
    inside = cv2.erode(inside, np.ones((3, 3), np.uint8))
    for centre in (RIGHT_IRIS_CENTRE, LEFT_IRIS_CENTRE):
        radius = float(np.linalg.norm(points[centre + 1 : centre + 5] - points[centre], axis=1).mean())
        cv2.circle(inside, tuple(np.round(points[centre] - (x0, y0)).astype(int)), math.ceil(1.1 * radius), 0, -1)
    pixels = image_bgr[y0:y1, x0:x1][inside > 0].astype(np.float32)
    if len(pixels) == 0:
        return None
    brightness = pixels.mean(axis=1)
    return np.asarray(pixels[brightness >= np.median(brightness)], np.float32)
