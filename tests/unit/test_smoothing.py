"""The pose + expression smoother on a synthetic head: what the smoothed face does when the raw one moves."""

from __future__ import annotations

import numpy as np

from faceswap_live.config import SmoothingConfig
from faceswap_live.stages.expression import ExpressionBasis
from faceswap_live.stages.mesh_topology import IRIS_POINT_COUNT
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
