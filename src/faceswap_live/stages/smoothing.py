"""Face tracks across frames and One Euro smoothing of each track's landmarks."""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np
import numpy.typing as npt

from faceswap_live.config import SmoothingConfig
from faceswap_live.stages.align import keypoints_from_mesh
from faceswap_live.stages.landmarks import DetectedFace
from faceswap_live.types import Box, FaceLandmarks


def _smoothing_factor(elapsed_s: float, cutoff_hz: npt.NDArray[np.float64] | float) -> npt.NDArray[np.float64]:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
    return np.asarray(1.0 / (1.0 + tau / elapsed_s), dtype=np.float64)


class OneEuroFilter:
    """One Euro filter (Casiez et al. 2012) over an array of values, vectorised.

    Speeds are measured in face sizes per second (divided by `scale`, the face size in pixels), so the same settings
    work for near and far faces and at any resolution.
    """

    def __init__(self, config: SmoothingConfig) -> None:
        self.config = config
        self._value: npt.NDArray[np.float64] | None = None
        self._derivative: npt.NDArray[np.float64] | None = None
        self._time_s = 0.0

    def __call__(self, value: npt.NDArray[np.floating], time_s: float, scale: float = 1.0) -> npt.NDArray[np.float64]:
        current = np.asarray(value, dtype=np.float64)
        if self._value is None or self._derivative is None:
            self._value, self._derivative, self._time_s = current.copy(), np.zeros_like(current), time_s
            return current.copy()
        if time_s <= self._time_s:  # a repeated timestamp carries no new motion information
            return self._value.copy()
        elapsed_s = time_s - self._time_s
        derivative = (current - self._value) / elapsed_s / max(scale, 1e-6)
        derivative_alpha = _smoothing_factor(elapsed_s, self.config.derivative_cutoff_hz)
        self._derivative = self._derivative + derivative_alpha * (derivative - self._derivative)
        cutoff = self.config.min_cutoff_hz + self.config.beta * np.abs(self._derivative)
        alpha = _smoothing_factor(elapsed_s, cutoff)
        self._value = self._value + alpha * (current - self._value)
        self._time_s = time_s
        return self._value.copy()


@dataclass
class _Track:
    track_id: int
    box: Box
    smoother: OneEuroFilter
    missed: int = 0
    history: list[float] = field(default_factory=list)


class FaceTracker:
    """Gives each face a stable track id (box overlap with the previous frame) and smooths its landmarks.

    Not thread-safe: owned by the processing thread.
    """

    def __init__(self, config: SmoothingConfig, max_missed_frames: int = 3, min_overlap: float = 0.2) -> None:
        self.config = config
        self._tracks: list[_Track] = []
        self._next_id = 1
        self._max_missed = max_missed_frames
        self._min_overlap = min_overlap

    def update_config(self, config: SmoothingConfig) -> None:
        self.config = config
        for track in self._tracks:
            track.smoother.config = config

    def update(self, detections: list[DetectedFace], time_s: float) -> list[FaceLandmarks]:
        """Match detections to tracks, smooth, and return faces in detection order (largest first)."""
        boxes = [Box.around(face.points_px) for face in detections]
        unmatched_tracks = list(self._tracks)
        assigned: list[_Track] = []
        for box in boxes:
            best = max(unmatched_tracks, key=lambda track: track.box.iou(box), default=None)
            if best is not None and best.box.iou(box) >= self._min_overlap:
                unmatched_tracks.remove(best)
                track = best
            else:
                track = _Track(self._next_id, box, OneEuroFilter(self.config))
                self._next_id += 1
                self._tracks.append(track)
            track.box, track.missed = box, 0
            assigned.append(track)
        for track in unmatched_tracks:
            track.missed += 1
        self._tracks = [track for track in self._tracks if track.missed <= self._max_missed]

        faces = []
        for detection, box, track in zip(detections, boxes, assigned, strict=True):
            points = detection.points_px
            if self.config.enabled:
                scale = float(max(box.width, box.height))
                points = track.smoother(points, time_s, scale).astype(np.float32)
            faces.append(
                FaceLandmarks(
                    points_px=points,
                    keypoints_px=keypoints_from_mesh(points),
                    box=Box.around(points),
                    track_id=track.track_id,
                    blendshapes=detection.blendshapes,
                )
            )
        return faces

    def reset(self) -> None:
        self._tracks.clear()
