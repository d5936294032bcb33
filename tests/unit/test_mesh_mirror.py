"""The mesh's mirror table (mesh_topology.MIRROR_POINTS) and the turn part of engines/symmetric_fill.py."""

from __future__ import annotations

import numpy as np

from faceswap_live.engines.symmetric_fill import mirror_weights
from faceswap_live.stages.expression import ExpressionBasis
from faceswap_live.stages.mesh_topology import (
    CHEEK_EDGES,
    LEFT_EYE,
    LEFT_EYE_CORNERS,
    MESH_POINT_COUNT,
    MIRROR_POINTS,
    MOUTH_CORNERS,
    NOSE_TIP,
    RIGHT_EYE,
    RIGHT_EYE_CORNERS,
    TESSELATION_TRIANGLES,
)


def test_each_point_has_one_mirror_point_across_the_midline() -> None:
    assert MIRROR_POINTS.shape == (MESH_POINT_COUNT,)
    assert np.array_equal(MIRROR_POINTS[MIRROR_POINTS], np.arange(MESH_POINT_COUNT))  # mirroring twice: no change
    assert MIRROR_POINTS[NOSE_TIP] == NOSE_TIP
    for right, left in (
        (RIGHT_EYE_CORNERS[0], LEFT_EYE_CORNERS[1]),  # outer corners
        (RIGHT_EYE_CORNERS[1], LEFT_EYE_CORNERS[0]),  # inner corners
        MOUTH_CORNERS,
        CHEEK_EDGES,
    ):
        assert MIRROR_POINTS[right] == left
    assert set(MIRROR_POINTS[list(RIGHT_EYE)]) == set(LEFT_EYE)
    triangles = {tuple(sorted(triangle)) for triangle in TESSELATION_TRIANGLES.tolist()}
    mirrored = {tuple(sorted(MIRROR_POINTS[list(triangle)].tolist())) for triangle in triangles}
    assert len(triangles & mirrored) >= 0.98 * len(triangles)  # the rest: quads split along the other diagonal
    # On the mean head, a point and its mirror point lie at the same height and depth, at opposite sides.
    reference = ExpressionBasis.load().reference
    mirrored_points = reference[MIRROR_POINTS] * np.array([-1.0, 1.0, 1.0])
    width = float(np.ptp(reference[:, 0]))
    assert float(np.abs(mirrored_points - reference).max()) < 0.04 * width


def _turned_head(yaw_deg: float) -> np.ndarray:
    """The mean head turned by yaw_deg, as a 468×3 mesh in pixels (x right, y down, MediaPipe's depth)."""
    yaw = np.radians(yaw_deg)
    turn = np.array([[np.cos(yaw), 0.0, np.sin(yaw)], [0.0, 1.0, 0.0], [-np.sin(yaw), 0.0, np.cos(yaw)]])
    return np.asarray(ExpressionBasis.load().reference @ turn * 300.0 + [320.0, 240.0, 0.0], np.float32)


def test_only_a_turned_photo_has_its_far_cheek_drawn_from_its_near_cheek() -> None:
    assert mirror_weights(_turned_head(0.0)) is None
    assert mirror_weights(_turned_head(5.0)) is None  # a photo nearly facing the camera is drawn as taken
    turned = mirror_weights(_turned_head(25.0))
    other_way = mirror_weights(_turned_head(-25.0))
    assert turned is not None and other_way is not None
    # One cheek is drawn from the other: never both, and the mirrored turn mirrors the weights.
    right_cheek, left_cheek = 123, 352  # between the cheekbone and the outline
    assert (turned[right_cheek] > 0.5) != (turned[left_cheek] > 0.5)
    # (The mean head is not quite symmetric: 0.14 apart at most.)
    assert float(np.abs(turned - other_way[MIRROR_POINTS]).max()) < 0.2
    assert float(np.minimum(turned, turned[MIRROR_POINTS]).max()) == 0.0
    assert float(turned[list(RIGHT_EYE + LEFT_EYE)].max()) == 0.0
