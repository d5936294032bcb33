"""A soft camera gets a soft face: the mesh engine draws the target no sharper than the user's frame.

Uses the real MediaPipe landmarker on the public-domain portraits: the astronaut as the target photo (a sharp still),
Grace Hopper as the user, once as her photo and once blurred like a soft webcam.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import SwapConfig
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper, MeshSwappedFace
from faceswap_live.inputs.target_photo import find_faces_in_photo
from faceswap_live.stages import sharpness
from faceswap_live.stages.mesh_topology import FACE_OVAL
from faceswap_live.types import BgrImage, TargetFace

WEBCAM_BLUR_PX = 3.0


def _face_blur(image_bgr: BgrImage, outline_px: np.ndarray, covered: np.ndarray | None = None) -> float:
    inside = sharpness.inside_outline(outline_px, image_bgr.shape[:2])
    if covered is not None:
        inside &= covered
    blur = sharpness.edge_blur_px(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32), inside)
    assert blur is not None
    return blur


def _drawn_and_user_blur(frame_bgr: BgrImage, target: TargetFace, model: Path) -> tuple[float, float]:
    """(the drawn face's blur, the user's frame's blur), both measured inside the face as the engine sees it."""
    face = find_faces_in_photo(frame_bgr, model, max_faces=1)[0]
    # The astronaut's teeth as photographed (Keep my mouth off): squeezed between Hopper's closed lips they are the
    # drawn face's sharpest edge, the one that shows the photo's own sharpness (filled, 1.14 px instead of under 1).
    engine = MeshFaceSwapper(fill_mouth=False)
    engine.set_target(target)
    engine.swap_face(frame_bgr, face, None, SwapConfig())  # the first frame measures the camera
    swapped = engine.swap_face(frame_bgr, face, None, SwapConfig())
    assert isinstance(swapped, MeshSwappedFace)
    region = swapped.region
    outline = np.asarray(face.points_px, np.float64)[list(FACE_OVAL), :2] - (region.x0, region.y0)
    user = frame_bgr[region.y0 : region.y1, region.x0 : region.x1]
    return _face_blur(swapped.face_bgr, outline, swapped.coverage > 0.9), _face_blur(user, outline)


@pytest.fixture(scope="module")
def blurs(
    hopper_bgr: np.ndarray, astronaut_as_target: TargetFace, landmark_model_path: Path
) -> dict[str, tuple[float, float]]:
    soft = np.asarray(cv2.GaussianBlur(hopper_bgr, (0, 0), WEBCAM_BLUR_PX), np.uint8)
    return {
        "sharp": _drawn_and_user_blur(hopper_bgr, astronaut_as_target, landmark_model_path),
        "soft": _drawn_and_user_blur(soft, astronaut_as_target, landmark_model_path),
    }


def test_a_soft_camera_gets_a_softer_face(blurs: dict[str, tuple[float, float]]) -> None:
    (sharp_drawn, sharp_user), (soft_drawn, soft_user) = blurs["sharp"], blurs["soft"]
    assert soft_user > sharp_user + 1.0  # the blurred frame measures as the softer camera
    # The drawn face follows the camera part of the way (SOFTENING_SHARE of the difference, in quadrature).
    expected = np.sqrt(sharp_drawn**2 + sharpness.softening_px(soft_user, sharp_drawn) ** 2)
    assert soft_drawn > sharp_drawn + 0.4
    assert soft_drawn == pytest.approx(expected, rel=0.15)
    assert soft_drawn < soft_user  # never softer than the frame


def test_a_sharp_camera_leaves_the_photo_as_sharp_as_it_is(blurs: dict[str, tuple[float, float]]) -> None:
    sharp_drawn, sharp_user = blurs["sharp"]
    # Hopper's photo is sharper than the astronaut's texture drawn at her face's size: nothing is added (the drawn
    # face measures the photo's own softness, under a pixel), and nothing is sharpened.
    assert sharp_user < sharp_drawn < 1.0
