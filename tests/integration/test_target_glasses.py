"""A target photo with glasses (Grace Hopper) on a brightly lit user (the astronaut, up close): the lenses keep their
texture, no burnt-out white patches where the darker photo is lit up to the user's light."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import SwapConfig
from faceswap_live.stages.blend import blend_face
from faceswap_live.stages.mesh_topology import LEFT_EYE, RIGHT_EYE
from faceswap_live.stages.swap_mesh import MeshFaceSwapper
from faceswap_live.stages.target import find_faces_in_photo, load_target_face


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
