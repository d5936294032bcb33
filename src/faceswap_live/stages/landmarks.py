"""MediaPipe FaceLandmarker: 478-point face meshes in frame pixels. The only module that imports mediapipe."""

from __future__ import annotations

import contextlib
import logging
import math
import re
import threading
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final, Literal

import cv2
import mediapipe as mp
import numpy as np
from mediapipe.tasks.python import BaseOptions, vision

from faceswap_live.config import LandmarkConfig
from faceswap_live.errors import ModelError
from faceswap_live.native_log import native_stderr_to_debug
from faceswap_live.stages.face_tracking import MeshTracker
from faceswap_live.types import BgrImage, Box, Points3D

logger = logging.getLogger(__name__)

_NATIVE_LOG_LINE = re.compile(r"^([IW]\d{4} |WARNING: Logging before InitGoogle|INFO: Created TensorFlow Lite)")
"""MediaPipe's (glog/absl/TFLite) informational lines, written straight to file descriptor 2 by native code."""


UNSMOOTHED_FACES: Final = 2
"""Faces asked of MediaPipe's graph in video mode when the caller wants one (the graph serves the stream only where
the models cannot run directly, see FaceLandmarkDetector). MediaPipe smooths a single face's landmarks with
its own One Euro filter (face_landmarker_graph smooths only when asked for one face), which left a reopened eye half
shut for a frame or two (the user's own eye drawn through the swap) and dulled fast lips and brows; the app smooths
with its own, tuned filter (stages/smoothing.py). The price: MediaPipe's face detector runs on every frame while fewer
faces than this are tracked (4-6 ms a frame on the 2-core development machine; see BENCHMARKS.md)."""
CROWDED_FRAMES: Final = 15
"""Frames in a row with a face more than asked for in view, after which the detector asks MediaPipe for one face
again (smoothed): each extra face costs a whole landmark search (about 20 ms on that machine), a poster on the wall
included."""
UNSMOOTHED_RETRY_MS: Final = 30_000
"""How long the detector stays with one smoothed face once crowded, before it looks for a single face again."""
SAME_FACE_IOU: Final = 0.5
"""Boxes overlapping more than this are one face: of two followed faces the smaller is dropped (both ran onto one face
as people crossed), and a face the detector finds there is the one already followed."""
FOCUS_GROWTH: Final = 1.6
"""The box of the face followed, grown by this factor, is all a new single-face landmarker sees on its first frame."""


@dataclass(frozen=True, slots=True)
class DetectedFace:
    """One face straight from the detector (not yet tracked or smoothed)."""

    points_px: Points3D
    blendshapes: dict[str, float]


class FaceLandmarkDetector:
    """Wraps a MediaPipe FaceLandmarker.

    mode "video": for a stream of frames (timestamps must increase, which this class guarantees). Faces are found by
    the bundle's face detector and followed from frame to frame by its landmark model, run directly without the graph
    (direct_tracking; stages/face_tracking.py). Where that runtime is missing (or direct_tracking is off) the graph
    searches every frame, with its own tracking; one face asked for is then searched unsmoothed while no other face is
    in view (UNSMOOTHED_FACES, CROWDED_FRAMES). mode "image": for independent photos, with the graph. One instance per
    thread; call close() when done.
    """

    def __init__(
        self,
        model_path: Path,
        config: LandmarkConfig,
        mode: Literal["video", "image"] = "video",
        with_blendshapes: bool = False,
        direct_tracking: bool = True,
    ) -> None:
        self.mode = mode
        self._model_path = model_path
        self._config = config
        self._with_blendshapes = with_blendshapes
        self._last_timestamp_ms = -1
        self._first_call = True
        self._crowded_frames = 0
        self._unsmoothed_again_at_ms = 0
        self._can_unsmooth = mode == "video" and config.max_faces < UNSMOOTHED_FACES
        self._last_box: Box | None = None
        self._focus: Box | None = None
        """Where the face followed was, shown alone to a single-face landmarker on its first frame."""
        self._tracker = _mesh_tracker(model_path, with_blendshapes) if mode == "video" and direct_tracking else None
        self.follows_directly = self._tracker is not None
        """Whether faces are found and followed with the bundle's models run directly, without MediaPipe's graph."""
        self.unsmoothed = self._can_unsmooth and not self.follows_directly
        """Whether MediaPipe's graph is asked for more faces than wanted, so that it leaves the landmarks unsmoothed."""
        self._closed = False
        self._landmarker: vision.FaceLandmarker | None = None
        """MediaPipe's graph, where faces are not found and followed with its models run directly (self._tracker)."""
        if self._tracker is None:
            self._landmarker = self._create(UNSMOOTHED_FACES if self._can_unsmooth else config.max_faces)
        self._followed: list[Points3D] = []
        """The faces' last landmarks while the tracker follows them (empty: a search in the next frame)."""

    def _create(self, num_faces: int) -> vision.FaceLandmarker:
        config = self._config
        options = vision.FaceLandmarkerOptions(
            base_options=BaseOptions(model_asset_path=str(self._model_path)),
            running_mode=vision.RunningMode.VIDEO if self.mode == "video" else vision.RunningMode.IMAGE,
            num_faces=num_faces,
            min_face_detection_confidence=config.min_detection_confidence,
            min_face_presence_confidence=config.min_detection_confidence,
            min_tracking_confidence=config.min_tracking_confidence,
            output_face_blendshapes=self._with_blendshapes,
        )
        try:
            with native_stderr_to_debug(_NATIVE_LOG_LINE):
                return vision.FaceLandmarker.create_from_options(options)
        except (OSError, RuntimeError, ValueError) as error:
            raise ModelError(
                f"The face landmark model {self._model_path} could not be loaded ({error}). "
                "Run `faceswap-live models verify` and `faceswap-live models fetch face_landmarker`."
            ) from error

    def detect(self, image_bgr: BgrImage, timestamp_ms: int | None = None) -> list[DetectedFace]:
        """At most max_faces faces in one BGR image (H×W×3 uint8), largest first; when one face is wanted in video
        mode, the one nearest the face found before (the same person). In video mode pass the capture time in ms."""
        if self._closed:
            raise RuntimeError("The face landmarker is closed.")
        if self._landmarker is None:
            return self._find_and_follow(image_bgr)
        faces = self._search(image_bgr, timestamp_ms)
        if not self._can_unsmooth:
            return faces
        self._choose_landmarker(len(faces), self._last_timestamp_ms)
        if not faces:
            return faces
        chosen, last = faces[0], self._last_box
        if last is not None and len(faces) > 1:
            # The one face wanted stays the person it was (the largest of two alike would change from frame to
            # frame), as MediaPipe's single-face tracking kept it.
            chosen = min(faces, key=lambda face: _centre_distance(Box.around(face.points_px), last))
        self._last_box = Box.around(chosen.points_px)
        return [chosen]

    def _find_and_follow(self, image_bgr: BgrImage) -> list[DetectedFace]:
        """The faces found before, followed; while fewer are followed than wanted, the face detector looks for the
        others in every frame (about 5 ms a look on the development machine), as MediaPipe's graph does with the same
        two models (stages/face_tracking.py). One face wanted is the one nearest where the face was last (the same
        person), else the largest; several are taken largest first."""
        assert self._tracker is not None
        config = self._config
        faces = self._follow(image_bgr)
        if len(faces) < config.max_faces:
            boxes = [Box.around(face.points_px) for face in faces]
            detections = self._tracker.detect(image_bgr, config.min_detection_confidence)
            last = self._last_box
            if config.max_faces == 1 and last is not None:
                was_at = ((last.x0 + last.x1) / 2.0, (last.y0 + last.y1) / 2.0)
                detections.sort(key=lambda found: math.dist(found.centre, was_at))
            else:
                detections.sort(key=lambda found: -found.size[0] * found.size[1])
            for detection in detections:
                if len(faces) == config.max_faces:
                    break
                x, y = detection.centre
                if any(box.x0 <= x < box.x1 and box.y0 <= y < box.y1 for box in boxes):
                    continue  # a face followed already
                started = self._tracker.start(image_bgr, detection, config.min_detection_confidence)
                if started is None or any(Box.around(started[0]).iou(box) > SAME_FACE_IOU for box in boxes):
                    continue
                faces.append(DetectedFace(points_px=started[0], blendshapes=started[1]))
                boxes.append(Box.around(started[0]))
            faces.sort(key=_larger_first)
        self._followed = [face.points_px for face in faces]
        if faces:
            self._last_box = Box.around(faces[0].points_px)
        return faces

    def _follow(self, image_bgr: BgrImage) -> list[DetectedFace]:
        """The faces followed, in this frame, by the landmark model alone, largest first: without those it lost and
        without the smaller of two that ran onto one face (a crossing)."""
        assert self._tracker is not None
        faces: list[DetectedFace] = []
        for previous in self._followed:
            followed = self._tracker.follow(image_bgr, previous, self._config.min_tracking_confidence)
            if followed is not None:
                faces.append(DetectedFace(points_px=followed[0], blendshapes=followed[1]))
        kept: list[DetectedFace] = []
        for face in sorted(faces, key=_larger_first):
            box = Box.around(face.points_px)
            if all(box.iou(Box.around(other.points_px)) <= SAME_FACE_IOU for other in kept):
                kept.append(face)
        return kept

    def _search(self, image_bgr: BgrImage, timestamp_ms: int | None) -> list[DetectedFace]:
        """MediaPipe's full search (its face detector, then the landmark model on each face), largest face first."""
        assert self._landmarker is not None
        height, width = image_bgr.shape[:2]
        rgb = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2RGB)
        if self._focus is not None:
            # A single-face landmarker just made finds whichever face its detector likes best; shown only the face
            # followed so far, it tracks that person from here on.
            box, self._focus = self._focus.clipped(width, height), None
            shown = np.full_like(rgb, 128)
            shown[box.y0 : box.y1, box.x0 : box.x1] = rgb[box.y0 : box.y1, box.x0 : box.x1]
            rgb = shown
        image = mp.Image(image_format=mp.ImageFormat.SRGB, data=rgb)
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
        return sorted(faces, key=_larger_first)

    def _choose_landmarker(self, faces_found: int, stamp_ms: int) -> None:
        """Switch to one smoothed face after CROWDED_FRAMES frames with another face in view, and back after
        UNSMOOTHED_RETRY_MS (for the next frame)."""
        if self.unsmoothed:
            self._crowded_frames = self._crowded_frames + 1 if faces_found > self._config.max_faces else 0
            switch = self._crowded_frames >= CROWDED_FRAMES
            if switch:
                self._unsmoothed_again_at_ms = stamp_ms + UNSMOOTHED_RETRY_MS
                logger.debug("Another face is in view: one face is searched, smoothed by MediaPipe")
        else:
            switch = stamp_ms >= self._unsmoothed_again_at_ms
        if switch:
            # A new landmarker each time (about one frame's time): one kept from before would start from where the
            # face was then.
            try:
                fresh = self._create(self._config.max_faces if self.unsmoothed else UNSMOOTHED_FACES)
            except ModelError as error:  # the model file gone since start: the one running carries on
                logger.warning("%s The face search carries on as it was.", error)
                self._crowded_frames = 0
                self._unsmoothed_again_at_ms = stamp_ms + UNSMOOTHED_RETRY_MS
                return
            stale, self._landmarker = self._landmarker, fresh
            if stale is not None:
                _close(stale)
            if self.unsmoothed and self._last_box is not None:
                self._focus = self._last_box.expanded(FOCUS_GROWTH)
            self.unsmoothed = not self.unsmoothed
            self._crowded_frames = 0

    def close(self) -> None:
        """Release the native graph (letting it be collected at exit prints an exception)."""
        landmarker, self._landmarker, self._closed = self._landmarker, None, True
        if landmarker is not None:
            _close(landmarker)

    def __enter__(self) -> FaceLandmarkDetector:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()


def _mesh_tracker(model_path: Path, with_blendshapes: bool) -> MeshTracker | None:
    """The direct tracker for one face (stages/face_tracking.py), or None (MediaPipe's graph alone) where its runtime
    or the bundle's models cannot be loaded."""
    try:
        with native_stderr_to_debug(_NATIVE_LOG_LINE):  # LiteRT announces its CPU delegate on stderr
            return MeshTracker(model_path, with_blendshapes)
    except (ImportError, OSError, ValueError, KeyError, RuntimeError, zipfile.BadZipFile) as error:
        logger.warning("Faces are searched in every frame (slower): the landmark model could not run alone (%s)", error)
        return None


def _larger_first(face: DetectedFace) -> float:
    return -float(np.ptp(face.points_px[:, 0]) * np.ptp(face.points_px[:, 1]))


def _centre_distance(first: Box, second: Box) -> float:
    return math.hypot(
        (first.x0 + first.x1 - second.x0 - second.x1) / 2.0, (first.y0 + first.y1 - second.y0 - second.y1) / 2.0
    )


def _close(landmarker: vision.FaceLandmarker) -> None:
    try:
        landmarker.close()
    except RuntimeError:
        # A worker still busy as the app exits closes its landmarker after Python has shut down the executors
        # MediaPipe closes through (they stop first, before the main thread's end is final); the process is ending
        # and frees the graph itself, so that is no error to show.
        if threading.main_thread().is_alive():
            raise
        # Its finaliser would try again and print the same error; the graph goes with the process.
        landmarker._handle = None
        logger.debug("The landmarker was closed as Python exited")
