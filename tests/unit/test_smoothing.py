"""The pose + expression smoother on a synthetic head: what the smoothed face does when the raw one moves."""

from __future__ import annotations

import numpy as np

from faceswap_live.config import SmoothingConfig
from faceswap_live.stages.expression import ExpressionBasis
from faceswap_live.stages.mesh_topology import IRIS_POINT_COUNT, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER
from faceswap_live.stages.smoothing import MIN_FACE_ASPECT, PoseExpressionSmoother, face_aspect


def _head(centre: tuple[float, float], width_px: float) -> np.ndarray:
    """A 478×3 mesh: the expression basis's reference head, width_px wide, centred on `centre` (irises at its eyes)."""
    mesh = np.asarray(ExpressionBasis.load().reference, np.float64)
    mesh = (mesh - mesh.mean(axis=0)) / np.ptp(mesh[:, 0]) * width_px
    mesh[:, :2] += centre
    return np.vstack([mesh, np.repeat(mesh[[468 - 1]], IRIS_POINT_COUNT, axis=0)])


def test_a_face_growing_fast_stays_where_it_is() -> None:
    """A face that comes nearer the camera (grows 40 % in four frames) far from the image's corner: the smoothed
    face may lag in size, but not in place. Position and size were once smoothed apart and put back together as a
    product, which pulled a fast-growing face towards the corner (30 px on a real clip)."""
    smoother = PoseExpressionSmoother(SmoothingConfig())
    centre = np.array([600.0, 400.0])
    for frame, width in enumerate([100.0, 100.0, 110.0, 120.0, 130.0, 140.0, 140.0]):
        smoothed = smoother(_head((600.0, 400.0), width), frame / 30.0)
        shift = np.abs(smoothed[:468, :2].mean(axis=0) - centre).max()
        assert shift < 2.0, f"frame {frame}: the face moved {shift:.1f} px while it only grew"


def test_a_still_face_is_returned_where_it_is() -> None:
    smoother = PoseExpressionSmoother(SmoothingConfig())
    head = _head((320.0, 240.0), 150.0)
    for frame in range(5):
        smoothed = smoother(head, frame / 30.0)
    assert np.abs(smoothed - head).max() < 0.01


def test_a_blink_one_frame_long_is_drawn_most_of_the_way_shut() -> None:
    """A user holding still blinks for a single frame (the upper lid down on the lower one): the smoothed lid goes
    down with it and is nearly open again in the next frame. With the lips' filter settings it stopped at 0.145 of
    its gap and was back to only 0.74 of it a frame later (now 0.06 and 0.89)."""
    smoother = PoseExpressionSmoother(SmoothingConfig())
    head = _head((320.0, 240.0), 150.0)
    upper, lower = list(RIGHT_EYE_UPPER[1:-1]), list(RIGHT_EYE_LOWER[1:-1])

    def gap(mesh: np.ndarray) -> float:
        return float(np.linalg.norm(mesh[lower, :2] - mesh[upper, :2], axis=1).mean())

    blinking = head.copy()
    blinking[upper, :2] = head[lower, :2]
    frames = [head] * 10 + [blinking, head]
    gaps = [gap(smoother(mesh, index / 30.0)) / gap(head) for index, mesh in enumerate(frames)]
    assert gaps[10] < 0.1
    assert gaps[11] > 0.85


def test_face_aspect_tells_a_whole_face_from_a_mesh_squeezed_onto_part_of_one() -> None:
    """A whole face is taller than wide at any head tilt; a mesh the landmarker squeezed onto the upper half of a
    blurred face (eyes to nose) is far wider than tall and is refused for a swap (MIN_FACE_ASPECT)."""
    head = _head((320.0, 240.0), 150.0)[:468, :2]
    upright = face_aspect(head)
    assert upright > 1.0
    angle = np.radians(30.0)
    rotation = np.array([[np.cos(angle), -np.sin(angle)], [np.sin(angle), np.cos(angle)]])
    tilted = (head - (320.0, 240.0)) @ rotation.T + (320.0, 240.0)
    assert abs(face_aspect(tilted) - upright) < 1e-6, "a tilted head is the same face"
    squeezed = head.copy()
    squeezed[:, 1] = 240.0 + (head[:, 1] - 240.0) * 0.55
    assert face_aspect(squeezed) < MIN_FACE_ASPECT <= upright
