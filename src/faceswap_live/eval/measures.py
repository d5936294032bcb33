"""Measurements on face meshes and frames for the quality evaluation. Pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.stages.mesh_topology import (
    CHIN_BOTTOM,
    FOREHEAD_TOP,
    LEFT_EYE_CORNERS,
    LEFT_EYE_LIDS,
    LOWER_LIP_CENTRE,
    MOUTH_CORNERS,
    RIGHT_EYE_CORNERS,
    RIGHT_EYE_LIDS,
    UPPER_LIP_CENTRE,
)
from faceswap_live.types import BgrImage, Box


def _distance(points_px: npt.NDArray[np.floating], first: int, second: int) -> float:
    return float(np.linalg.norm(points_px[first, :2] - points_px[second, :2]))


def mouth_opening(points_px: npt.NDArray[np.floating]) -> float:
    """Gap between the inner lips over the mouth width (0 = closed, ~0.5 = wide open). 478×2+ mesh points."""
    width = _distance(points_px, *MOUTH_CORNERS)
    return _distance(points_px, UPPER_LIP_CENTRE, LOWER_LIP_CENTRE) / max(width, 1e-6)


def eye_opening(points_px: npt.NDArray[np.floating]) -> float:
    """Mean lid gap over eye width of both eyes (~0.3 open, < 0.1 closed)."""
    right = _distance(points_px, *RIGHT_EYE_LIDS) / max(_distance(points_px, *RIGHT_EYE_CORNERS), 1e-6)
    left = _distance(points_px, *LEFT_EYE_LIDS) / max(_distance(points_px, *LEFT_EYE_CORNERS), 1e-6)
    return (right + left) / 2.0


def face_height(points_px: npt.NDArray[np.floating]) -> float:
    return _distance(points_px, FOREHEAD_TOP, CHIN_BOTTOM)


def correlation(first: list[float], second: list[float]) -> float:
    """Pearson correlation; NaN when either series is constant or shorter than 3."""
    if len(first) < 3 or len(first) != len(second):
        return math.nan
    a, b = np.asarray(first, np.float64), np.asarray(second, np.float64)
    if a.std() < 1e-9 or b.std() < 1e-9:
        return math.nan
    return float(np.corrcoef(a, b)[0, 1])


def mean_absolute_change(previous_bgr: BgrImage, current_bgr: BgrImage, region: Box) -> float:
    """Mean absolute per-pixel change (0–255 grey levels) between two frames inside a region."""
    before = previous_bgr[region.y0 : region.y1, region.x0 : region.x1].astype(np.int16)
    after = current_bgr[region.y0 : region.y1, region.x0 : region.x1].astype(np.int16)
    return float(np.abs(after - before).mean()) if before.size else 0.0


EXPRESSION_KEYS: Final = (
    "mouthSmileLeft",
    "mouthSmileRight",
    "mouthPucker",
    "mouthFunnel",
    "jawOpen",
    "browInnerUp",
    "browDownLeft",
    "browDownRight",
    "eyeBlinkLeft",
    "eyeBlinkRight",
)
"""The MediaPipe blendshapes the expression figures are read on."""
EXPRESSION_MIN_STD: Final = 0.05
"""A key's correlation is reported only when its source standard deviation is at least this (else it is noise)."""


@dataclass(frozen=True, slots=True)
class ExpressionFigure:
    """How one blendshape of the output follows the source: offset = output mean − source mean; r = Pearson
    correlation (NaN when the source hardly moves on this key, source_std < EXPRESSION_MIN_STD)."""

    key: str
    offset: float
    correlation: float
    source_std: float
    samples: int


def expression_figures(source: dict[str, list[float]], output: dict[str, list[float]]) -> list[ExpressionFigure]:
    """One ExpressionFigure per EXPRESSION_KEYS entry from paired per-frame scores (NaN figures without samples)."""
    figures = []
    for key in EXPRESSION_KEYS:
        first, second = source.get(key, []), output.get(key, [])
        if not first or len(first) != len(second):
            figures.append(ExpressionFigure(key, math.nan, math.nan, math.nan, 0))
            continue
        source_std = float(np.std(first))
        figures.append(
            ExpressionFigure(
                key,
                float(np.mean(second) - np.mean(first)),
                correlation(first, second) if source_std >= EXPRESSION_MIN_STD else math.nan,
                source_std,
                len(first),
            )
        )
    return figures


SHADING_SIGMA_SHARE = 0.125
"""Gaussian sigma of the shading measure as a share of the face width: large enough to leave out pores, brows and
lips, small enough to keep a light from one side and the shade under the brows and the nose."""
SHADING_GRID_WIDTH_PX = 64
"""The shading measure works on the face scaled to this width (it is a low-frequency measure)."""


def shading_correlation(source_bgr: BgrImage, output_bgr: BgrImage, face_oval_px: npt.NDArray[np.floating]) -> float:
    """Pearson correlation, over the pixels inside the face, of the blurred luminance of source and output.

    face_oval_px: K×2 (or K×3) points of the face outline in frame pixels (the source's). The luminance is averaged
    with a Gaussian of sigma SHADING_SIGMA_SHARE × the face width, inside the face only (a normalised masked blur,
    so the background does not leak in), and compared inside the outline shrunk by one sigma (where the blur saw
    face on every side). 1.0 = the output's light and shade fall exactly like the source's. NaN for a face too
    small to measure or a flat (constant) light field.
    """
    outline = np.asarray(face_oval_px, np.float64)[:, :2]
    x0, y0 = np.floor(outline.min(axis=0)).astype(int)
    x1, y1 = np.ceil(outline.max(axis=0)).astype(int) + 1
    height, width = source_bgr.shape[:2]
    x0, y0, x1, y1 = max(0, x0), max(0, y0), min(width, x1), min(height, y1)
    if x1 - x0 < 16 or y1 - y0 < 16:
        return math.nan
    scale = SHADING_GRID_WIDTH_PX / (x1 - x0)
    size = (SHADING_GRID_WIDTH_PX, max(8, round((y1 - y0) * scale)))
    inside = np.zeros((size[1], size[0]), np.uint8)
    polygon = np.round((outline - (x0, y0)) * scale * 16).astype(np.int32)
    cv2.fillPoly(inside, [polygon], 255, lineType=cv2.LINE_AA, shift=4)
    weight = inside.astype(np.float32) / 255.0
    sigma = SHADING_SIGMA_SHARE * SHADING_GRID_WIDTH_PX
    norm = cv2.GaussianBlur(weight, (0, 0), sigma)
    lights = []
    for image in (source_bgr, output_bgr):
        grey = cv2.cvtColor(image[y0:y1, x0:x1], cv2.COLOR_BGR2GRAY)
        small = cv2.resize(grey, size, interpolation=cv2.INTER_AREA).astype(np.float32)
        lights.append(cv2.GaussianBlur(small * weight, (0, 0), sigma) / np.maximum(norm, 1e-6))
    kernel = cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (2 * round(sigma) + 1, 2 * round(sigma) + 1))
    core = cv2.erode(inside, kernel) > 127
    if core.sum() < 16:
        return math.nan
    source_light, output_light = lights[0][core], lights[1][core]
    if source_light.std() < 1e-6 or output_light.std() < 1e-6:
        return math.nan
    return float(np.corrcoef(source_light, output_light)[0, 1])
