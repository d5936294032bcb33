"""Measurements on face meshes and frames for the quality evaluation. Pure functions."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

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
