"""A smiling target photo's smile folds smoothed out of its texture (engines/smile_folds.py).

Real MediaPipe landmarks on the public-domain portraits: the astronaut smiles broadly (teeth showing), Grace Hopper's
mouth is at rest.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import SwapConfig
from faceswap_live.engines import smile_folds
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper
from faceswap_live.engines.morph import morph_faces
from faceswap_live.engines.smile_folds import smooth_smile_folds
from faceswap_live.inputs.target_photo import find_faces_in_photo
from faceswap_live.stages.mesh_topology import (
    FACE_OVAL,
    INNER_LIPS,
    LEFT_EYE,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    RIGHT_EYE,
    SMILE_FOLDS,
    TESSELATION_TRIANGLES,
)
from faceswap_live.types import BgrImage, FaceLandmarks, TargetFace

_FOLD_TRIANGLES = TESSELATION_TRIANGLES[np.isin(TESSELATION_TRIANGLES, SMILE_FOLDS).all(axis=1)]


def _points(face: TargetFace | FaceLandmarks) -> np.ndarray:
    landmarks = face.landmarks if isinstance(face, TargetFace) else face
    return np.asarray(landmarks.points_px, np.float64)[:, :2]


def _polygon_mask(shape: tuple[int, ...], points: np.ndarray, polygons: list[np.ndarray]) -> np.ndarray:
    mask = np.zeros(shape[:2], np.uint8)
    for polygon in polygons:
        cv2.fillPoly(mask, [np.rint(points[polygon]).astype(np.int32)], 1)
    return mask > 0


def _fold_mask(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    """The cheeks over the smile folds: the mesh triangles with all three corners on the folds."""
    return _polygon_mask(shape, points, list(_FOLD_TRIANGLES))


def _band(image_bgr: BgrImage, points: np.ndarray, low: float, high: float) -> np.ndarray:
    """Luminance detail between Gaussians of low and high shares of the face width."""
    face_width = float(np.ptp(points[list(FACE_OVAL), 0]))
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return np.asarray(
        cv2.GaussianBlur(grey, (0, 0), max(0.4, low * face_width)) - cv2.GaussianBlur(grey, (0, 0), high * face_width)
    )


def _shade(band: np.ndarray) -> float:
    """How dark the band's shaded parts are: the mean of its negative values, as a positive number."""
    return float(-np.minimum(band, 0.0).mean())


def test_a_smiling_photos_folds_are_smoothed_and_the_rest_kept(astronaut_as_target: TargetFace) -> None:
    photo = astronaut_as_target.image_bgr
    points = _points(astronaut_as_target)
    smoothed = smooth_smile_folds(
        photo, astronaut_as_target.landmarks.points_px, astronaut_as_target.landmarks.blendshapes
    )
    assert smoothed is not photo and smoothed.shape == photo.shape
    folds = _fold_mask(photo.shape, points)
    # The folds' shaded creases (a few per cent of the face wide) are mostly lifted; the lit bulge above them stays...
    band_before = _band(photo, points, 0.01, 0.08)[folds]
    band_after = _band(smoothed, points, 0.01, 0.08)[folds]
    assert _shade(band_after) < 0.6 * _shade(band_before)
    assert _shade(-band_after) > 0.75 * _shade(-band_before)
    # ...while most of the skin's pixel-fine texture stays (this photo's face is 89 px wide: the folds start at a
    # pixel or two)...
    grey_before = cv2.cvtColor(photo, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey_after = cv2.cvtColor(smoothed, cv2.COLOR_BGR2GRAY).astype(np.float32)
    fine_before = grey_before - cv2.GaussianBlur(grey_before, (0, 0), 0.7)
    fine_after = grey_after - cv2.GaussianBlur(grey_after, (0, 0), 0.7)
    assert float(np.std(fine_after[folds])) > 0.7 * float(np.std(fine_before[folds]))
    # ...and so do the eyes, the lips' colour and everything away from the cheeks.
    eyes = _polygon_mask(photo.shape, points, [np.asarray(RIGHT_EYE), np.asarray(LEFT_EYE)])
    assert np.array_equal(smoothed[eyes], photo[eyes])
    lips = _polygon_mask(photo.shape, points, [np.asarray(OUTER_LIP_UPPER + tuple(reversed(OUTER_LIP_LOWER)))])
    lips &= ~_polygon_mask(photo.shape, points, [np.asarray(INNER_LIPS)])
    lip_shift = smoothed[lips].astype(np.float64).mean(axis=0) - photo[lips].astype(np.float64).mean(axis=0)
    assert np.abs(lip_shift).max() < 3.0
    forehead_rows = slice(0, int(points[list(RIGHT_EYE + LEFT_EYE), 1].min()))
    assert np.array_equal(smoothed[forehead_rows], photo[forehead_rows])


def test_a_photo_at_rest_is_left_as_it_is(hopper_bgr: np.ndarray, landmark_model_path: Path) -> None:
    face = find_faces_in_photo(hopper_bgr, landmark_model_path, max_faces=1)[0]
    assert max(face.blendshapes["mouthSmileLeft"], face.blendshapes["mouthSmileRight"]) < smile_folds.SMILE_RAMP[0]
    assert smooth_smile_folds(hopper_bgr, face.points_px, face.blendshapes) is hopper_bgr


def test_a_smiling_photos_folds_show_only_when_the_user_smiles(
    astronaut_as_target: TargetFace, hopper_bgr: np.ndarray, landmark_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    user = find_faces_in_photo(hopper_bgr, landmark_model_path, max_faces=1)[0]

    def fold_shading(target: TargetFace = astronaut_as_target, user: FaceLandmarks = user) -> float:
        engine = MeshFaceSwapper()
        engine.set_target(target)
        drawn = engine.swap_face(hopper_bgr, user, None, SwapConfig(colour_match=False))
        assert drawn is not None
        drawn_points = np.asarray(drawn.feature_points_px, np.float64) - (drawn.region.x0, drawn.region.y0)
        folds = _fold_mask(drawn.face_bgr.shape, drawn_points)
        return _shade(_band(drawn.face_bgr, drawn_points, 0.01, 0.08)[folds])

    smoothed = fold_shading()
    # A user who smiles as broadly as the photo gets its folds back (the same face, its scores read as a broad smile).
    smiling_scores = {**user.blendshapes, "mouthSmileLeft": 0.95, "mouthSmileRight": 0.95}
    smiling = fold_shading(user=dataclasses.replace(user, blendshapes=smiling_scores))
    # With several photos of the target, the one drawn is the one nearest the user's expression: folds and all.
    assert fold_shading(dataclasses.replace(astronaut_as_target, more_photos=(astronaut_as_target,))) > 1.6 * smoothed
    monkeypatch.setattr(smile_folds, "SMILE_RAMP", (2.0, 3.0))  # no photo smiles that broadly: folds kept
    as_photographed = fold_shading()
    assert smoothed < 0.6 * as_photographed
    assert smiling > 1.6 * smoothed


def test_the_folds_return_as_the_user_smiles_as_broadly_as_the_photo() -> None:
    start = smile_folds.SMILE_RAMP[0]
    assert smile_folds.returning_fold_share(start, 0.9) == 0.0
    assert smile_folds.returning_fold_share(0.9, 0.9) == 1.0
    assert 0.45 < smile_folds.returning_fold_share((start + 0.9) / 2, 0.9) < 0.55
    assert smile_folds.returning_fold_share(0.9, start) == 0.0  # a photo at rest was never smoothed


def test_a_morph_keeps_its_faces_folds_as_photographed(astronaut_as_target: TargetFace) -> None:
    # Morphs and faces of no one are made from the donors' own photos: smoothing a donor's folds there made a face
    # of no one more often taken for that donor (see BENCHMARKS.md). Mixed with itself, a smiling face is that face.
    points = _points(astronaut_as_target)
    folds = _fold_mask(astronaut_as_target.image_bgr.shape, points)
    mixed = morph_faces([astronaut_as_target, astronaut_as_target], [0.5, 0.5])
    photographed = _shade(_band(astronaut_as_target.image_bgr, points, 0.01, 0.08)[folds])
    assert _shade(_band(mixed.image_bgr, points, 0.01, 0.08)[folds]) > 0.9 * photographed
