"""Face tracks across frames and One Euro smoothing of each track's landmarks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from faceswap_live.config import SmoothingConfig
from faceswap_live.stages.align import keypoints_from_mesh, umeyama
from faceswap_live.stages.landmarks import MESH_POINT_COUNT, DetectedFace
from faceswap_live.stages.mesh_topology import IDENTITY_FIT_POINTS
from faceswap_live.types import Box, FaceLandmarks

POSE_POINTS: Final = IDENTITY_FIT_POINTS
"""Mesh points that move little with expression (eyes, nose bridge, forehead, temples): pose is fitted on them."""


EXPRESSION_DERIVATIVE_CUTOFF_HZ: Final = 4.0
"""How fast the expression filter notices motion: lips move in a tenth of a second, so 1 Hz would notice too late."""


def _smoothing_factor(elapsed_s: float, cutoff_hz: npt.NDArray[np.float64] | float) -> npt.NDArray[np.float64]:
    tau = 1.0 / (2.0 * math.pi * np.asarray(cutoff_hz, dtype=np.float64))
    return np.asarray(1.0 / (1.0 + tau / elapsed_s), dtype=np.float64)


class OneEuroFilter:
    """One Euro filter (Casiez et al. 2012) over an array of values, vectorised.

    Speeds are measured in face sizes per second (divided by `scale`, the face size in the values' units), so the
    same settings work for near and far faces and at any resolution.
    """

    def __init__(
        self,
        min_cutoff_hz: float | npt.NDArray[np.float64],
        beta: float | npt.NDArray[np.float64],
        derivative_cutoff_hz: float,
    ) -> None:
        """min_cutoff_hz and beta may be arrays that broadcast against the values (per-point settings)."""
        self.min_cutoff_hz, self.beta, self.derivative_cutoff_hz = min_cutoff_hz, beta, derivative_cutoff_hz
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
        derivative_alpha = _smoothing_factor(elapsed_s, self.derivative_cutoff_hz)
        self._derivative = self._derivative + derivative_alpha * (derivative - self._derivative)
        cutoff = self.min_cutoff_hz + self.beta * np.abs(self._derivative)
        alpha = _smoothing_factor(elapsed_s, cutoff)
        self._value = self._value + alpha * (current - self._value)
        self._time_s = time_s
        return self._value.copy()


class PoseExpressionSmoother:
    """Smooths one face track's 478×3 mesh as head pose + expression, each with its own One Euro filter.

    Pose is the 2-D similarity (log size, in-plane angle, position) that best maps the track's first mesh onto the
    current one on points that move little with expression (eye corners, nose bridge, forehead, temples). Expression
    is the mesh in that head frame. One filter for the whole mesh would have to choose between a steady head and
    lips that keep up with speech: per point, the lips' motion is small next to the head's jitter.
    """

    def __init__(self, config: SmoothingConfig) -> None:
        self._pose = OneEuroFilter(config.min_cutoff_hz, config.beta, config.derivative_cutoff_hz)
        # Points that hardly move with expression keep the strong filter within the head frame as well: their
        # movement there is noise.
        min_cutoff_hz = np.full((MESH_POINT_COUNT, 1), config.expression_min_cutoff_hz)
        beta = np.full((MESH_POINT_COUNT, 1), config.expression_beta)
        min_cutoff_hz[list(POSE_POINTS)], beta[list(POSE_POINTS)] = config.min_cutoff_hz, config.beta
        self._expression = OneEuroFilter(min_cutoff_hz, beta, EXPRESSION_DERIVATIVE_CUTOFF_HZ)
        self._reference_xy: npt.NDArray[np.float64] | None = None

    def __call__(self, points_px: npt.NDArray[np.floating], time_s: float) -> npt.NDArray[np.float32]:
        points = np.asarray(points_px, dtype=np.float64)
        stable_xy = points[list(POSE_POINTS), :2]
        if self._reference_xy is None:
            # The first mesh, centred and scaled to unit size, is the head frame for the life of the track.
            size = float(np.ptp(stable_xy, axis=0).max()) or 1.0
            self._reference_xy = (stable_xy - stable_xy.mean(axis=0)) / size
        scale, rotation, translation = umeyama(self._reference_xy, stable_xy)
        angle = math.atan2(rotation[1, 0], rotation[0, 0])
        # Pose in face sizes (position divided by the face's size), so one beta suits every distance to the camera.
        pose = self._pose(np.array([math.log(scale), angle, translation[0] / scale, translation[1] / scale]), time_s)
        expression = np.empty_like(points)
        expression[:, :2] = (points[:, :2] - translation) @ rotation / scale  # rotation⁻¹ = rotationᵀ
        expression[:, 2] = points[:, 2] / scale
        expression = self._expression(expression, time_s)

        smooth_scale, smooth_angle = math.exp(pose[0]), pose[1]
        cosine, sine = math.cos(smooth_angle), math.sin(smooth_angle)
        smooth_rotation = np.array([[cosine, -sine], [sine, cosine]])
        result = np.empty_like(points)
        result[:, :2] = smooth_scale * expression[:, :2] @ smooth_rotation.T + pose[2:] * smooth_scale
        result[:, 2] = expression[:, 2] * smooth_scale
        return result.astype(np.float32)


@dataclass
class _Track:
    track_id: int
    box: Box
    smoother: PoseExpressionSmoother
    missed: int = 0


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
        """New filter settings; tracks restart their smoothing from the next frame (a one-frame reset, no lag)."""
        self.config = config
        for track in self._tracks:
            track.smoother = PoseExpressionSmoother(config)

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
                track = _Track(self._next_id, box, PoseExpressionSmoother(self.config))
                self._next_id += 1
                self._tracks.append(track)
            track.box, track.missed = box, 0
            assigned.append(track)
        for track in unmatched_tracks:
            track.missed += 1
        self._tracks = [track for track in self._tracks if track.missed <= self._max_missed]

        faces = []
        for detection, track in zip(detections, assigned, strict=True):
            points = detection.points_px
            if self.config.enabled:
                points = track.smoother(points, time_s)
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
