"""The mesh's named points and counts (stages/mesh_topology.py) match what the real landmarker returns."""

from __future__ import annotations

from pathlib import Path

import numpy as np

from faceswap_live.config import LandmarkConfig
from faceswap_live.stages.align import keypoints_from_mesh
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.stages.mesh_topology import (
    IRIS_POINT_COUNT,
    LANDMARK_COUNT,
    LEFT_EYE,
    LEFT_EYE_CORNERS,
    MESH_POINT_COUNT,
    MOUTH_CORNERS,
    RIGHT_EYE,
    RIGHT_EYE_CORNERS,
    TESSELATION_TRIANGLES,
)


def test_the_triangles_cover_exactly_the_surface_points() -> None:
    assert set(TESSELATION_TRIANGLES.ravel().tolist()) == set(range(MESH_POINT_COUNT))
    assert LANDMARK_COUNT == MESH_POINT_COUNT + IRIS_POINT_COUNT == 478


def test_right_and_left_are_the_persons_own_and_the_iris_points_come_last(
    landmark_model_path: Path, hopper_bgr: np.ndarray
) -> None:
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(), mode="image") as detector:
        faces = detector.detect(hopper_bgr)
    points = faces[0].points_px
    assert points.shape == (LANDMARK_COUNT, 3)
    # Hopper faces the camera: her right eye and right mouth corner are on the image's left.
    assert points[list(RIGHT_EYE_CORNERS), 0].max() < points[list(LEFT_EYE_CORNERS), 0].min()
    assert points[MOUTH_CORNERS[0], 0] < points[MOUTH_CORNERS[1], 0]
    keypoints = keypoints_from_mesh(points)
    np.testing.assert_allclose(keypoints[0], points[list(RIGHT_EYE_CORNERS), :2].mean(axis=0), atol=1e-3)
    # The points after the surface are the irises: each one inside an eye's outline.
    eyes = [points[list(contour), :2] for contour in (RIGHT_EYE, LEFT_EYE)]
    for iris_point in points[MESH_POINT_COUNT:, :2]:
        assert any(
            (eye.min(axis=0) - 2.0 <= iris_point).all() and (iris_point <= eye.max(axis=0) + 2.0).all() for eye in eyes
        )
