"""Finding faces and following them from frame to frame with MediaPipe's own models, run directly (LiteRT).

MediaPipe's FaceLandmarker graph costs about 27 ms a frame for one face on the 2-core development machine, where its
landmark model alone costs 12 ms and its blendshape model 2 (BENCHMARKS.md): the rest is the graph's image conversions
and its face detector, which runs on every frame while fewer faces are tracked than asked for (asked for one, it smooths
the landmarks itself, which the app must avoid: landmarks.UNSMOOTHED_FACES). Once a face has been found, where it is in
the next frame follows from its landmarks, as in MediaPipe's own tracking: the box around them, turned so that the eyes
are level, grown (TRACKING_CROP_SCALE, CROP_SHIFT_DOWN: framed as the graph frames a face its detector has just found,
so that the scores read as before). The landmark model runs on that crop alone (the same 256 px input, the same 478
points with the irises, in the crop's pixels and mapped back), and the blendshape model on 146 of those points in frame
pixels, as MediaPipe feeds it. When the model's face-presence score falls below the tracking confidence (the face left,
was covered, or turned away) or the face's box jumps in size (a cut to another shot), the face is lost and searched for
again.

Faces are found the same way MediaPipe's graph finds them, without the graph: the bundle's face detector (BlazeFace,
short range: 128 px input, 896 anchors) on the whole frame, and the landmark model on a crop around each face it finds
that is not followed yet (MediaPipe's framing: the detector's box, 1.5 times its longer side, turned so that its eye
points are level). The points come within a fraction of a pixel of the graph's.

All three models are read from the same verified face_landmarker.task bundle (a zip archive) the app already uses.
"""

from __future__ import annotations

import math
import zipfile
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.types import BgrImage, Points3D

FACE_DETECTOR_ENTRY: Final = "face_detector.tflite"
LANDMARK_MODEL_ENTRY: Final = "face_landmarks_detector.tflite"
BLENDSHAPE_MODEL_ENTRY: Final = "face_blendshapes.tflite"
MODEL_INPUT_PX: Final = 256
TRACKING_CROP_SCALE: Final = 1.35
CROP_SHIFT_DOWN: Final = 0.025
"""The crop's side over the longer side of the box around the last landmarks, and its centre moved down by this share
of the box's height. The landmark model's brow and lid points depend on the crop's framing (from a crop 1.5 times the
box, MediaPipe's margin for its own single-face tracking, browDown read 0.4 higher on v16); these are the values whose
landmarks and scores came nearest the graph's own (which crops around its face detector's box) on the fitting clips
(v02, v05, v11, v14, v18: points 0.9 px apart on faces 150-250 px wide, every blendshape's mean within 0.11)."""
DETECTOR_INPUT_PX: Final = 128
DETECTOR_ANCHOR_GRIDS: Final = ((16, 2), (8, 6))
"""BlazeFace short range's anchors: a 16×16 grid with 2 anchors a cell (stride 8), then 8×8 with 6 (stride 16)."""
DETECTION_OVERLAP: Final = 0.3
"""Detections overlapping more than this (IoU) are one face: they are merged, weighted by score, as MediaPipe does."""
DETECTION_CROP_SCALE: Final = 1.5
"""The landmark model's crop around a face just detected: this times the longer side of the detector's box."""
MAX_SIZE_CHANGE: Final = 1.5
"""A followed face whose box grows or shrinks by more than this factor from one frame to the next is taken as lost
(no face does that in a frame's time; a model fooled by something else in the crop can): a new search decides."""
RIGHT_EYE_OUTER: Final = 33
LEFT_EYE_OUTER: Final = 263
BLENDSHAPE_POINTS: Final = (
    0, 1, 4, 5, 6, 7, 8, 10, 13, 14, 17, 21, 33, 37, 39, 40, 46, 52, 53, 54, 55, 58, 61, 63, 65, 66, 67, 70, 78, 80,
    81, 82, 84, 87, 88, 91, 93, 95, 103, 105, 107, 109, 127, 132, 133, 136, 144, 145, 146, 148, 149, 150, 152, 153,
    154, 155, 157, 158, 159, 160, 161, 162, 163, 168, 172, 173, 176, 178, 181, 185, 191, 195, 197, 234, 246, 249, 251,
    263, 267, 269, 270, 276, 282, 283, 284, 285, 288, 291, 293, 295, 296, 297, 300, 308, 310, 311, 312, 314, 317, 318,
    321, 323, 324, 332, 334, 336, 338, 356, 361, 362, 365, 373, 374, 375, 377, 378, 379, 380, 381, 382, 384, 385, 386,
    387, 388, 389, 390, 397, 398, 400, 402, 405, 409, 415, 454, 466, 468, 469, 470, 471, 472, 473, 474, 475, 476, 477,
)  # fmt: skip
"""The mesh points the blendshape model reads (x, y in frame pixels), in its input order."""
_BLENDSHAPE_ROWS: Final = np.asarray(BLENDSHAPE_POINTS, np.intp)
BLENDSHAPE_NAMES: Final = (
    "_neutral", "browDownLeft", "browDownRight", "browInnerUp", "browOuterUpLeft", "browOuterUpRight", "cheekPuff",
    "cheekSquintLeft", "cheekSquintRight", "eyeBlinkLeft", "eyeBlinkRight", "eyeLookDownLeft", "eyeLookDownRight",
    "eyeLookInLeft", "eyeLookInRight", "eyeLookOutLeft", "eyeLookOutRight", "eyeLookUpLeft", "eyeLookUpRight",
    "eyeSquintLeft", "eyeSquintRight", "eyeWideLeft", "eyeWideRight", "jawForward", "jawLeft", "jawOpen", "jawRight",
    "mouthClose", "mouthDimpleLeft", "mouthDimpleRight", "mouthFrownLeft", "mouthFrownRight", "mouthFunnel",
    "mouthLeft", "mouthLowerDownLeft", "mouthLowerDownRight", "mouthPressLeft", "mouthPressRight", "mouthPucker",
    "mouthRight", "mouthRollLower", "mouthRollUpper", "mouthShrugLower", "mouthShrugUpper", "mouthSmileLeft",
    "mouthSmileRight", "mouthStretchLeft", "mouthStretchRight", "mouthUpperUpLeft", "mouthUpperUpRight",
    "noseSneerLeft", "noseSneerRight",
)  # fmt: skip
"""The blendshape model's outputs in order (MediaPipe's category names)."""


@dataclass(frozen=True, slots=True)
class FaceDetection:
    """One face found by the bundle's face detector, in frame pixels."""

    centre: tuple[float, float]
    size: tuple[float, float]
    """The box's width and height (from the brows to the chin, narrower than the landmarks' box)."""
    eye_angle: float
    """The angle of the line from the face's right eye (the left one in the image) to its left, in radians."""
    score: float


class MeshTracker:
    """Faces followed with the bundle's landmark (and blendshape) models, and found with its face detector. One
    instance per thread."""

    def __init__(self, model_path: Path, with_blendshapes: bool) -> None:
        """Raises ImportError (no LiteRT), OSError, KeyError (a bundle without the models) or ValueError when the
        runtime or the bundle's models cannot be loaded; the caller then keeps to MediaPipe's graph alone."""
        from ai_edge_litert.interpreter import Interpreter  # imported here: only the video path needs it

        with zipfile.ZipFile(model_path) as bundle:
            detector_model = bundle.read(FACE_DETECTOR_ENTRY)
            landmark_model = bundle.read(LANDMARK_MODEL_ENTRY)
            blendshape_model = bundle.read(BLENDSHAPE_MODEL_ENTRY) if with_blendshapes else None
        self._detector = Interpreter(model_content=detector_model, num_threads=1)
        self._detector.allocate_tensors()
        self._detector_input = self._detector.get_input_details()[0]["index"]
        outputs = {detail["name"]: detail["index"] for detail in self._detector.get_output_details()}
        self._boxes_output, self._scores_output = outputs["regressors"], outputs["classificators"]
        self._anchors = _detector_anchors()
        # One thread: the pipeline already swaps the previous frame on the other core meanwhile.
        self._landmarks = Interpreter(model_content=landmark_model, num_threads=1)
        self._landmarks.allocate_tensors()
        self._landmarks_input = self._landmarks.get_input_details()[0]["index"]
        outputs = {detail["name"]: detail["index"] for detail in self._landmarks.get_output_details()}
        self._points_output, self._presence_output = outputs["Identity"], outputs["Identity_1"]
        self._blendshapes = None
        if blendshape_model is not None:
            self._blendshapes = Interpreter(model_content=blendshape_model, num_threads=1)
            self._blendshapes.allocate_tensors()
            self._blendshapes_input = self._blendshapes.get_input_details()[0]["index"]
            self._blendshapes_output = self._blendshapes.get_output_details()[0]["index"]

    def detect(self, image_bgr: BgrImage, min_score: float) -> list[FaceDetection]:
        """The faces the bundle's face detector finds in the whole frame with at least min_score, best first."""
        height, width = image_bgr.shape[:2]
        scale = DETECTOR_INPUT_PX / max(width, height)  # letterboxed, as MediaPipe feeds it
        pad = (np.array([DETECTOR_INPUT_PX, DETECTOR_INPUT_PX]) - np.array([width, height]) * scale) / 2.0
        to_input = np.array([[scale, 0.0, pad[0]], [0.0, scale, pad[1]]])
        rgb = cv2.cvtColor(
            cv2.warpAffine(image_bgr, to_input, (DETECTOR_INPUT_PX, DETECTOR_INPUT_PX), flags=cv2.INTER_LINEAR),
            cv2.COLOR_BGR2RGB,
        )
        self._detector.set_tensor(self._detector_input, (rgb.astype(np.float32) * np.float32(2.0 / 255.0) - 1.0)[None])
        self._detector.invoke()
        raw = self._detector.get_tensor(self._boxes_output)[0].astype(np.float64)
        logits = np.clip(self._detector.get_tensor(self._scores_output)[0, :, 0].astype(np.float64), -100.0, 100.0)
        scores = 1.0 / (1.0 + np.exp(-logits))
        keep = np.flatnonzero(scores >= min_score)
        if keep.size == 0:
            return []
        scores = scores[keep]
        anchors = self._anchors[keep] * DETECTOR_INPUT_PX
        # Input pixels: the box's centre and the two eye points are offsets from the anchor, its size absolute.
        centres, sizes = anchors + raw[keep, 0:2], raw[keep, 2:4]
        right_eyes, left_eyes = anchors + raw[keep, 4:6], anchors + raw[keep, 6:8]
        faces = []
        for cluster in _overlapping_clusters(centres, sizes, scores):
            weights = scores[cluster, None] / scores[cluster].sum()
            centre = ((weights * centres[cluster]).sum(axis=0) - pad) / scale
            size = (weights * sizes[cluster]).sum(axis=0) / scale
            eye_line = (weights * (left_eyes[cluster] - right_eyes[cluster])).sum(axis=0)
            faces.append(
                FaceDetection(
                    centre=(float(centre[0]), float(centre[1])),
                    size=(float(size[0]), float(size[1])),
                    eye_angle=math.atan2(float(eye_line[1]), float(eye_line[0])),
                    score=float(scores[cluster[0]]),
                )
            )
        return faces

    def start(
        self, image_bgr: BgrImage, detection: FaceDetection, min_presence: float
    ) -> tuple[Points3D, dict[str, float]] | None:
        """The landmarks of a face the detector found (as follow() gives them), or None when the landmark model sees
        no face there."""
        side = DETECTION_CROP_SCALE * max(detection.size)
        return self._landmarks_in(image_bgr, _square_crop(detection.centre, side, detection.eye_angle), min_presence)

    def follow(
        self, image_bgr: BgrImage, previous_points: Points3D, min_presence: float
    ) -> tuple[Points3D, dict[str, float]] | None:
        """The face whose landmarks were previous_points (478×3 frame pixels) in this frame: (its 478×3 points in
        frame pixels, z at the same scale as x; its blendshape scores, {} without the blendshape model), or None when
        the model's face-presence score is below min_presence or the face's size jumps (MAX_SIZE_CHANGE)."""
        found = self._landmarks_in(image_bgr, tracking_crop(previous_points), min_presence)
        if found is None:
            return None
        size_change = _box_side(found[0]) / max(_box_side(previous_points), 1e-6)
        return found if 1.0 / MAX_SIZE_CHANGE <= size_change <= MAX_SIZE_CHANGE else None

    def _landmarks_in(
        self, image_bgr: BgrImage, crop_to_frame: npt.NDArray[np.float64], min_presence: float
    ) -> tuple[Points3D, dict[str, float]] | None:
        crop = cv2.warpAffine(
            image_bgr,
            crop_to_frame,
            (MODEL_INPUT_PX, MODEL_INPUT_PX),
            flags=cv2.WARP_INVERSE_MAP | cv2.INTER_LINEAR,
            borderMode=cv2.BORDER_CONSTANT,
        )
        rgb = cv2.cvtColor(crop, cv2.COLOR_BGR2RGB).astype(np.float32) * np.float32(1.0 / 255.0)
        self._landmarks.set_tensor(self._landmarks_input, rgb[None])
        self._landmarks.invoke()
        presence_logit = float(self._landmarks.get_tensor(self._presence_output).ravel()[0])
        if 1.0 / (1.0 + math.exp(-max(min(presence_logit, 60.0), -60.0))) < min_presence:
            return None
        raw = self._landmarks.get_tensor(self._points_output).reshape(-1, 3).astype(np.float64)
        points = np.empty_like(raw)
        points[:, :2] = raw[:, :2] @ crop_to_frame[:, :2].T + crop_to_frame[:, 2]
        points[:, 2] = raw[:, 2] * math.hypot(crop_to_frame[0, 0], crop_to_frame[1, 0])  # crop px to frame px
        scores: dict[str, float] = {}
        if self._blendshapes is not None:
            subset = np.ascontiguousarray(points[_BLENDSHAPE_ROWS, :2], np.float32)[None]
            self._blendshapes.set_tensor(self._blendshapes_input, subset)
            self._blendshapes.invoke()
            values = self._blendshapes.get_tensor(self._blendshapes_output).ravel()
            scores = {name: float(value) for name, value in zip(BLENDSHAPE_NAMES, values, strict=True)}
        return points.astype(np.float32), scores


def _detector_anchors() -> npt.NDArray[np.float64]:
    """The face detector's 896 anchor centres, in units of its input's side, in its output order."""
    centres = []
    for grid, per_cell in DETECTOR_ANCHOR_GRIDS:
        rows, columns = np.mgrid[0:grid, 0:grid]
        cells = np.stack([(columns.ravel() + 0.5) / grid, (rows.ravel() + 0.5) / grid], axis=1)
        centres.append(np.repeat(cells, per_cell, axis=0))
    return np.concatenate(centres)


def _overlapping_clusters(
    centres: npt.NDArray[np.float64], sizes: npt.NDArray[np.float64], scores: npt.NDArray[np.float64]
) -> list[npt.NDArray[np.intp]]:
    """Indices of the detections that are one face (IoU above DETECTION_OVERLAP with the best of them), best first."""
    low, high = centres - sizes / 2.0, centres + sizes / 2.0
    areas = np.prod(np.maximum(high - low, 0.0), axis=1)
    remaining = np.argsort(-scores)
    clusters = []
    while remaining.size:
        best = remaining[0]
        overlap = np.prod(
            np.maximum(np.minimum(high[remaining], high[best]) - np.maximum(low[remaining], low[best]), 0.0), axis=1
        )
        iou = overlap / np.maximum(areas[remaining] + areas[best] - overlap, 1e-9)
        clusters.append(remaining[iou > DETECTION_OVERLAP])
        remaining = remaining[iou <= DETECTION_OVERLAP]
    return clusters


def _box_side(points: npt.NDArray[np.floating]) -> float:
    return float(np.ptp(np.asarray(points[:, :2], np.float64), axis=0).max())


def tracking_crop(points: npt.NDArray[np.floating]) -> npt.NDArray[np.float64]:
    """2×3 affine map from the model's 256 px input to frame pixels: a square around the box of points' x, y (its
    centre moved down by CROP_SHIFT_DOWN of the box's height, its side TRACKING_CROP_SCALE times the box's longer
    side), turned so that the outer eye corners are level."""
    xy = np.asarray(points[:, :2], np.float64)
    low, high = xy.min(axis=0), xy.max(axis=0)
    centre = (low + high) / 2.0 + np.array([0.0, CROP_SHIFT_DOWN * float(high[1] - low[1])])
    eye_line = xy[LEFT_EYE_OUTER] - xy[RIGHT_EYE_OUTER]
    side = TRACKING_CROP_SCALE * float((high - low).max())
    return _square_crop((float(centre[0]), float(centre[1])), side, math.atan2(eye_line[1], eye_line[0]))


def _square_crop(centre: tuple[float, float], side: float, angle: float) -> npt.NDArray[np.float64]:
    """2×3 affine map from the landmark model's input to frame pixels: a square of `side` pixels around `centre`,
    turned by `angle`."""
    step = side / MODEL_INPUT_PX
    cos_step, sin_step = math.cos(angle) * step, math.sin(angle) * step
    linear = np.array([[cos_step, -sin_step], [sin_step, cos_step]])
    shift = np.array(centre) - linear @ np.array([MODEL_INPUT_PX / 2.0, MODEL_INPUT_PX / 2.0])
    return np.column_stack([linear, shift])
