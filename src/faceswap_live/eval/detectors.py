"""Independent face detectors that confirm a drawn face lies on a real face (neither is MediaPipe, which the swap uses).

dlib's HOG frontal detector misses heads turned to the side, bowed or half hidden; OpenCV's bundled Haar cascades
(frontal, and profile on the image and on its mirror, so both sides) find many of those. A drawn face counts as
confirmed when either detector has a box that overlaps it with IoU >= CONFIRM_IOU. Both detectors are strict enough
that a box on a shirt, a wall or a desk is not confirmed (tests/unit/test_eval_detectors.py).
"""

from __future__ import annotations

from pathlib import Path
from typing import Final

import cv2
import dlib
import numpy as np

from faceswap_live.types import BgrImage, Box

CONFIRM_IOU: Final = 0.5
DLIB_FULL_FACE: Final = 1.25
"""dlib's box runs from the brows to the chin; grown 1.25x it is the full face (forehead to chin), as drawn."""
HAAR_FRONTAL_FULL_FACE: Final = 1.15
"""The frontal cascade's box is 1.08x dlib's (v04_multi.avi, 103 faces both found), so 1.15x is the full face."""
HAAR_CASCADES: Final = ("haarcascade_frontalface_alt2.xml", "haarcascade_profileface.xml")
HAAR_MIN_NEIGHBOURS: Final = 5
"""Overlapping hits a Haar box needs: OpenCV's usual strictness, which leaves out most false boxes on clothes."""
HAAR_MIN_SIDE_PX: Final = 30


def confirmed(region: Box, boxes: list[Box]) -> bool:
    """True when one of `boxes` overlaps `region` with IoU >= CONFIRM_IOU."""
    return any(region.iou(box) >= CONFIRM_IOU for box in boxes)


class DlibFaces:
    """dlib's HOG frontal face detector (upsampled once), full-face boxes."""

    def __init__(self) -> None:
        self._detector = dlib.get_frontal_face_detector()

    def __call__(self, image_bgr: BgrImage) -> list[Box]:
        rgb = np.ascontiguousarray(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        return [
            Box(rect.left(), rect.top(), rect.right(), rect.bottom()).expanded(DLIB_FULL_FACE)
            for rect in self._detector(rgb, 1)
        ]


class HaarFaces:
    """OpenCV's Haar cascades: frontal faces, and faces in profile looking either way (the profile cascade is trained
    on one side only, so it also runs on the mirrored image)."""

    def __init__(self, cascade_dir: Path | None = None) -> None:
        folder = Path(cascade_dir if cascade_dir is not None else cv2.data.haarcascades)  # type: ignore[attr-defined]
        self._frontal, self._profile = (cv2.CascadeClassifier(str(folder / name)) for name in HAAR_CASCADES)
        if self._frontal.empty() or self._profile.empty():
            raise FileNotFoundError(f"OpenCV's Haar cascades {HAAR_CASCADES} are not in {folder}.")

    def __call__(self, image_bgr: BgrImage) -> list[Box]:
        gray = cv2.equalizeHist(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY))
        width = gray.shape[1]
        boxes = [box.expanded(HAAR_FRONTAL_FULL_FACE) for box in self._detect(self._frontal, gray)]
        boxes += self._detect(self._profile, gray)
        boxes += [
            Box(width - box.x1, box.y0, width - box.x0, box.y1) for box in self._detect(self._profile, gray[:, ::-1])
        ]
        return boxes

    @staticmethod
    def _detect(cascade: cv2.CascadeClassifier, gray: np.ndarray) -> list[Box]:
        found = cascade.detectMultiScale(
            np.ascontiguousarray(gray),
            scaleFactor=1.1,
            minNeighbors=HAAR_MIN_NEIGHBOURS,
            minSize=(HAAR_MIN_SIDE_PX, HAAR_MIN_SIDE_PX),
        )
        return [Box(int(x), int(y), int(x + w), int(y + h)) for x, y, w, h in found]
