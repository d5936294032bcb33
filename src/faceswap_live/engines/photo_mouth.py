"""A target photo's open mouth filled with its lips, so the lips can be drawn closed without the photo's teeth.

The engine draws the photo's lips on the user's, and where the user keeps their own mouth (the default) it shows the
user's open mouth through a cut; the photo's teeth and the dark inside of its mouth are never wanted. Yet a photo that
smiles with its teeth still brings them: when the user's mouth is closed, the warp squeezes everything between the
photo's inner lip lines into the drawn parting (the map is continuous across it), and the teeth and the dark corners
that reach past the landmarks' inner lines lie in the lip triangles themselves. Drawn closed, such a mouth showed a
white or grey-blue line between two blurred lips. Made once per photo (fill_photo_mouth): inside the inner lip lines,
and whatever in the lips is not lip-coloured (much less red than the lips, or much darker) and joins that opening, is
inpainted from the lips around it. The lips then meet in their own colour; the user's own parting line comes in with
the rest of their lip detail in blend (lip_detail_from_user). A photo whose mouth is closed is left as it is
(OPEN_MOUTH_SHARE).
"""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.stages.mesh_topology import (
    FACE_OVAL,
    INNER_LIPS,
    MESH_POINT_COUNT,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    closed_contour,
)
from faceswap_live.types import BgrImage

_OUTER_LIPS: Final = closed_contour(OUTER_LIP_UPPER, OUTER_LIP_LOWER)
LIP_REFERENCE_PERCENTILE: Final = 75.0
"""The lips' colour is read from the reddest quarter of what lies between the outer and inner lip lines (a broad
smile's teeth can fill over half of it)."""
TEETH_REDNESS_SHARE: Final = 0.5
"""Less red (Lab a*) than this share of the lips' and not darker than them by TEETH_DARKER_LIGHTNESS: teeth."""
TEETH_DARKER_LIGHTNESS: Final = 5.0
INSIDE_DARKER_LIGHTNESS: Final = 20.0
"""Darker than the lips by this much L* (0-100): the mouth's dark inside and its corners."""
OPEN_MOUTH_SHARE: Final = (0.1, 0.2)
"""The opening's share of the area inside the outer lip lines from which the fill starts, and at which it is whole:
closed mouths read 0.03-0.10 on the shared portraits, smiles with teeth 0.3-0.5. A closed mouth's own parting line
stays (filled, MediaPipe read the drawn lips as more pursed)."""
FILL_RADIUS_SHARE: Final = 0.02
"""The inpainting's reach, as a share of the face width (at least 3 pixels)."""
FILL_WORK_FACE_WIDTH_PX: Final = 200.0
"""The inpainting runs on the mouth reduced until the face is about this wide."""


def fill_photo_mouth(image_bgr: BgrImage, points_px: npt.NDArray[np.floating]) -> BgrImage:
    """image_bgr with its mouth opening and the teeth and dark inside reaching into its lips filled from the lips (a
    new image; image_bgr itself is not changed), or image_bgr itself for a closed mouth or lips too small to read.

    points_px: the photo's face mesh (468+ points, x and y in pixels).
    """
    points = np.asarray(points_px, np.float64)[:MESH_POINT_COUNT, :2]
    face_width = float(np.ptp(points[list(FACE_OVAL), 0]))
    outer, inner = points[list(_OUTER_LIPS)], points[list(INNER_LIPS)]
    radius = max(3, round(FILL_RADIUS_SHARE * face_width))  # the window's margin
    height, width = image_bgr.shape[:2]
    x0, y0 = np.maximum(np.floor(outer.min(axis=0)).astype(int) - radius, 0)
    x1 = int(min(np.ceil(outer[:, 0].max()) + radius + 1, width))
    y1 = int(min(np.ceil(outer[:, 1].max()) + radius + 1, height))
    if x1 - x0 < 8 or y1 - y0 < 8:
        return image_bgr
    window = image_bgr[y0:y1, x0:x1]
    lips_mask: np.ndarray = np.zeros(window.shape[:2], np.uint8)
    opening: np.ndarray = np.zeros(window.shape[:2], np.uint8)
    cv2.fillPoly(lips_mask, [np.round((outer - (x0, y0)) * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    cv2.fillPoly(opening, [np.round((inner - (x0, y0)) * 16).astype(np.int32)], 1, cv2.LINE_8, shift=4)
    lips = (lips_mask > 0) & (opening == 0)
    low, high = OPEN_MOUTH_SHARE
    open_share = np.count_nonzero(opening) / max(int(np.count_nonzero(lips_mask)), 1)
    strength = float(np.clip((open_share - low) / (high - low), 0.0, 1.0))
    if np.count_nonzero(lips) < 16 or strength <= 0.0:
        return image_bgr
    lab = cv2.cvtColor(window, cv2.COLOR_BGR2Lab).astype(np.float32)
    lightness, redness = lab[:, :, 0] * np.float32(100.0 / 255.0), lab[:, :, 1] - np.float32(128.0)
    reddest = lips & (redness >= np.percentile(redness[lips], LIP_REFERENCE_PERCENTILE))
    lip_lightness, lip_redness = float(np.median(lightness[reddest])), float(np.median(redness[reddest]))
    teeth = (redness < TEETH_REDNESS_SHARE * lip_redness) & (lightness > lip_lightness - TEETH_DARKER_LIGHTNESS)
    dark = lightness < lip_lightness - INSIDE_DARKER_LIGHTNESS
    # Only what joins the opening: a moustache over the upper lip is as dark, but lies beyond the lip.
    candidates = (((teeth | dark) & (lips_mask > 0)) | (opening > 0)).astype(np.uint8)
    count, labels = cv2.connectedComponents(candidates, connectivity=8)
    joins_opening = np.zeros(count, bool)
    joins_opening[labels[opening > 0]] = True
    joins_opening[0] = False
    fill = joins_opening[labels].astype(np.uint8)
    if not fill.any():
        return image_bgr
    # One pixel more, so the bilinear warp never reads a tooth's edge.
    fill = np.asarray(cv2.dilate(fill, np.ones((3, 3), np.uint8)), np.uint8)
    result = image_bgr.copy()
    result[y0:y1, x0:x1] = cv2.addWeighted(_inpainted(window, fill, face_width), strength, window, 1.0 - strength, 0.0)
    return result


def _inpainted(window: BgrImage, fill: npt.NDArray[np.uint8], face_width: float) -> BgrImage:
    """window with the pixels where fill is set inpainted (Telea) from around them; on the window reduced until the
    face is about FILL_WORK_FACE_WIDTH_PX wide (the fill is smooth lip colour; at full size a large photo took a
    quarter of a second), the rest of the window as it is."""
    scale = min(1.0, FILL_WORK_FACE_WIDTH_PX / max(face_width, 1.0))
    radius = max(3, round(FILL_RADIUS_SHARE * face_width * scale))
    if scale >= 1.0:
        return np.asarray(cv2.inpaint(window, fill, radius, cv2.INPAINT_TELEA), np.uint8)
    height, width = window.shape[:2]
    size = (max(2, round(width * scale)), max(2, round(height * scale)))
    small_fill = (cv2.resize(fill, size, interpolation=cv2.INTER_AREA) > 0).astype(np.uint8)
    small = cv2.inpaint(cv2.resize(window, size, interpolation=cv2.INTER_AREA), small_fill, radius, cv2.INPAINT_TELEA)
    filled = cv2.resize(small, (width, height), interpolation=cv2.INTER_LINEAR)
    return np.where(fill[:, :, None] > 0, filled, window).astype(np.uint8)
