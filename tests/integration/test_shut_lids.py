"""A shutting eye drawn with the user's own lid in the target's colours (engines/shut_lids.py).

A shared talking clip (v07: both eyes shut around frame 51, no glasses) as the user and a shared portrait with long,
dark lashes and liner (p02_1) as the target; Grace Hopper, who wears glasses, as a user whose lids are left alone.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import SwapConfig
from faceswap_live.engines import mesh_swapper
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper, MeshSwappedFace
from faceswap_live.engines.shut_lids import with_user_lids
from faceswap_live.inputs.target_photo import find_faces_in_photo
from faceswap_live.offline import read_video_frames
from faceswap_live.stages.mesh_topology import RIGHT_EYE_LOWER, RIGHT_EYE_UPPER, RIGHT_EYEBROW
from faceswap_live.types import BgrImage, Box, FaceLandmarks, TargetFace

SHUT_FRAME = 51


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


def test_a_shut_eye_shows_a_closed_lid_not_a_brush_of_the_photos_lashes(
    portrait_face: Callable[[str], TargetFace],
    faces_dir: Path,
    landmark_model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = portrait_face("p02_1.jpg")
    frames, _ = read_video_frames(faces_dir / "videos" / "v07_p44.mp4", SHUT_FRAME + 1)
    faces = [find_faces_in_photo(frame, landmark_model_path, max_faces=1)[0] for frame in frames[::3]]
    faces.append(find_faces_in_photo(frames[SHUT_FRAME], landmark_model_path, max_faces=1)[0])

    def drawn_at_shut_frame() -> MeshSwappedFace:
        engine = MeshFaceSwapper()
        engine.set_target(target)
        drawn = None
        for frame, face in zip([*frames[::3], frames[SHUT_FRAME]], faces, strict=True):
            drawn = engine.swap_face(frame, face, None, SwapConfig())
        assert isinstance(drawn, MeshSwappedFace)
        return drawn

    with_lids = drawn_at_shut_frame()
    assert _shut(faces[-1])
    monkeypatch.setattr(mesh_swapper, "with_user_lids", lambda face_bgr, *_: face_bgr)
    squeezed = drawn_at_shut_frame()
    points = np.asarray(with_lids.feature_points_px, np.float64) - (with_lids.region.x0, with_lids.region.y0)
    lid = _lid_mask(with_lids.face_bgr.shape, points)
    assert _streaks(with_lids.face_bgr, lid) < 0.6 * _streaks(squeezed.face_bgr, lid)
    # The lid takes the drawn face's colours, not the user's skin tone: its mean colour is near the drawn skin's
    # around it.
    around = cv2.dilate(lid.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & ~lid
    colour_gap = with_lids.face_bgr[lid].mean(axis=0) - squeezed.face_bgr[around].mean(axis=0)
    assert np.abs(colour_gap).max() < 25.0


def _shut(face: FaceLandmarks) -> bool:
    """The clip's frame really shows the right eye shut: the user's lid gap is under a fifth of the eye's width."""
    points = np.asarray(face.points_px, np.float64)
    gap = np.linalg.norm(points[RIGHT_EYE_LOWER[4], :2] - points[RIGHT_EYE_UPPER[4], :2])
    return bool(gap < 0.2 * np.linalg.norm(points[RIGHT_EYE_UPPER[0], :2] - points[RIGHT_EYE_UPPER[-1], :2]))


def test_a_user_in_glasses_keeps_the_photos_lid(
    astronaut_as_target: TargetFace, hopper_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """Glasses cross the lid: a copy of their frame moved onto the drawn eye would show beside the frame itself."""
    user = find_faces_in_photo(hopper_bgr, landmark_model_path, max_faces=1)[0]
    engine = MeshFaceSwapper()
    engine.set_target(astronaut_as_target)
    drawn = engine.swap_face(hopper_bgr, user, None, SwapConfig())
    assert isinstance(drawn, MeshSwappedFace)
    points = np.asarray(user.points_px)
    box = dataclasses.replace(drawn.region)
    assert isinstance(box, Box)
    kept = with_user_lids(drawn.face_bgr, hopper_bgr, box, points, drawn.feature_points_px, (0.0, 0.0), 200.0)
    assert kept is drawn.face_bgr
