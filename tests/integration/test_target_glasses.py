"""Glasses. A target photo with glasses (Grace Hopper) on a brightly lit user (the astronaut, up close): the lenses
keep their texture, no burnt-out white patches where the darker photo is lit up to the user's light. A user who
wears glasses keeps them whole over the swapped face (never only the arms at the temples)."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import LandmarkConfig, SwapConfig
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper
from faceswap_live.inputs.target_photo import find_faces_in_photo, load_target_face
from faceswap_live.stages.blend import blend_face, user_glasses_mask
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.stages.mesh_topology import LEFT_EYE, RIGHT_EYE


@pytest.mark.parametrize("scale", [1.0, 2.5])
def test_target_glasses_keep_their_lenses_without_white_patches(
    scale: float, tmp_path: Path, hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    cv2.imwrite(str(tmp_path / "hopper.png"), hopper_bgr)
    engine = MeshFaceSwapper()
    engine.set_target(load_target_face(tmp_path / "hopper.png", landmark_model_path))
    frame = cv2.resize(astronaut_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_CUBIC)
    face = find_faces_in_photo(frame, landmark_model_path, max_faces=1)[0]
    settings = SwapConfig()
    swapped = engine.swap_face(frame, face, None, settings)
    assert swapped is not None
    output = frame.copy()
    blend_face(output, swapped, face, settings)
    region = swapped.region
    face_pixels = output[region.y0 : region.y1, region.x0 : region.x1]
    lenses = np.zeros(face_pixels.shape[:2], np.uint8)
    for eye in (RIGHT_EYE, LEFT_EYE):
        contour = swapped.feature_points_px[list(eye)] - (region.x0, region.y0)  # type: ignore[attr-defined]
        centre = contour.mean(axis=0)
        lens = (contour - centre) * np.array([1.6, 3.0]) + centre  # the eye and the lens around it
        cv2.fillPoly(lenses, [np.round(lens).astype(np.int32)], 1)
    burnt = face_pixels.min(axis=2) >= 250
    assert burnt[lenses > 0].mean() < 0.001, "white patches on the lenses"
    assert burnt[swapped.coverage > 0.5].mean() < 0.001, "white patches on the face"
    # The lenses still show the photo's eyes: dark pupils and lids, not a flat bright fill.
    assert np.percentile(face_pixels[lenses > 0].mean(axis=1), 5) < 110


def test_users_own_glasses_stay_whole_over_the_swapped_face(
    tmp_path: Path, hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """Grace Hopper (thick dark frames) wearing the astronaut's face: her frames show over it, rims and bridge, not
    only the arms at the temples outside the face."""
    cv2.imwrite(str(tmp_path / "astronaut.png"), astronaut_bgr)
    engine = MeshFaceSwapper()
    engine.set_target(load_target_face(tmp_path / "astronaut.png", landmark_model_path))
    face = find_faces_in_photo(hopper_bgr, landmark_model_path, max_faces=1)[0]
    settings = SwapConfig()
    swapped = engine.swap_face(hopper_bgr, face, None, settings)
    assert swapped is not None
    output = hopper_bgr.copy()
    blend_face(output, swapped, face, settings)
    points = face.points_px[:, :2]
    eye_gap = float(np.linalg.norm(points[362] - points[133]))
    x0, x1 = int(points[33, 0] - 0.2 * eye_gap), int(points[263, 0] + 0.2 * eye_gap)
    y0, y1 = int(points[[159, 386], 1].min() - 0.4 * eye_gap), int(points[[145, 374], 1].max() + 0.5 * eye_gap)
    grey = cv2.cvtColor(hopper_bgr, cv2.COLOR_BGR2GRAY)[y0:y1, x0:x1]
    eyes = np.zeros(grey.shape, np.uint8)
    for eye in (RIGHT_EYE, LEFT_EYE):
        cv2.fillPoly(eyes, [np.round(points[list(eye)] - (x0, y0)).astype(np.int32)], 1)
    eyes = cv2.dilate(eyes, np.ones((9, 9), np.uint8))
    frame_pixels = (grey < 60) & (eyes == 0)  # her dark frames (the top bars, the bridge)
    assert frame_pixels.sum() > 200
    kept = np.abs(output[y0:y1, x0:x1].astype(int) - hopper_bgr[y0:y1, x0:x1]).max(axis=2) < 25
    assert kept[frame_pixels].mean() > 0.8, "the user's glasses frames show over the swapped face"
    # ...and only the frames: the lenses and the skin around them are the target's.
    glasses = user_glasses_mask(hopper_bgr, face.points_px, (0, 0))
    assert glasses is not None
    assert (glasses[y0:y1, x0:x1] > 0.5)[eyes == 0].mean() < 0.4


def test_glasses_are_found_only_on_users_who_wear_them(
    faces_dir: Path, hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    clips = {
        "v06_p43.mp4": True,
        "v11_p48.mp4": True,
        "v05_p42.mp4": True,
        "v01_p39.avi": False,
        "v09_p46.mp4": False,
        "v16_p01.mp4": False,
        "v10_p47.mp4": False,
        "v07_p44.mp4": False,
    }
    photos = {"hopper": (hopper_bgr, True), "astronaut": (astronaut_bgr, False)}
    samples = list(photos.values())
    for clip, wears in clips.items():
        capture = cv2.VideoCapture(str(faces_dir / "videos" / clip))
        for index in range(61):
            ok, frame = capture.read()
            assert ok
            if index in (20, 60):
                samples.append((frame, wears))
        capture.release()
    # One detector for every sample, as the app reads a user's frames (one detector for a whole session).
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(max_faces=1), mode="image") as detector:
        for image, wears in samples:
            face = detector.detect(image)[0]
            found = user_glasses_mask(image, face.points_px, (0, 0)) is not None
            assert found == wears
