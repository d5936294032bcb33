"""Pressed lips keep the user's lip lines: the user's mouth moved onto the drawn lips is not stretched.

v07 presses her lips together from frame 105 (a frown with a pout); the target (p05_1) smiles with closed lips.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np

from faceswap_live.config import SwapConfig
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper, MeshSwappedFace
from faceswap_live.inputs.target_photo import find_faces_in_photo
from faceswap_live.offline import read_video_frames
from faceswap_live.stages.mesh_topology import OUTER_LIP_LOWER, OUTER_LIP_UPPER, closed_contour
from faceswap_live.types import BgrImage, TargetFace


def _streaks_across_lines(image_bgr: BgrImage, points: np.ndarray) -> float:
    """Inside the outer lips, the fine detail's horizontal gradient over its vertical one: lip lines run along the
    mouth (well under 1); a lip stretched up and down is vertical streaks (above 1)."""
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    fine = grey - cv2.GaussianBlur(grey, (0, 0), 2.0)
    lips = np.zeros(grey.shape, np.uint8)
    outline = points[list(closed_contour(OUTER_LIP_UPPER, OUTER_LIP_LOWER)), :2]
    cv2.fillPoly(lips, [np.rint(outline).astype(np.int32)], 1)
    inside = lips > 0
    across = np.abs(cv2.Sobel(fine, cv2.CV_32F, 1, 0))[inside].mean()
    along = np.abs(cv2.Sobel(fine, cv2.CV_32F, 0, 1))[inside].mean()
    return float(across / along)


def test_pressed_lips_come_onto_the_drawn_ones_with_their_lines_along_the_mouth(
    portrait_face: Callable[[str], TargetFace], faces_dir: Path, landmark_model_path: Path
) -> None:
    frames, _ = read_video_frames(faces_dir / "videos" / "v07_p44.mp4", 119)
    engine = MeshFaceSwapper()
    engine.set_target(portrait_face("p05_1.jpg"))
    checked = 0
    for index in range(100, 119):
        face = find_faces_in_photo(frames[index], landmark_model_path, max_faces=1)[0]
        drawn = engine.swap_face(frames[index], face, None, SwapConfig())
        if index not in (113, 118):
            continue
        assert isinstance(drawn, MeshSwappedFace)
        assert drawn.mouth_bgr is not None
        drawn_points = np.asarray(drawn.feature_points_px, np.float64) - (drawn.region.x0, drawn.region.y0)
        users = _streaks_across_lines(frames[index], np.asarray(face.points_px, np.float64))
        # The user's own lips: 0.32 and 0.36; moved by a fit on the inner lip lines alone, 1.7 and 3.1.
        assert users < 0.6
        assert _streaks_across_lines(drawn.mouth_bgr, drawn_points) < 1.5 * users
        checked += 1
    assert checked == 2
