"""Blend stage: face mask, colour match and compositing on a synthetic face mesh (no model needed)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from faceswap_live.config import SwapConfig
from faceswap_live.stages.blend import blend_face, build_face_mask, match_colour
from faceswap_live.stages.mesh_topology import FACE_OVAL, INNER_LIPS, LEFT_EYE, RIGHT_EYE
from faceswap_live.types import Box, FaceLandmarks, SwappedFace

CENTRE = (160.0, 130.0)
AXES = (60.0, 80.0)


def _ring(indices: tuple[int, ...], centre: tuple[float, float], axes: tuple[float, float]) -> np.ndarray:
    angles = np.linspace(-math.pi / 2, 3 * math.pi / 2, len(indices), endpoint=False)
    return np.stack([centre[0] + axes[0] * np.cos(angles), centre[1] + axes[1] * np.sin(angles)], axis=1)


def synthetic_face(mouth_open_px: float = 12.0) -> FaceLandmarks:
    """A 478-point 'mesh' whose oval, inner lips and eyes are ellipses (enough for the mask and colour code)."""
    points = np.zeros((478, 3), np.float32)
    points[:, :2] = CENTRE
    points[list(FACE_OVAL), :2] = _ring(FACE_OVAL, CENTRE, AXES)
    points[list(INNER_LIPS), :2] = _ring(INNER_LIPS, (CENTRE[0], CENTRE[1] + 45), (20.0, mouth_open_px / 2))
    points[list(RIGHT_EYE), :2] = _ring(RIGHT_EYE, (CENTRE[0] - 25, CENTRE[1] - 20), (12.0, 5.0))
    points[list(LEFT_EYE), :2] = _ring(LEFT_EYE, (CENTRE[0] + 25, CENTRE[1] - 20), (12.0, 5.0))
    keypoints = np.zeros((5, 2), np.float32)
    return FaceLandmarks(points_px=points, keypoints_px=keypoints, box=Box.around(points))


def swapped_for(face: FaceLandmarks, colour: tuple[int, int, int] = (90, 140, 200)) -> SwappedFace:
    region = face.box.expanded(1.1)
    face_bgr = np.empty((region.height, region.width, 3), np.uint8)
    face_bgr[:] = colour
    rng = np.random.default_rng(0)
    face_bgr = np.clip(face_bgr + rng.normal(0, 6, face_bgr.shape), 0, 255).astype(np.uint8)
    return SwappedFace(region, face_bgr, np.ones((region.height, region.width), np.float32))


def _oval_polygon(face: FaceLandmarks, region: Box) -> np.ndarray:
    return (face.points_px[list(FACE_OVAL), :2] - (region.x0, region.y0)).astype(np.float32)


def test_mask_is_zero_outside_the_face_oval_and_full_in_the_middle() -> None:
    face = synthetic_face()
    swapped = swapped_for(face)
    mask = build_face_mask(face, swapped, feather=0.08)
    polygon = _oval_polygon(face, swapped.region)
    ys, xs = np.nonzero(mask > 0.02)
    outside = [cv2.pointPolygonTest(polygon, (float(x), float(y)), True) < -1.5 for x, y in zip(xs, ys, strict=True)]
    assert not any(outside), "the mask spills past the face outline"
    centre = (round(CENTRE[1] - swapped.region.y0), round(CENTRE[0] - swapped.region.x0))
    assert mask[centre] > 0.99
    assert mask.shape == (swapped.region.height, swapped.region.width)


def test_feather_falls_monotonically_towards_the_jaw() -> None:
    face = synthetic_face()
    swapped = swapped_for(face)
    mask = build_face_mask(face, swapped, feather=0.15)
    x = round(CENTRE[0] - swapped.region.x0)
    column = mask[round(CENTRE[1] - swapped.region.y0) :, x]  # from the centre down through the chin
    assert np.all(np.diff(column) <= 1e-3), "feather is not monotone"
    assert column[0] > 0.99 and column[-1] < 0.01
    soft = np.count_nonzero((column > 0.05) & (column < 0.95))
    assert soft >= 6, "a feathered edge must fade over several pixels"


def test_open_mouth_and_eyes_are_cut_out_when_the_user_keeps_them() -> None:
    face = synthetic_face(mouth_open_px=20)
    swapped = swapped_for(face)
    mouth = (round(CENTRE[1] + 45 - swapped.region.y0), round(CENTRE[0] - swapped.region.x0))
    eye = (round(CENTRE[1] - 20 - swapped.region.y0), round(CENTRE[0] - 25 - swapped.region.x0))
    plain = build_face_mask(face, swapped, 0.08)
    cut = build_face_mask(face, swapped, 0.08, cut_mouth=True, cut_eyes=True)
    assert plain[mouth] > 0.99 and plain[eye] > 0.99
    assert cut[mouth] < 0.05 and cut[eye] < 0.05
    cheek = (round(CENTRE[1] + 10 - swapped.region.y0), round(CENTRE[0] - 40 - swapped.region.x0))
    assert cut[cheek] > 0.99, "the cuts must stay around the mouth and eyes"


def test_colour_match_moves_the_face_towards_the_frame_light_and_keeps_detail() -> None:
    face = synthetic_face()
    swapped = swapped_for(face, colour=(90, 140, 200))
    mask = build_face_mask(face, swapped, 0.08)
    reference = np.zeros_like(swapped.face_bgr)
    reference[:] = (60, 80, 110)  # a darker, less red room
    matched = match_colour(swapped.face_bgr, reference, mask)
    inside = mask > 0.9
    before = np.abs(swapped.face_bgr[inside].mean(axis=0) - reference[inside].mean(axis=0)).sum()
    after = np.abs(matched[inside].mean(axis=0) - reference[inside].mean(axis=0)).sum()
    assert after < before * 0.25
    detail_before = swapped.face_bgr[inside].astype(np.float32).std(axis=0).mean()
    detail_after = matched[inside].astype(np.float32).std(axis=0).mean()
    assert detail_after > detail_before * 0.4, "relighting must not flatten the texture"


@pytest.mark.parametrize("blend_mode", ["alpha", "poisson"])
def test_blend_writes_only_inside_the_face_region(blend_mode: str) -> None:
    face = synthetic_face()
    swapped = swapped_for(face)
    frame = np.full((300, 340, 3), 40, np.uint8)
    frame[::7] = 200  # some texture, so a stray write would show
    original = frame.copy()
    blend_face(frame, swapped, face, SwapConfig(blend_mode=blend_mode))  # type: ignore[arg-type]
    region = swapped.region
    outside = np.ones(frame.shape[:2], bool)
    outside[region.y0 : region.y1, region.x0 : region.x1] = False
    assert np.array_equal(frame[outside], original[outside])
    centre = (round(CENTRE[1]), round(CENTRE[0]))
    assert not np.array_equal(frame[centre], original[centre]), "the face was not composited"


def test_blend_clips_a_region_partly_outside_the_frame() -> None:
    face = synthetic_face()
    swapped = swapped_for(face)
    frame = np.full((150, 170, 3), 40, np.uint8)  # the face region reaches past the right and bottom edges
    blend_face(frame, swapped, face, SwapConfig())
    assert frame[140, 160].tolist() != [40, 40, 40]


def test_poisson_blending_merges_the_face_edge_into_the_frame_light() -> None:
    """Against a frame far darker than the face (no colour match), the Poisson blend pulls the face's rim towards
    the frame's light, leaving a far smaller step at the edge than the alpha blend's."""
    face = synthetic_face()
    steps = {}
    for blend_mode in ("alpha", "poisson"):
        swapped = swapped_for(face)
        frame = np.full((300, 340, 3), 40, np.uint8)
        settings = SwapConfig(blend_mode=blend_mode, colour_match=False, mask_feather=0.02)  # type: ignore[arg-type]
        blend_face(frame, swapped, face, settings)
        rim = np.zeros(frame.shape[:2], np.uint8)  # a band just inside the face oval
        oval = face.points_px[list(FACE_OVAL), :2].astype(np.int32)
        cv2.fillPoly(rim, [oval], 1)
        inner = cv2.erode(rim, np.ones((9, 9), np.uint8))
        band = (inner > 0) & (cv2.erode(inner, np.ones((9, 9), np.uint8)) == 0)
        steps[blend_mode] = float(np.abs(frame[band].astype(np.float32) - 40).mean())
    assert steps["alpha"] > 60  # the face's own colour right up to its edge
    assert steps["poisson"] < 0.5 * steps["alpha"], steps
