"""An independent judge of identity: dlib's ResNet face recogniser (not used anywhere in the swap pipeline).

The only module that imports dlib (from the dlib-bin package). Models: `dlib_face_recognition_resnet_model_v1.dat`
and `shape_predictor_5_face_landmarks.dat` (CC0), found in ../shared/models/eval here. Distances below 0.6 mean
"same person" by the model's own convention.
"""

from __future__ import annotations

import logging
from pathlib import Path
from typing import Final

import cv2
import dlib
import numpy as np
import numpy.typing as npt

from faceswap_live.errors import ModelError
from faceswap_live.types import BgrImage, Box

logger = logging.getLogger(__name__)

RECOGNISER_FILE: Final = "dlib_face_recognition_resnet_model_v1.dat"
SHAPE_PREDICTOR_FILE: Final = "shape_predictor_5_face_landmarks.dat"
SAME_PERSON_DISTANCE: Final = 0.6
Embedding = npt.NDArray[np.float64]


class FaceRecogniser:
    """dlib face detector + 5-point aligner + 128-d ResNet descriptor. One instance per thread; ~80 ms a face."""

    def __init__(self, models_dir: Path) -> None:
        recogniser_path, predictor_path = models_dir / RECOGNISER_FILE, models_dir / SHAPE_PREDICTOR_FILE
        for path in (recogniser_path, predictor_path):
            if not path.is_file():
                raise ModelError(
                    f"The evaluation model {path} is missing; `faceswap-live models fetch dlib_face_recognition` and "
                    "`faceswap-live models fetch dlib_shape_predictor_5` put both in one folder."
                )
        self._detector = dlib.get_frontal_face_detector()
        self._predictor = dlib.shape_predictor(str(predictor_path))
        self._recogniser = dlib.face_recognition_model_v1(str(recogniser_path))

    def embed(self, image_bgr: BgrImage, near: Box | None = None) -> Embedding | None:
        """128-d descriptor of the largest face (near `near`, searched in a crop around it), or None if dlib finds none.

        image_bgr: H×W×3 uint8 BGR. Detection is dlib's own (HOG), so a face the swap mangled may not be found.
        """
        height, width = image_bgr.shape[:2]
        crop_box = Box(0, 0, width, height) if near is None else near.expanded(1.8).clipped(width, height)
        crop = image_bgr[crop_box.y0 : crop_box.y1, crop_box.x0 : crop_box.x1]
        # HOG finds faces from ~80 px; scale big crops down (faster) and small ones up (found at all).
        scale = float(np.clip(200.0 / max(1, max(crop.shape[:2]) / 1.8), 0.25, 2.0))
        resized = cv2.resize(
            crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
        )
        rgb = np.ascontiguousarray(cv2.cvtColor(resized, cv2.COLOR_BGR2RGB))
        detections = self._detector(rgb, 0)
        if len(detections) == 0:
            detections = self._detector(rgb, 1)
        if len(detections) == 0:
            return None
        largest = max(detections, key=lambda rect: rect.area())
        shape = self._predictor(rgb, largest)
        return np.asarray(self._recogniser.compute_face_descriptor(rgb, shape), dtype=np.float64)


def face_distance(first: Embedding, second: Embedding) -> float:
    """Euclidean distance between two descriptors (< 0.6: the same person for dlib)."""
    return float(np.linalg.norm(first - second))
