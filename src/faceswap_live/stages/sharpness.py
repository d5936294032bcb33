"""How soft a face is in a picture, and a drawn face softened to the user's camera.

A target photo is usually a sharp still; a webcam frame is softer (its lens, compression, a "beauty" filter). Drawn as
sharp as the photo, the swapped face stands out of a soft frame as a pasted mask, and its fine detail shimmers as the
mesh moves over it. The blur of each picture is measured on its strongest edges inside the face (eyes, brows, lips,
nostrils, glasses) by re-blurring: a step edge blurred by a Gaussian of sigma s loses gradient by a factor
sqrt(s² + r²) / s when blurred again by r, so s = r / sqrt(ratio² − 1) whatever the edge is of. The user's face and the
drawn one are thus measured on one scale, and the drawn face is blurred by most of the difference (in quadrature;
SOFTENING_SHARE) where the frame is the softer. A sharper camera leaves the drawn face as it is: sharpening would
bring up the photo's noise. The mesh engine measures both every few frames of a track and draws from a blurred copy
of the photo (MeshFaceSwapper._follow_softness, mesh_swapper._softened).
"""

from __future__ import annotations

import math
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

REBLUR_SIGMA_PX: Final = 1.5
"""The second blur of the re-blur measurement, in pixels: about the blur being measured (the ratio is then well away
from 1, where its noise would blow up the answer)."""
EDGE_SHARE: Final = 0.05
"""The share of the face's pixels with the strongest gradient that are measured: edges of features, not skin texture
(whose fine grain would read as sharpness of its own)."""
SAMPLING_BLUR_PX: Final = 0.75
"""What the pixel grid and the central differences read as blur on their own (a perfectly sharp edge measures this;
on synthetic edges blurred by 0.4-2.4 px the measurement squared exceeds the blur squared by 0.51-0.70): taken out
in quadrature."""
MIN_EDGE_PIXELS: Final = 20
OUTLINE_SHRINK: Final = 0.1
"""The face outline is shrunk by this share towards its middle for the measurement (inside_outline)."""
SOFTENING_SHARE: Final = 0.8
"""How much of the blur difference is added to the drawn face: the share at which the output's face measures as soft
as the user's frame on the expression basis's fitting clips whose camera is the softer (v02: the frame 1.74 px, the
output 0.73 / 1.22 / 1.98 px at 0 / 0.5 / 1; v18: 1.24 px, 0.89 / 0.95 / 1.31 px). Less than all of it, as the
drawn face's detail is raised again by blend's light match and the frame's thin lines (lashes, liner) read a little
soft."""
MIN_SOFTENING_PX: Final = 0.3
"""Added blurs below this (pixels) are not worth a pass over the face."""


def inside_outline(outline_px: npt.NDArray[np.floating], shape: tuple[int, int]) -> npt.NDArray[np.bool_]:
    """shape-sized: inside the face outline (K×2 pixels) shrunk by OUTLINE_SHRINK towards its middle, off the jaw
    line and the hair, whose edges belong to the background or the user."""
    middle = outline_px.mean(axis=0)
    polygon = middle + (1.0 - OUTLINE_SHRINK) * (outline_px - middle)
    inside = np.zeros(shape, np.uint8)
    cv2.fillPoly(inside, [np.round(polygon * 16).astype(np.int32)], 1, shift=4)
    return inside > 0


def edge_blur_px(grey: npt.NDArray[np.float32], inside: npt.NDArray[np.bool_]) -> float | None:
    """The Gaussian sigma (pixels) of the blur of grey's strongest edges within `inside` (same shape), or None where
    there are too few edges to tell (a tiny or featureless face)."""
    if int(inside.sum()) < MIN_EDGE_PIXELS / EDGE_SHARE:
        return None
    gradient = _gradient(grey)[inside]
    reblurred = _gradient(np.asarray(cv2.GaussianBlur(grey, (0, 0), REBLUR_SIGMA_PX), np.float32))[inside]
    rank = int((1.0 - EDGE_SHARE) * (gradient.size - 1))
    threshold = max(float(np.partition(gradient, rank)[rank]), 1e-3)
    edges = (gradient >= threshold) & (reblurred > 0.0)
    if int(edges.sum()) < MIN_EDGE_PIXELS:
        return None
    # Past a ratio of 1.02 the answer is over 7 px: any blur that large reads the same.
    ratio = np.maximum(gradient[edges] / reblurred[edges], 1.02)
    measured = float(np.median(REBLUR_SIGMA_PX / np.sqrt(ratio * ratio - 1.0)))
    return math.sqrt(max(measured * measured - SAMPLING_BLUR_PX * SAMPLING_BLUR_PX, 0.0))


def softening_px(user_blur_px: float, drawn_blur_px: float) -> float:
    """The blur (Gaussian sigma, pixels) that brings a drawn face of drawn_blur_px towards a frame of user_blur_px:
    SOFTENING_SHARE of their difference in quadrature, 0 where the frame is the sharper."""
    return SOFTENING_SHARE * math.sqrt(max(0.0, user_blur_px * user_blur_px - drawn_blur_px * drawn_blur_px))


def colour_blurred(image_bgra: npt.NDArray[np.uint8], sigma_px: float) -> npt.NDArray[np.uint8]:
    """A copy of a BGRA image with its colour (not its alpha) blurred by a Gaussian of sigma_px."""
    blurred = np.asarray(cv2.GaussianBlur(image_bgra, (0, 0), sigma_px), np.uint8)
    blurred[:, :, 3] = image_bgra[:, :, 3]
    return blurred


def _gradient(grey: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    """Gradient magnitude by central differences (no smoothing of their own, which would read as blur)."""
    return np.asarray(
        cv2.magnitude(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=1), cv2.Sobel(grey, cv2.CV_32F, 0, 1, ksize=1)),
        np.float32,
    )
