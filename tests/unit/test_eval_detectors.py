"""The multi-face check's independent detectors confirm a face drawn on a face, and flag one drawn elsewhere."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceswap_live.eval.detectors import CnnFaces, DlibFaces, HaarFaces, cnn_weights, confirmed
from faceswap_live.types import Box


def _off_face_boxes(face: Box, width: int, height: int, step: float = 1 / 3) -> list[Box]:
    """Boxes the size of `face` on a grid (`step` of its side apart) over the whole image, each clear of the face."""
    boxes = []
    for y0 in range(0, height - face.height + 1, round(face.height * step)):
        for x0 in range(0, width - face.width + 1, round(face.width * step)):
            box = Box(x0, y0, x0 + face.width, y0 + face.height)
            if box.iou(face) == 0.0:
                boxes.append(box)
    return boxes


def test_a_face_drawn_on_the_face_is_confirmed_and_one_drawn_anywhere_else_is_flagged(
    astronaut_bgr: np.ndarray,
) -> None:
    height, width = astronaut_bgr.shape[:2]
    from_dlib, from_haar = DlibFaces()(astronaut_bgr), HaarFaces()(astronaut_bgr)
    face = min(from_dlib, key=lambda box: box.y0)  # the astronaut's face, at the top
    assert confirmed(face, from_dlib)
    assert confirmed(face, from_haar), (face, from_haar)  # the second detector finds the same face
    decoys = _off_face_boxes(face, width, height)
    assert len(decoys) >= 50  # on the suit, the flag, the helmet, the shuttle model, the backdrop
    assert not any(confirmed(box, from_haar) for box in decoys)
    # dlib also boxes the round mission patch on the suit (a known false face of its HOG detector): a face drawn
    # right over the patch would pass its check; every other decoy is flagged.
    false_faces = [box for box in from_dlib if box is not face]
    passed_dlib = [box for box in decoys if confirmed(box, from_dlib)]
    assert len(false_faces) == 1 and all(box.iou(false_faces[0]) >= 0.5 for box in passed_dlib), passed_dlib
    assert len(passed_dlib) <= 2


def test_the_cnn_detector_confirms_a_face_drawn_on_the_face_and_none_drawn_elsewhere(
    astronaut_bgr: np.ndarray, hopper_bgr: np.ndarray
) -> None:
    cnn = CnnFaces()
    for image in (astronaut_bgr, hopper_bgr):
        face = min(DlibFaces()(image), key=lambda box: box.y0)
        found = cnn.near(image, face)
        assert confirmed(face, found), (face, found)
    # It looks around one box at a time (slow on CPU): face-sized boxes a face apart over the astronaut photo, one
    # of them over the round mission patch dlib's HOG detector takes for a face.
    height, width = astronaut_bgr.shape[:2]
    face = min(DlibFaces()(astronaut_bgr), key=lambda box: box.y0)
    patch = max(DlibFaces()(astronaut_bgr), key=lambda box: box.y0)
    decoys = [*_off_face_boxes(face, width, height, step=1.0), patch]
    assert len(decoys) >= 10
    passed = [box for box in decoys if confirmed(box, cnn.near(astronaut_bgr, box))]
    assert passed == []


def test_the_cnn_weights_come_from_the_installed_package_and_a_missing_file_is_one_clear_error(tmp_path: Path) -> None:
    assert cnn_weights().name == "mmod_human_face_detector.dat"
    with pytest.raises(FileNotFoundError, match="weights are not at"):
        CnnFaces(tmp_path / "absent.dat")
