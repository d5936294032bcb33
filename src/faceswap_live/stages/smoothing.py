"""Face tracks across frames and One Euro smoothing of each track's landmarks."""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.config import SmoothingConfig
from faceswap_live.stages.align import keypoints_from_mesh, umeyama
from faceswap_live.stages.landmarks import DetectedFace
from faceswap_live.stages.mesh_topology import (
    IDENTITY_FIT_POINTS,
    LANDMARK_COUNT,
    LEFT_EYE,
    LEFT_EYE_CORNERS,
    MESH_POINT_COUNT,
    RIGHT_EYE,
    RIGHT_EYE_CORNERS,
)
from faceswap_live.types import BgrImage, Box, FaceLandmarks

POSE_POINTS: Final = IDENTITY_FIT_POINTS
"""Mesh points that move little with expression (eyes, nose bridge, forehead, temples): pose is fitted on them."""


EXPRESSION_DERIVATIVE_CUTOFF_HZ: Final = 4.0
"""How fast the expression filter notices motion: lips move in a tenth of a second, so 1 Hz would notice too late."""
LID_BETA_GAIN: Final = 3.0
"""The eye contours' beta, as a multiple of the expression's: a blink can last a single frame, and with the lips'
beta the drawn lid went only part of the way down (v02 frame 19: the lid gap 0.29 of its usual, 0.20 in the frame).
With 3, 0.24; eye-opening r on the fit clips 0.887 -> 0.902, held-out 0.874 -> 0.881, stability unchanged."""
_LID_POINTS: Final = sorted(set(RIGHT_EYE + LEFT_EYE) - set(IDENTITY_FIT_POINTS))


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
        min_cutoff_hz = np.full((LANDMARK_COUNT, 1), config.expression_min_cutoff_hz)
        beta = np.full((LANDMARK_COUNT, 1), config.expression_beta)
        min_cutoff_hz[list(POSE_POINTS)], beta[list(POSE_POINTS)] = config.min_cutoff_hz, config.beta
        beta[_LID_POINTS] = config.expression_beta * LID_BETA_GAIN
        self._expression = OneEuroFilter(min_cutoff_hz, beta, EXPRESSION_DERIVATIVE_CUTOFF_HZ)
        self._reference_xy: npt.NDArray[np.float64] | None = None
        self._reference_size = 1.0

    def __call__(self, points_px: npt.NDArray[np.floating], time_s: float) -> npt.NDArray[np.float32]:
        points = np.asarray(points_px, dtype=np.float64)
        stable_xy = points[list(POSE_POINTS), :2]
        if self._reference_xy is None:
            # The first mesh, centred and scaled to unit size, is the head frame for the life of the track.
            self._reference_size = float(np.ptp(stable_xy, axis=0).max()) or 1.0
            self._reference_xy = (stable_xy - stable_xy.mean(axis=0)) / self._reference_size
        scale, rotation, translation = umeyama(self._reference_xy, stable_xy)
        angle = math.atan2(rotation[1, 0], rotation[0, 0])
        # Position in units of the track's first face size, so one beta suits every distance to the camera. (Divided
        # by the current size instead, the position and the size were smoothed apart and put back together as their
        # product: a face growing fast, as when a new face comes into view, was drawn pulled towards the image's
        # corner, 30 px off on v04.)
        position = translation / self._reference_size
        pose = self._pose(np.array([math.log(scale), angle, position[0], position[1]]), time_s)
        expression = np.empty_like(points)
        expression[:, :2] = (points[:, :2] - translation) @ rotation / scale  # rotation⁻¹ = rotationᵀ
        expression[:, 2] = points[:, 2] / scale
        expression = self._expression(expression, time_s)

        smooth_scale, smooth_angle = math.exp(pose[0]), pose[1]
        cosine, sine = math.cos(smooth_angle), math.sin(smooth_angle)
        smooth_rotation = np.array([[cosine, -sine], [sine, cosine]])
        result = np.empty_like(points)
        result[:, :2] = smooth_scale * expression[:, :2] @ smooth_rotation.T + pose[2:] * self._reference_size
        result[:, 2] = expression[:, 2] * smooth_scale
        return result.astype(np.float32)


DESCRIPTOR_SIDE_PX: Final = 16
"""Side of the face thumbnail in a track's appearance descriptor: coarse enough to ignore expression and blur."""
SHAPE_WEIGHT: Final = 4.0
"""How much the face's shape counts against its appearance in a descriptor distance."""


def face_descriptor(image_bgr: BgrImage, points_px: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """Who a face is, roughly, without a recognition model: its mesh shape and a small colour thumbnail.

    Shape: the pose-fitting points after removing position, size and in-plane angle (a face's proportions).
    Appearance: the face cut by the eye line into a 16×16 Lab thumbnail, each channel normalised, so lighting and
    exposure matter little. Two different people differ in both; one person stays close from frame to frame and
    after leaving and coming back. Returns a unit-length float32 vector; compare with descriptor_distance.
    """
    points = np.asarray(points_px, dtype=np.float64)
    stable = points[list(POSE_POINTS), :2]
    left_eye, right_eye = points[list(LEFT_EYE_CORNERS), :2].mean(axis=0), points[list(RIGHT_EYE_CORNERS), :2].mean(0)
    eye_vector = left_eye - right_eye
    eye_distance = float(np.linalg.norm(eye_vector)) or 1.0
    cosine, sine = eye_vector / eye_distance
    rotation = np.array([[cosine, sine], [-sine, cosine]])  # turns the eye line horizontal
    shape = (stable - stable.mean(axis=0)) @ rotation.T / eye_distance
    shape_vector = (shape - shape.mean(axis=0)).ravel()
    shape_vector /= np.linalg.norm(shape_vector) or 1.0

    # Thumbnail: a square of 2.2 eye distances around the eye-mouth centre, upright.
    centre = points[list(POSE_POINTS), :2].mean(axis=0)
    half = 1.1 * eye_distance
    source = np.array(
        [centre + rotation.T @ np.array(offset) * half for offset in ((-1, -1), (1, -1), (-1, 1))], dtype=np.float32
    )
    side = DESCRIPTOR_SIDE_PX
    destination = np.array([(0, 0), (side, 0), (0, side)], dtype=np.float32)
    warp = cv2.getAffineTransform(source, destination)
    thumbnail = cv2.warpAffine(image_bgr, warp, (side, side), flags=cv2.INTER_AREA, borderMode=cv2.BORDER_REPLICATE)
    lab = cv2.cvtColor(thumbnail, cv2.COLOR_BGR2LAB).astype(np.float64).reshape(-1, 3)
    lab = (lab - lab.mean(axis=0)) / (lab.std(axis=0) + 4.0)
    appearance = np.concatenate([lab.ravel(), lab.mean(axis=0)])
    appearance /= np.linalg.norm(appearance) or 1.0
    vector = np.concatenate([SHAPE_WEIGHT * shape_vector, appearance])
    return np.asarray(vector / np.linalg.norm(vector), dtype=np.float32)


SKIN_SAMPLE_POINTS: Final = (
    50,
    280,
    101,
    330,
    36,
    266,
    205,
    425,
    151,
    9,
    8,
    108,
    337,
    4,
    5,
    195,
    197,
    6,
    123,
    352,
    117,
    346,
)
"""Mesh points on the cheeks, forehead and nose bridge: skin on every face, glasses and beards aside."""


MIN_FACE_ASPECT: Final = 0.8
"""A face mesh whose height is below this share of its width (measured along the eyes' line) is refused for a swap:
the landmarker fitted its mesh to part of a face (a fast, blurred head: eyes to nose squeezed into the whole mesh).
Faces on the shared clips measure 1.08-1.27 (laughing, talking, turning; median 1.15-1.27); the squeezed meshes
that drew a face over half a head on v04 measure 0.66-0.72."""


def face_aspect(points_px: npt.NDArray[np.floating]) -> float:
    """Height over width of a 468-point face mesh, measured along and across the line through the outer eye corners
    (so a tilted head does not count)."""
    points = np.asarray(points_px, dtype=np.float64)[:MESH_POINT_COUNT, :2]
    across = points[LEFT_EYE_CORNERS[1]] - points[RIGHT_EYE_CORNERS[0]]
    length = float(np.hypot(*across)) or 1.0
    unit = across / length
    along = points @ unit
    up = points @ np.array([-unit[1], unit[0]])
    return float(np.ptp(up) / max(float(np.ptp(along)), 1e-9))


def skin_share(image_bgr: BgrImage, points_px: npt.NDArray[np.floating]) -> float:
    """The share of the mesh's cheek, forehead and nose points whose colour is skin (YCrCb chroma box).

    A mesh that slid off a face onto a shirt or a wall (landmark tracking can drift there) scores near 0; real faces
    score near 1 across skin tones, because the test is on chroma (Cr 133-180, Cb 77-135), not on brightness.
    """
    height, width = image_bgr.shape[:2]
    points = np.asarray(points_px)[list(SKIN_SAMPLE_POINTS)]
    xs = np.clip(np.rint(points[:, 0]).astype(np.int64), 0, width - 1)
    ys = np.clip(np.rint(points[:, 1]).astype(np.int64), 0, height - 1)
    pixels = np.ascontiguousarray(image_bgr[ys, xs].reshape(-1, 1, 3))
    chroma = cv2.cvtColor(pixels, cv2.COLOR_BGR2YCrCb).reshape(-1, 3).astype(np.int64)
    skin = (chroma[:, 1] >= 133) & (chroma[:, 1] <= 180) & (chroma[:, 2] >= 77) & (chroma[:, 2] <= 135)
    return float(skin.mean())


def descriptor_distance(first: npt.NDArray[np.float32], second: npt.NDArray[np.float32]) -> float:
    """0 for the same face, about 1 for unrelated faces (the vectors are unit length)."""
    return float(np.linalg.norm(first - second))


LOST_TRACK_MAX_DISTANCE: Final = 0.3
"""A face found near where a track lost its face joins that track only if it looks at least this much alike (a
face coming out from behind another is partly hidden at first, so this is looser than REIDENTIFY_DISTANCE)."""
REIDENTIFY_DISTANCE: Final = 0.17
DESCRIPTOR_UPDATE_DISTANCE: Final = 0.1
"""Descriptor distance under which a new face is taken for a remembered person. Fitted on four shared webcam clips
and two portraits: one person's frames 0.05-0.15 apart (seconds apart, head moving), different people 0.21-0.34."""
DESCRIPTOR_REFRESH_FRAMES: Final = 5
"""A lone face on its own track gets a new descriptor (for its running mean) only every this many frames."""


@dataclass
class _Track:
    track_id: int
    box: Box
    smoother: PoseExpressionSmoother
    descriptor: npt.NDArray[np.float32] | None = None
    velocity: tuple[float, float] = (0.0, 0.0)
    missed: int = 0
    missed_since_s: float = 0.0
    frames_since_descriptor: int = 0

    def predicted_box(self) -> Box:
        """Where the face should be now if it kept moving as it did (constant velocity per missed frame)."""
        steps = self.missed + 1
        dx, dy = round(self.velocity[0] * steps), round(self.velocity[1] * steps)
        return Box(self.box.x0 + dx, self.box.y0 + dy, self.box.x1 + dx, self.box.y1 + dy)

    def observe(self, box: Box, descriptor: npt.NDArray[np.float32] | None) -> None:
        if self.missed == 0:
            centre_shift = (
                (box.x0 + box.x1 - self.box.x0 - self.box.x1) / 2,
                (box.y0 + box.y1 - self.box.y0 - self.box.y1) / 2,
            )
            self.velocity = (
                0.5 * self.velocity[0] + 0.5 * centre_shift[0],
                0.5 * self.velocity[1] + 0.5 * centre_shift[1],
            )
        else:
            self.velocity = (0.0, 0.0)
        self.box, self.missed = box, 0
        self.frames_since_descriptor = 0 if descriptor is not None else self.frames_since_descriptor + 1
        if self.descriptor is None:
            self.descriptor = descriptor
        elif descriptor is not None and descriptor_distance(descriptor, self.descriptor) < DESCRIPTOR_UPDATE_DISTANCE:
            # A slow running mean of clear views only: a half-hidden face (another passing in front) or a blurred
            # frame does not change who the track is.
            self.descriptor = _unit(0.9 * self.descriptor + 0.1 * descriptor)


def _unit(vector: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
    return np.asarray(vector / (np.linalg.norm(vector) or 1.0), dtype=np.float32)


class FaceTracker:
    """Gives each face a stable track id and smooths its landmarks.

    A detection joins the track whose predicted box it overlaps best, weighed with how alike the faces look
    (face_descriptor), in one global best-first assignment: two faces crossing each other keep their own tracks. A
    track survives max_missed_frames frames without a detection (a brief occlusion); after that it is remembered
    for remember_s seconds, and a new face that looks like it (descriptor distance below reidentify_distance) gets
    its id back, so whatever follows the id (a mapped target face) follows the person who left and came back.

    Not thread-safe: owned by the processing thread.
    """

    def __init__(
        self,
        config: SmoothingConfig,
        max_missed_frames: int = 30,
        min_overlap: float = 0.1,
        remember_s: float = 30.0,
        reidentify_distance: float = REIDENTIFY_DISTANCE,
    ) -> None:
        self.config = config
        self._tracks: list[_Track] = []
        self._departed: list[_Track] = []
        self._next_id = 1
        self._max_missed = max_missed_frames
        self._min_overlap = min_overlap
        self._remember_s = remember_s
        self._reidentify_distance = reidentify_distance

    def update_config(self, config: SmoothingConfig) -> None:
        """New filter settings; tracks restart their smoothing from the next frame (a one-frame reset, no lag)."""
        self.config = config
        for track in self._tracks:
            track.smoother = PoseExpressionSmoother(config)

    def update(
        self, detections: list[DetectedFace], time_s: float, image_bgr: BgrImage | None = None
    ) -> list[FaceLandmarks]:
        """Match detections to tracks, smooth, and return faces in detection order (largest first).

        image_bgr: the frame the detections come from; with it, tracks also match by appearance (crossings, faces
        coming back), without it by position alone.
        """
        boxes = [Box.around(face.points_px) for face in detections]
        descriptors: list[npt.NDArray[np.float32] | None] = [None] * len(detections)
        if image_bgr is not None and not self._only_one_face_where_it_was(boxes):
            descriptors = [face_descriptor(image_bgr, face.points_px[:, :2]) for face in detections]
        assigned = self._assign(boxes, descriptors)
        for index, box in enumerate(boxes):
            if assigned[index] is None:
                assigned[index] = self._reidentify(descriptors[index], time_s)
            track = assigned[index]
            if track is None:
                track = _Track(self._next_id, box, PoseExpressionSmoother(self.config))
                self._next_id += 1
                self._tracks.append(track)
                assigned[index] = track
            track.observe(box, descriptors[index])
        matched = {id(track) for track in assigned}
        for track in self._tracks:
            if id(track) not in matched:
                if track.missed == 0:
                    track.missed_since_s = time_s
                track.missed += 1
        gone = [track for track in self._tracks if track.missed > self._max_missed]
        self._tracks = [track for track in self._tracks if track.missed <= self._max_missed]
        self._departed = [
            track
            for track in self._departed + [t for t in gone if t.descriptor is not None]
            if time_s - track.missed_since_s <= self._remember_s
        ]

        faces = []
        for detection, track in zip(detections, assigned, strict=True):
            assert track is not None
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

    def _only_one_face_where_it_was(self, boxes: list[Box]) -> bool:
        """One face, one track, seen last frame where the face is now: who it is cannot be in doubt, so its
        descriptor (a third of the tracker's time) is refreshed only every DESCRIPTOR_REFRESH_FRAMES frames."""
        if len(boxes) != 1 or len(self._tracks) != 1:
            return False
        track = self._tracks[0]
        return (
            track.missed == 0
            and track.descriptor is not None
            and track.frames_since_descriptor < DESCRIPTOR_REFRESH_FRAMES
            and track.box.iou(boxes[0]) >= self._min_overlap
        )

    def _assign(self, boxes: list[Box], descriptors: list[npt.NDArray[np.float32] | None]) -> list[_Track | None]:
        """Best-first global matching of detections to live tracks on overlap with the predicted box and looks.

        Cost = (1 - IoU) + descriptor distance; pairs that do not overlap at all (below min_overlap) never match. With
        at most a handful of faces a greedy pass over the sorted costs finds the same pairs as an optimal solver.
        """
        candidates = []
        for detection_index, box in enumerate(boxes):
            for track in self._tracks:
                overlap = max(track.predicted_box().iou(box), track.box.iou(box))
                if overlap < self._min_overlap:
                    continue
                descriptor = descriptors[detection_index]
                looks = 0.0
                if descriptor is not None and track.descriptor is not None:
                    looks = descriptor_distance(descriptor, track.descriptor)
                    if track.missed > 0 and looks > LOST_TRACK_MAX_DISTANCE:
                        continue  # someone else where a lost face was: a new person, not the lost one
                candidates.append((1.0 - overlap + looks, detection_index, track))
        candidates.sort(key=lambda candidate: candidate[0])
        assigned: list[_Track | None] = [None] * len(boxes)
        taken: set[int] = set()
        for _, detection_index, track in candidates:
            if assigned[detection_index] is None and id(track) not in taken:
                assigned[detection_index] = track
                taken.add(id(track))
        return assigned

    def _reidentify(self, descriptor: npt.NDArray[np.float32] | None, time_s: float) -> _Track | None:
        """A remembered (departed) track that looks like this new face, brought back; None if none is close."""
        if descriptor is None or not self._departed:
            return None
        distances = [
            descriptor_distance(descriptor, track.descriptor)
            for track in self._departed
            if track.descriptor is not None
        ]
        best = int(np.argmin(distances))
        if distances[best] > self._reidentify_distance:
            return None
        track = self._departed.pop(best)
        track.smoother = PoseExpressionSmoother(self.config)
        track.missed, track.velocity = 0, (0.0, 0.0)
        self._tracks.append(track)
        return track

    def reset(self) -> None:
        self._tracks.clear()
        self._departed.clear()
