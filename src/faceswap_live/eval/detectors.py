"""Independent face detectors that confirm a drawn face lies on a real face (none is MediaPipe, which the swap uses).

dlib's HOG frontal detector misses heads turned to the side, bowed or half hidden; OpenCV's bundled Haar cascades
(frontal, and profile on the image and on its mirror, so both sides) find some of those; dlib's CNN (MMOD) detector
finds most of the rest, but takes about half a second a look on CPU, so it looks only around one box at a time (a
drawn face the other two do not confirm, and a decoy). A drawn face counts as confirmed when a detector has a box
that overlaps it with IoU >= CONFIRM_IOU. All three are strict enough that a box on a shirt, a wall or a desk is not
confirmed (tests/unit/test_eval_detectors.py).

The CNN's weights come from the `face_recognition_models` package (the `eval` extra): dlib's models by Davis King,
released under CC0 (public domain; the package's LICENSE file), so fine to depend on for evaluation.
"""

from __future__ import annotations

import importlib.util
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
CNN_FULL_FACE: Final = 1.25
"""The CNN's box is the size of dlib's HOG box (median side ratio 0.99 on 98 faces both found in the shared portraits
and single-person clips; 0.995 on 81 faces in v04_multi.avi), 7 % of its height higher; so it is grown like it."""
CNN_WINDOW: Final = 2.0
"""The CNN looks at a window this many times the side of the box it checks, centred on it: room for the face's own
box to sit off the drawn one, and some of the head and background around it, as in a whole frame."""
CNN_FACE_SIDE_PX: Final = 120
"""The window is scaled so that the box checked is this many pixels high: a small face is upsampled (dlib's own remedy
for faces too small for the network: its smallest box is 80 px, and it misses the astronaut's face shrunk to 57 px),
a large one shrunk, so each look costs about the same (a 240 px window: 0.41 s, median of 431 looks on
v04_multi.avi, on a shared CPU)."""
CNN_WEIGHTS_PACKAGE: Final = "face_recognition_models"
CNN_WEIGHTS_FILE: Final = "models/mmod_human_face_detector.dat"


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


def cnn_weights() -> Path:
    """dlib's MMOD face detector weights, from the installed `face_recognition_models` package (the `eval` extra).

    Found without importing the package: its __init__ imports pkg_resources, which new setuptools no longer has.
    """
    spec = importlib.util.find_spec(CNN_WEIGHTS_PACKAGE)
    folders = list(spec.submodule_search_locations or []) if spec is not None else []
    for folder in folders:
        path = Path(folder) / CNN_WEIGHTS_FILE
        if path.is_file():
            return path
    raise FileNotFoundError(
        f"dlib's CNN face detector weights ({CNN_WEIGHTS_FILE} of the {CNN_WEIGHTS_PACKAGE} package) are not "
        'installed; install them with `pip install -e ".[eval]"`.'
    )


class CnnFaces:
    """dlib's CNN (MMOD) face detector, full-face boxes, looking only around one box at a time (it is slow on CPU)."""

    def __init__(self, weights: Path | None = None) -> None:
        path = weights if weights is not None else cnn_weights()
        if not path.is_file():
            raise FileNotFoundError(f"dlib's CNN face detector weights are not at {path}.")
        self._detector = dlib.cnn_face_detection_model_v1(str(path))

    def near(self, image_bgr: BgrImage, region: Box) -> list[Box]:
        """The faces it finds in a window CNN_WINDOW times `region`'s size around it, in image coordinates."""
        height, width = image_bgr.shape[:2]
        window = region.expanded(CNN_WINDOW).clipped(width, height)
        if window.width <= 0 or window.height <= 0:
            return []
        scale = CNN_FACE_SIDE_PX / max(1, region.height)
        crop = image_bgr[window.y0 : window.y1, window.x0 : window.x1]
        size = (max(1, round(window.width * scale)), max(1, round(window.height * scale)))
        scaled = cv2.resize(crop, size, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR)
        rgb = np.ascontiguousarray(cv2.cvtColor(scaled, cv2.COLOR_BGR2RGB))
        scale_x, scale_y = window.width / size[0], window.height / size[1]
        return [
            Box(
                window.x0 + round(found.rect.left() * scale_x),
                window.y0 + round(found.rect.top() * scale_y),
                window.x0 + round(found.rect.right() * scale_x),
                window.y0 + round(found.rect.bottom() * scale_y),
            ).expanded(CNN_FULL_FACE)
            for found in self._detector(rgb, 0)
        ]
