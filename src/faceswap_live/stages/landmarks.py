"""MediaPipe FaceLandmarker: 478-point face meshes in frame pixels. The only module that imports mediapipe."""

from __future__ import annotations

import contextlib
import logging
import re
import threading
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from faceswap_live.config import LandmarkConfig
from faceswap_live.errors import ModelError
from faceswap_live.native_log import native_stderr_to_debug
from faceswap_live.types import BgrImage, Points3D

logger = logging.getLogger(__name__)

_NATIVE_LOG_LINE = re.compile(r"^([IW]\d{4} |WARNING: Logging before InitGoogle|INFO: Created TensorFlow Lite)")
"""MediaPipe's (glog/absl/TFLite) informational lines, written straight to file descriptor 2 by native code."""


@dataclass(frozen=True, slots=True)
class DetectedFace:
    """One face straight from the detector (not yet tracked or smoothed)."""

    points_px: Points3D
    blendshapes: dict[str, float]


class FaceLandmarkDetector:
    """Wraps a MediaPipe FaceLandmarker.

    mode "video": for a stream of frames (uses tracking between frames; timestamps must increase, which this class
    guarantees). mode "image": for independent photos. One instance per thread; call close() when done.
    """

    def __init__(
        self,
        model_path: Path,
        config: LandmarkConfig,
        mode: Literal["video", "image"] = "video",
        with_blendshapes: bool = False,
    ) -> None:
        self.mode = mode
        self._last_timestamp_ms = -1
        running_mode = vision.RunningMode.VIDEO if mode == "video" else vision.RunningMode.IMAGE
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(model_path)),
            running_mode=running_mode,
            num_faces=config.max_faces,
            min_face_detection_confidence=config.min_detection_confidence,
            min_face_presence_confidence=config.min_detection_confidence,
            min_tracking_confidence=config.min_tracking_confidence,
            output_face_blendshapes=with_blendshapes,
        )
        self._first_call = True
        try:
            with native_stderr_to_debug(_NATIVE_LOG_LINE):
                self._landmarker = vision.FaceLandmarker.create_from_options(options)
        except (RuntimeError, ValueError) as error:
            raise ModelError(
                f"The face landmark model {model_path} could not be loaded ({error}). "
                "Run `faceswap-live models verify` and `faceswap-live models fetch face_landmarker`."
            ) from error

    def detect(self, image_bgr: BgrImage, timestamp_ms: int | None = None) -> list[DetectedFace]:
        """Faces in one BGR image (H×W×3 uint8), largest first. In video mode pass the capture time in ms."""
        height, width = image_bgr.shape[:2]
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB))
        # The first inference starts the delegate, which logs a few lines of its own.
        with native_stderr_to_debug(_NATIVE_LOG_LINE) if self._first_call else contextlib.nullcontext():
            self._first_call = False
            if self.mode == "video":
                # MediaPipe rejects timestamps that do not increase; a paused or re-opened source must not crash it.
                stamp = max(int(timestamp_ms or 0), self._last_timestamp_ms + 1)
                self._last_timestamp_ms = stamp
                result = self._landmarker.detect_for_video(image, stamp)
            else:
                result = self._landmarker.detect(image)
        scale = np.array([width, height, width], dtype=np.float32)
        faces = []
        for index, landmarks in enumerate(result.face_landmarks):
            normalised = np.array([(point.x, point.y, point.z) for point in landmarks], dtype=np.float32)
            blendshapes: dict[str, float] = {}
            if result.face_blendshapes:
                blendshapes = {shape.category_name: float(shape.score) for shape in result.face_blendshapes[index]}
            faces.append(DetectedFace(points_px=normalised * scale, blendshapes=blendshapes))
        faces.sort(key=lambda face: -float(np.ptp(face.points_px[:, 0]) * np.ptp(face.points_px[:, 1])))
        return faces

    def close(self) -> None:
        """Release the native graph (letting it be collected at exit prints an exception)."""
        if self._landmarker is None:
            return
        landmarker, self._landmarker = self._landmarker, None
        try:
            landmarker.close()
        except RuntimeError:
            # A worker still busy as the app exits closes its landmarker after Python has shut down the executors
            # MediaPipe closes through (they stop first, before the main thread's end is final); the process is
            # ending and frees the graph itself, so that is no error to show.
            if threading.main_thread().is_alive():
                raise
            # Its finaliser would try again and print the same error; the graph goes with the process.
            landmarker._handle = None
            logger.debug("The landmarker was closed as Python exited")

    def __enter__(self) -> FaceLandmarkDetector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()
