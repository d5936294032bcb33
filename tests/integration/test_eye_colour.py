"""A tinted photo's eyes are white-balanced by their whites; an ordinary photo's are left as they are."""

from __future__ import annotations

import cv2
import numpy as np

from faceswap_live.engines.eye_colour import TYPICAL_WHITE_CHROMA, balance_eye_whites
from faceswap_live.stages.mesh_topology import LEFT_EYE, RIGHT_EYE
from faceswap_live.types import TargetFace


def _whites_chroma(image_bgr: np.ndarray, points: np.ndarray) -> np.ndarray:
    """B, G, R shares of the mean of the brighter half of the pixels inside the lid lines."""
    inside = np.zeros(image_bgr.shape[:2], np.uint8)
    for eye in (RIGHT_EYE, LEFT_EYE):
        cv2.fillPoly(inside, [np.round(points[list(eye)]).astype(np.int32)], 1)
    pixels = image_bgr[cv2.erode(inside, np.ones((3, 3), np.uint8)) > 0].astype(np.float64)
    whites = pixels[pixels.mean(axis=1) >= np.median(pixels.mean(axis=1))].mean(axis=0)
    return whites / whites.sum()


def test_a_sepia_photos_eyes_lose_their_tint_and_an_ordinary_photo_is_left_alone(
    astronaut_as_target: TargetFace,
) -> None:
    # At twice her 512 px (as a phone photo would be): at 512 px her eyes show 10 pixels of white, too few to read.
    photo = cv2.resize(astronaut_as_target.image_bgr, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_CUBIC)
    points = (np.asarray(astronaut_as_target.landmarks.points_px, np.float64)[:, :2] + 0.5) * 2.0 - 0.5
    assert balance_eye_whites(photo, points) is photo  # her whites read as usual (0.009 from the typical shares)
    # The same photo as a sepia print: blue down to 55 %, green to 80 % (a film still's cast).
    sepia = np.clip(photo.astype(np.float32) * (0.55, 0.8, 1.0), 0, 255).astype(np.uint8)
    typical = np.asarray(TYPICAL_WHITE_CHROMA)
    tinted = np.abs(_whites_chroma(sepia, points) - typical).max()
    balanced = balance_eye_whites(sepia, points)
    assert tinted > 0.06  # 0.10
    assert np.abs(_whites_chroma(balanced, points) - typical).max() < 0.02  # 0.014
    # Only the eyes: the cheek and the lips keep the print's colours.
    far = np.ones(photo.shape[:2], bool)
    far[int(points[:, 1].min()) : int(points[list(RIGHT_EYE + LEFT_EYE), 1].max()) + 20] = False
    assert np.array_equal(balanced[far], sepia[far])
