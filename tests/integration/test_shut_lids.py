"""A shutting eye drawn with the user's own lid in the target's colours (engines/shut_lids.py).

Shared talking clips as the user (v07: both eyes shut at frame 51, no glasses; v06: eyes shut at frame 40, in glasses)
and a shared portrait with long, dark lashes and liner (p02_1) as the target.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import SwapConfig
from faceswap_live.engines import mesh_swapper
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper, MeshSwappedFace
from faceswap_live.inputs.target_photo import find_faces_in_photo
from faceswap_live.offline import read_video_frames
from faceswap_live.stages.mesh_topology import RIGHT_EYE_LOWER, RIGHT_EYE_UPPER, RIGHT_EYEBROW
from faceswap_live.types import BgrImage, FaceLandmarks, TargetFace


def _lid_mask(shape: tuple[int, ...], points: np.ndarray) -> np.ndarray:
    """The right eye's lid, from its upper contour up to the brow's lower edge."""
    polygon = np.vstack([points[list(RIGHT_EYE_UPPER), :2], points[list(RIGHT_EYEBROW[5:]), :2]])
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.rint(polygon).astype(np.int32)], 1)
    return mask > 0


def _streaks(image_bgr: BgrImage, mask: np.ndarray) -> float:
    """Mean horizontal gradient inside mask: a brush of lashes is a row of dark vertical streaks."""
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return float(np.abs(cv2.Sobel(grey, cv2.CV_32F, 1, 0, ksize=3))[mask].mean())


def _drawn_at(clip: str, shut_frame: int, target: TargetFace, model_path: Path, faces_dir: Path) -> MeshSwappedFace:
    """The engine's drawn face at shut_frame of a shared clip, after every frame before it (the user's usual, open
    eyes)."""
    frames, _ = read_video_frames(faces_dir / "videos" / clip, shut_frame + 1)
    shown = frames[: shut_frame + 1]
    engine = MeshFaceSwapper()
    engine.set_target(target)
    drawn = None
    for frame in shown:
        face = find_faces_in_photo(frame, model_path, max_faces=1)[0]
        drawn = engine.swap_face(frame, face, None, SwapConfig())
    assert _shut(face)
    assert isinstance(drawn, MeshSwappedFace)
    return drawn


def _lid_streaks_with_and_without(
    clip: str, shut_frame: int, target: TargetFace, model_path: Path, faces_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[MeshSwappedFace, MeshSwappedFace, np.ndarray]:
    with_lids = _drawn_at(clip, shut_frame, target, model_path, faces_dir)
    with monkeypatch.context() as patch:
        patch.setattr(mesh_swapper, "with_user_lids", lambda face_bgr, *_: face_bgr)
        squeezed = _drawn_at(clip, shut_frame, target, model_path, faces_dir)
    points = np.asarray(with_lids.feature_points_px, np.float64) - (with_lids.region.x0, with_lids.region.y0)
    return with_lids, squeezed, _lid_mask(with_lids.face_bgr.shape, points)


def test_a_shut_eye_shows_the_users_closed_lid_not_a_brush_of_the_photos_lashes(
    portrait_face: Callable[[str], TargetFace],
    faces_dir: Path,
    landmark_model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_lids, squeezed, lid = _lid_streaks_with_and_without(
        "v07_p44.mp4", 51, portrait_face("p02_1.jpg"), landmark_model_path, faces_dir, monkeypatch
    )
    assert _streaks(with_lids.face_bgr, lid) < 0.6 * _streaks(squeezed.face_bgr, lid)
    # The lid takes the drawn face's colours, not the user's skin tone: its mean colour is near the drawn skin's
    # around it.
    around = cv2.dilate(lid.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & ~lid
    colour_gap = with_lids.face_bgr[lid].mean(axis=0) - squeezed.face_bgr[around].mean(axis=0)
    assert np.abs(colour_gap).max() < 25.0


def test_a_shut_eye_has_no_dark_stepped_line_along_its_lashes(
    portrait_face: Callable[[str], TargetFace], faces_dir: Path, landmark_model_path: Path
) -> None:
    """Drawn shut, the photo's eye squeezed into the closed gap left a line of near-black pixel steps along the lid
    (its lashes and iris in a few pixel rows); the user's closed lids show one soft lash line."""
    drawn = _drawn_at("v07_p44.mp4", 51, portrait_face("p02_1.jpg"), landmark_model_path, faces_dir)
    points = np.asarray(drawn.feature_points_px, np.float64) - (drawn.region.x0, drawn.region.y0)
    grey = cv2.cvtColor(drawn.face_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    band = np.zeros(grey.shape, np.uint8)
    cv2.polylines(band, [np.rint(points[list(RIGHT_EYE_LOWER), :2]).astype(np.int32)], False, 1, thickness=5)
    lid = _lid_mask(grey.shape, points)
    around = cv2.dilate(lid.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & ~lid & (band == 0)
    # The darkest twentieth of the band along the lashes against the skin around: 0.39 before, 0.76 now.
    assert np.percentile(grey[band > 0], 5) > 0.6 * np.median(grey[around])


def _shut(face: FaceLandmarks) -> bool:
    """The clip's frame really shows the right eye shut: the user's lid gap is under a fifth of the eye's width."""
    points = np.asarray(face.points_px, np.float64)
    gap = np.linalg.norm(points[RIGHT_EYE_LOWER[4], :2] - points[RIGHT_EYE_UPPER[4], :2])
    return bool(gap < 0.2 * np.linalg.norm(points[RIGHT_EYE_UPPER[0], :2] - points[RIGHT_EYE_UPPER[-1], :2]))


def test_a_user_in_glasses_gets_the_photos_lid_smoothed_along_the_eye(
    portrait_face: Callable[[str], TargetFace],
    faces_dir: Path,
    landmark_model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Glasses cross the lid (v06): a copy of their frame moved onto the drawn eye would show beside the frame itself,
    so the photo's squeezed lid is smoothed along the eye instead, keeping its colours."""
    with_lids, squeezed, lid = _lid_streaks_with_and_without(
        "v06_p43.mp4", 40, portrait_face("p02_1.jpg"), landmark_model_path, faces_dir, monkeypatch
    )
    assert _streaks(with_lids.face_bgr, lid) < 0.6 * _streaks(squeezed.face_bgr, lid)
    colour_shift = with_lids.face_bgr[lid].mean(axis=0) - squeezed.face_bgr[lid].mean(axis=0)
    assert np.abs(colour_shift).max() < 6.0
