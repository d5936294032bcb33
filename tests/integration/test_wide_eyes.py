"""An eye opened wider than the target photo's: a round iris with the white around it (engines/wide_eyes.py).

A shared clip as the user (v08: eyes opened wide in surprise at frame 15) and a shared portrait whose eyes narrow in a
smile (p13_1) as the target.
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
from faceswap_live.engines.wide_eyes import wide_eye_models, wide_share
from faceswap_live.inputs.target_photo import find_faces_in_photo
from faceswap_live.offline import read_video_frames
from faceswap_live.stages.mesh_topology import (
    LEFT_EYE_LOWER,
    LEFT_EYE_UPPER,
    RIGHT_EYE,
    RIGHT_EYE_LIDS,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
)
from faceswap_live.types import TargetFace

WIDE_FRAME = 15


def _drawn(frames: list[np.ndarray], target: TargetFace, model_path: Path, settings: SwapConfig) -> MeshSwappedFace:
    engine = MeshFaceSwapper()
    engine.set_target(target)
    drawn = None
    for frame in frames:
        face = find_faces_in_photo(frame, model_path, max_faces=1)[0]
        drawn = engine.swap_face(frame, face, None, settings)
    assert isinstance(drawn, MeshSwappedFace)
    return drawn


def _eye(drawn: MeshSwappedFace) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The drawn right eye's opening (mask over face_bgr), its grey levels, and the drawn points (region pixels)."""
    points = np.asarray(drawn.feature_points_px, np.float64) - (drawn.region.x0, drawn.region.y0)
    mask = np.zeros(drawn.face_bgr.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.rint(points[list(RIGHT_EYE)]).astype(np.int32)], 1)
    mask = cv2.erode(mask, np.ones((3, 3), np.uint8))
    grey = cv2.cvtColor(drawn.face_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return mask > 0, grey, points


def _grey_across(drawn: MeshSwappedFace, share: float) -> float:
    """Mean grey level inside the drawn right eye at `share` of the way from its upper lid's middle to its lower's."""
    inside, grey, points = _eye(drawn)
    upper, lower = points[RIGHT_EYE_LIDS[0]], points[RIGHT_EYE_LIDS[1]]
    spot = upper + share * (lower - upper)
    radius = max(1, round(0.08 * float(np.linalg.norm(lower - upper))))
    x, y = np.rint(spot).astype(int)
    window = grey[y - radius : y + radius + 1, x - radius : x + radius + 1]
    return float(window[inside[y - radius : y + radius + 1, x - radius : x + radius + 1]].mean())


def test_wide_open_eyes_are_drawn_with_a_round_iris_and_white_above_it(
    portrait_face: Callable[[str], TargetFace],
    faces_dir: Path,
    landmark_model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    target = portrait_face("p13_1.jpg")
    frames, _ = read_video_frames(faces_dir / "videos" / "v08_p45.mp4", WIDE_FRAME + 1)
    wide = _drawn(frames, target, landmark_model_path, SwapConfig())
    models = wide_eye_models(target.image_bgr, target.landmarks.points_px)
    assert models is not None
    assert wide_share(models[0], wide.feature_points_px, 0) == 1.0  # this eye is drawn fully wide
    with monkeypatch.context() as patch:
        patch.setattr(mesh_swapper, "with_wide_eyes", lambda texture, *_: texture)
        stretched = _drawn(frames, target, landmark_model_path, SwapConfig())
    # The photo's iris, stretched to the user's lid gap, reached up to the upper lid; now the white of the eye shows
    # above it, as on the user's wide-open eye (92 grey levels there before, 146 now), and the middle is the iris.
    assert _grey_across(wide, 0.2) > _grey_across(stretched, 0.2) + 30.0
    assert _grey_across(wide, 0.5) < _grey_across(wide, 0.2) - 30.0


def test_an_eye_open_as_usual_is_the_photos_own(
    portrait_face: Callable[[str], TargetFace], faces_dir: Path, landmark_model_path: Path
) -> None:
    target = portrait_face("p05_1.jpg")  # eyes open as widely as most users' at rest
    frames, _ = read_video_frames(faces_dir / "videos" / "v07_p44.mp4", 10)
    drawn = _drawn(frames, target, landmark_model_path, SwapConfig())
    models = wide_eye_models(target.image_bgr, target.landmarks.points_px)
    assert models is not None
    assert [wide_share(model, drawn.feature_points_px, eye) for eye, model in enumerate(models)] == [0.0, 0.0]


def test_with_the_users_own_eyes_nothing_is_redrawn(
    portrait_face: Callable[[str], TargetFace],
    faces_dir: Path,
    landmark_model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    calls: list[object] = []
    monkeypatch.setattr(mesh_swapper, "with_wide_eyes", lambda texture, *_: calls.append(1) or texture)
    frames, _ = read_video_frames(faces_dir / "videos" / "v08_p45.mp4", WIDE_FRAME + 1)
    _drawn(frames[-2:], portrait_face("p13_1.jpg"), landmark_model_path, SwapConfig(eyes_from_user=True))
    assert not calls


def test_a_photo_with_its_eyes_shut_or_narrowed_to_slits_is_never_redrawn_wide(
    portrait_face: Callable[[str], TargetFace],
) -> None:
    laughing = portrait_face("p21_2.png")  # eyes narrowed to slits: under half of each iris shows
    assert wide_eye_models(laughing.image_bgr, laughing.landmarks.points_px) is None
    target = portrait_face("p13_1.jpg")
    points = np.asarray(target.landmarks.points_px, np.float64).copy()
    assert wide_eye_models(target.image_bgr, points) is not None
    # The same face with each upper lid lowered onto the lower one: the iris is hidden, there is no round iris to draw.
    for upper, lower in ((RIGHT_EYE_UPPER, RIGHT_EYE_LOWER), (LEFT_EYE_UPPER, LEFT_EYE_LOWER)):
        points[list(upper[1:-1]), :2] = points[list(lower[1:-1]), :2] - (0.0, 0.5)
    assert wide_eye_models(target.image_bgr, points) is None
