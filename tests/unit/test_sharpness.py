"""Measuring a picture's blur on its edges, and softening a drawn face without bleeding its surroundings in."""

from __future__ import annotations

import cv2
import numpy as np
import pytest

from faceswap_live.stages import sharpness


def _edges(blur_px: float) -> np.ndarray:
    """A grey 'face': bright skin with dark features of several sizes and directions (steps and bars), blurred by a
    Gaussian of blur_px, with a little sensor noise."""
    image = np.full((200, 200), 170.0, np.float32)
    cv2.rectangle(image, (40, 50), (90, 70), 60.0, -1)  # brow-like bars
    cv2.rectangle(image, (110, 50), (160, 70), 60.0, -1)
    cv2.ellipse(image, (65, 100), (22, 10), 0, 0, 360, 40.0, -1)  # eyes
    cv2.ellipse(image, (135, 100), (22, 10), 15, 0, 360, 40.0, -1)
    cv2.ellipse(image, (100, 155), (35, 12), 0, 0, 360, 90.0, -1)  # lips
    blurred = cv2.GaussianBlur(image, (0, 0), blur_px)
    noise = np.random.default_rng(1).normal(0.0, 1.0, image.shape).astype(np.float32)
    return np.asarray(blurred + noise, np.float32)


@pytest.mark.parametrize("blur_px", [0.8, 1.2, 1.6, 2.4])
def test_the_blur_of_a_faces_edges_is_measured_whatever_they_are_of(blur_px: float) -> None:
    inside = np.zeros((200, 200), bool)
    inside[20:180, 20:180] = True
    measured = sharpness.edge_blur_px(_edges(blur_px), inside)
    assert measured is not None
    assert measured == pytest.approx(blur_px, rel=0.2)


def test_a_featureless_or_tiny_face_gives_no_measurement() -> None:
    flat = np.full((200, 200), 128.0, np.float32)
    inside = np.ones((200, 200), bool)
    assert sharpness.edge_blur_px(flat, inside) is None
    tiny = np.zeros((200, 200), bool)
    tiny[100:105, 100:105] = True
    assert sharpness.edge_blur_px(_edges(1.0), tiny) is None


def test_only_a_softer_frame_softens_the_drawn_face() -> None:
    assert sharpness.softening_px(user_blur_px=0.6, drawn_blur_px=1.0) == 0.0  # never sharpened
    assert sharpness.softening_px(user_blur_px=1.0, drawn_blur_px=1.0) == 0.0
    added = sharpness.softening_px(user_blur_px=1.6, drawn_blur_px=0.8)
    assert added == pytest.approx(sharpness.SOFTENING_SHARE * np.sqrt(1.6**2 - 0.8**2))


def test_a_blurred_level_keeps_its_alpha() -> None:
    image = np.zeros((40, 40, 4), np.uint8)
    image[:, :20] = (40, 120, 200, 255)  # the face, drawn
    image[:, 20:] = (250, 250, 250, 0)  # beside it, hair the engine leaves out
    blurred = sharpness.colour_blurred(image, 2.0)
    assert np.array_equal(blurred[:, :, 3], image[:, :, 3])  # what is drawn stays as it was
    assert (blurred[:, 18, 0] > 40).all() and (blurred[:, 22, 0] < 250).all()  # the colour is blurred across the edge
    assert np.array_equal(image[:, 18, :3], np.full((40, 3), (40, 120, 200)))  # the level itself is untouched
