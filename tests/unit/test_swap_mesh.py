"""Mesh engine pieces that need no model: the vectorised rasteriser, the topology, the yaw fade."""

from __future__ import annotations

import itertools
import math

import cv2
import numpy as np

from faceswap_live.engines.mesh_raster import BARYCENTRIC_TOLERANCE, rasterise_triangles
from faceswap_live.engines.mesh_swapper import (
    PHOTO_FADE_FRAMES,
    PHOTO_MAIN_PREFERENCE,
    PHOTO_SWITCH_MARGIN,
    RIM_RINGS,
    MeshFaceSwapper,
    _user_mouth_moved,
    choose_photo,
    foreshortened_rim,
    in_colours_of,
    rim_stretch_fade,
    triangle_edges_inverse,
)
from faceswap_live.stages.blend import LIP_DETAIL_GROW, LIP_DETAIL_SIGMA
from faceswap_live.stages.expression import ExpressionBasis
from faceswap_live.stages.mesh_topology import (
    EYE_FILL_TRIANGLES,
    FACE_OVAL,
    INNER_LIP_LOWER,
    INNER_LIP_UPPER,
    MOUTH_FILL_TRIANGLES,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    TESSELATION_TRIANGLES,
    ring_distance,
)
from faceswap_live.types import Box

_LIPS = list(INNER_LIP_UPPER + INNER_LIP_LOWER + OUTER_LIP_UPPER + OUTER_LIP_LOWER)


def _square(x0: float, y0: float, size: float) -> np.ndarray:
    """Two triangles tiling a square, wound like a front-facing MediaPipe triangle (negative area, y down)."""
    a, b, c, d = (x0, y0), (x0 + size, y0), (x0 + size, y0 + size), (x0, y0 + size)
    return np.array([[a, d, c], [a, c, b]], np.float32)


def test_tesselation_is_mediapipes_852_triangles_over_the_468_surface_points() -> None:
    assert TESSELATION_TRIANGLES.shape == (852, 3)
    assert TESSELATION_TRIANGLES.min() == 0 and TESSELATION_TRIANGLES.max() == 467
    assert len({tuple(sorted(triangle)) for triangle in TESSELATION_TRIANGLES.tolist()}) == 852
    # The fills close the holes the tesselation leaves at the mouth and the eyes.
    assert MOUTH_FILL_TRIANGLES.shape[0] == 18 and EYE_FILL_TRIANGLES.shape[0] == 28


def test_rasteriser_covers_every_pixel_of_a_tiled_square_exactly_once() -> None:
    vertices = _square(2.0, 3.0, 10.0)
    raster = rasterise_triangles(vertices, np.zeros(2, np.float32), width=20, height=20)
    covered = np.zeros(400, int)
    np.add.at(covered, raster.pixel_index, 1)
    grid = covered.reshape(20, 20)
    assert grid[3:14, 2:13].min() == 1 and grid.max() == 1
    assert grid.sum() == 11 * 11
    # Barycentric weights reproduce the pixel position.
    triangle_vertices = vertices[raster.triangle]
    position = (
        triangle_vertices[:, 0]
        + raster.weight_b[:, None] * (triangle_vertices[:, 1] - triangle_vertices[:, 0])
        + raster.weight_c[:, None] * (triangle_vertices[:, 2] - triangle_vertices[:, 0])
    )
    expected = np.stack([raster.pixel_index % 20, raster.pixel_index // 20], axis=1)
    assert np.allclose(position, expected, atol=1e-3)


def test_rasteriser_skips_back_facing_triangles_and_keeps_the_nearest() -> None:
    front = _square(0.0, 0.0, 8.0)
    back = front[:, ::-1].copy()  # same place, reversed winding: seen from behind
    raster = rasterise_triangles(back, np.zeros(2, np.float32), width=10, height=10)
    assert raster.pixel_index.size == 0
    near_and_far = np.concatenate([_square(0.0, 0.0, 8.0), _square(0.0, 0.0, 8.0)])
    depth = np.array([5.0, 5.0, -5.0, -5.0], np.float32)  # the second square is nearer (MediaPipe z < 0)
    raster = rasterise_triangles(near_and_far, depth, width=10, height=10)
    assert set(raster.triangle.tolist()) == {2, 3}
    assert raster.pixel_index.size == np.unique(raster.pixel_index).size == 81


def test_rasteriser_clips_triangles_outside_the_grid() -> None:
    raster = rasterise_triangles(_square(-5.0, -5.0, 10.0), np.zeros(2, np.float32), width=4, height=4)
    assert raster.pixel_index.size == 16  # the visible quarter only, no wrap-around


def test_rasteriser_matches_a_per_pixel_test_on_random_overlapping_triangles() -> None:
    rng = np.random.default_rng(3)
    triangles = rng.uniform(-4.0, 36.0, (60, 3, 2)).astype(np.float32)
    triangles[:5, :, 0] = np.round(triangles[:5, :, 0])  # edges exactly vertical, on pixel centres
    triangles[5:10, :, 1] = np.round(triangles[5:10, :, 1])  # and exactly horizontal, along a row
    depth = rng.permutation(60).astype(np.float32)
    raster = rasterise_triangles(triangles, depth, width=32, height=24)
    # Reference: every pixel against every triangle; the nearest front-facing triangle that contains it wins.
    ys, xs = np.mgrid[0:24, 0:32]
    a, ab, ac = triangles[:, 0], triangles[:, 1] - triangles[:, 0], triangles[:, 2] - triangles[:, 0]
    area = ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0]
    dx, dy = xs[None] - a[:, 0, None, None], ys[None] - a[:, 1, None, None]
    weight_b = (dx * ac[:, 1, None, None] - dy * ac[:, 0, None, None]) / area[:, None, None]
    weight_c = (ab[:, 0, None, None] * dy - ab[:, 1, None, None] * dx) / area[:, None, None]
    tolerance = BARYCENTRIC_TOLERANCE  # the rasteriser's own: pixels a hair outside an edge count as inside
    inside = (weight_b >= -tolerance) & (weight_c >= -tolerance) & (weight_b + weight_c <= 1 + tolerance)
    inside &= (area < -1e-3)[:, None, None]
    nearest = np.where(inside, depth[:, None, None], np.inf).argmin(axis=0)
    expected = np.where(inside.any(axis=0), nearest, -1).ravel()
    drawn = np.full(32 * 24, -1)
    drawn[raster.pixel_index] = raster.triangle
    assert np.array_equal(drawn, expected)
    assert (drawn >= 0).sum() > 200


def test_the_users_mouth_is_moved_wherever_blend_reads_it() -> None:
    """The engine warps only a window around the drawn lips; it must hold what lip_detail_from_user reads."""
    rng = np.random.default_rng(1)
    frame = rng.integers(0, 255, (240, 320, 3), dtype=np.uint8)
    head = ExpressionBasis.load().reference[:, :2]
    user = ((head - head.min(axis=0)) * 150.0 + (80.0, 40.0)).astype(np.float32)
    drawn = user.copy()
    drawn[_LIPS] += (3.0, -2.0)  # the drawn lips moved
    region = Box.around(user).expanded(1.04).clipped(320, 240)
    moved = _user_mouth_moved(frame, region, user, drawn)
    assert moved is not None
    # The drawn lips are the user's moved by (3, -2): each drawn pixel shows the user's frame 3 px left and 2 px down
    # of it.
    shift_back = np.array([[1.0, 0.0, -3.0], [0.0, 1.0, 2.0]])
    everywhere = cv2.warpAffine(frame, shift_back, (320, 240), flags=cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP)
    face_width = float(np.ptp(user[list(FACE_OVAL), 0]))
    margin = int(np.ceil(2.0 * LIP_DETAIL_GROW * face_width + 3.0 * LIP_DETAIL_SIGMA * face_width)) + 1
    lips = drawn[list(OUTER_LIP_UPPER) + list(OUTER_LIP_LOWER)]
    x0, y0 = (np.floor(lips.min(axis=0)).astype(int) - margin).tolist()
    x1, y1 = (np.ceil(lips.max(axis=0)).astype(int) + margin + 1).tolist()
    read = (slice(y0, y1), slice(x0, x1))
    window = moved[y0 - region.y0 : y1 - region.y0, x0 - region.x0 : x1 - region.x0]
    # Away from the region's border (where the whole-frame warp can see past it), the two agree.
    inner = (slice(2, -2), slice(2, -2))
    assert np.abs(window[inner].astype(int) - everywhere[read][inner].astype(int)).max() <= 1
    # And outside the window the frame is left as it is.
    assert np.array_equal(moved[:4], frame[region.y0 : region.y0 + 4, region.x0 : region.x1])


def test_a_closed_mouths_lips_are_moved_whole_not_stretched() -> None:
    """With the mouth closed the inner lip lines lie a pixel apart: a fit on them alone took the landmarks' half-pixel
    noise for the mouth's height and stretched the user's lips into vertical streaks."""
    rows = np.arange(240, dtype=np.float32)[:, None]
    frame = np.repeat(np.clip(128.0 + 100.0 * np.sin(rows / 3.0), 0, 255).astype(np.uint8), 320, axis=1)
    frame = np.dstack([frame] * 3)  # horizontal lines, as lip lines are
    head = ExpressionBasis.load().reference[:, :2]
    user = ((head - head.min(axis=0)) * 150.0 + (80.0, 40.0)).astype(np.float32)
    user[list(INNER_LIP_LOWER)[1:-1], 1] = user[list(INNER_LIP_UPPER)[1:-1], 1] + 1.0  # a closed mouth
    drawn = user.copy()
    drawn[_LIPS] += (3.0, -2.0)
    rng = np.random.default_rng(2)
    drawn[list(INNER_LIP_UPPER) + list(INNER_LIP_LOWER), 1] += rng.uniform(-0.5, 0.5, 22).astype(np.float32)
    region = Box.around(user).expanded(1.04).clipped(320, 240)
    moved = _user_mouth_moved(frame, region, user, drawn)
    assert moved is not None
    lips = drawn[_LIPS] - (region.x0, region.y0)
    (x0, y0), (x1, y1) = np.floor(lips.min(axis=0)).astype(int), np.ceil(lips.max(axis=0)).astype(int)
    expected = frame[region.y0 + y0 + 2 : region.y0 + y1 + 2, region.x0 + x0 - 3 : region.x0 + x1 - 3].astype(int)
    assert np.abs(moved[y0:y1, x0:x1].astype(int) - expected).mean() < 8.0


def test_face_fades_out_smoothly_as_the_head_turns() -> None:
    engine = MeshFaceSwapper()
    fades = [engine._fade_for_yaw(yaw) for yaw in range(0, 91, 5)]
    assert fades[0] == 1.0 and fades[-1] == 0.0
    assert all(later <= earlier for earlier, later in itertools.pairwise(fades))
    assert any(0.0 < fade < 1.0 for fade in fades)


def test_engine_without_target_swaps_nothing() -> None:
    from faceswap_live.config import SwapConfig
    from faceswap_live.types import Box, FaceLandmarks

    face = FaceLandmarks(np.zeros((478, 3), np.float32), np.zeros((5, 2), np.float32), Box(0, 0, 10, 10))
    assert MeshFaceSwapper().swap_face(np.zeros((20, 20, 3), np.uint8), face, None, SwapConfig()) is None


def test_the_far_cheek_of_a_turned_photo_stretched_onto_the_rim_fades_to_the_users_own() -> None:
    """A photo turned to one side shows its far cheek squeezed across; drawn on a frontal face those rim triangles are
    stretched across and smear into streaks: they fade (the user's own cheek shows), from the outline well into the
    cheek. A frontal photo drawn on a user who turns (the near cheek stretched), a turned photo drawn on a user who
    comes nearer the camera, and a frontal photo of a face longer than the mean are drawn whole. The meshes are the
    expression basis's reference head, turned about the vertical axis and seen by the camera, 200 px wide."""
    reference = np.asarray(ExpressionBasis.load().reference, np.float64)

    def photographed(yaw_deg: float, stretch_y: float = 1.0) -> np.ndarray:
        angle = math.radians(yaw_deg)
        turn = np.array(
            [[math.cos(angle), 0.0, math.sin(angle)], [0.0, 1.0, 0.0], [-math.sin(angle), 0.0, math.cos(angle)]]
        )
        mesh = reference @ turn * (200.0 / np.ptp(reference[:, 0])) + (150.0, 150.0, 0.0)
        mesh[:, 1] = 150.0 + (mesh[:, 1] - 150.0) * stretch_y
        return mesh

    def fade_for(photo: np.ndarray, drawn: np.ndarray) -> np.ndarray:
        corners = drawn[TESSELATION_TRIANGLES, :2]
        ab, ac = corners[:, 1] - corners[:, 0], corners[:, 2] - corners[:, 0]
        areas = np.asarray(ab[:, 0] * ac[:, 1] - ab[:, 1] * ac[:, 0], np.float64)
        return rim_stretch_fade(drawn, areas, triangle_edges_inverse(photo), foreshortened_rim(photo))

    frontal = photographed(0.0)
    half_width = 100.0
    across = (frontal[:, 0] - frontal[1, 0]) / half_width  # -1 to 1 from the nose tip (point 1)
    rim = ring_distance(FACE_OVAL, len(frontal)) <= RIM_RINGS
    cheek_height = (frontal[:, 1] > frontal[33, 1]) & (frontal[:, 1] < frontal[61, 1])  # eye corner to mouth corner
    for yaw in (25.0, -25.0):
        fade = fade_for(photographed(yaw), frontal)
        far = np.sign(yaw) * across > 0  # the side the turn takes away from the camera
        far_cheek = rim & cheek_height & far & (np.abs(across) > 0.5)
        # Measured by area (a squeeze across understated by the square root) it faded 3-5 of these 28-29 points.
        assert far_cheek.sum() >= 20 and (fade[far_cheek] < 0.5).sum() >= 10, "the far cheek is the user's own"
        assert np.all(fade[~far] == 1.0), "the near side is drawn whole"
    assert np.all(fade_for(frontal, photographed(40.0)) == 1.0), "a frontal photo on a turning user"
    assert np.all(fade_for(frontal, photographed(-40.0)) == 1.0)
    turned = photographed(30.0)
    assert np.all(fade_for(turned, turned * 1.7 + (40.0, -25.0, 0.0)) == 1.0), "nearer, not stretched"
    long_face = photographed(0.0, stretch_y=1.3)
    assert not foreshortened_rim(long_face).any(), "a frontal face longer than the mean is not foreshortened"
    assert np.all(fade_for(long_face, frontal) == 1.0)


def test_the_photo_nearest_the_users_expression_is_drawn_and_faded_in() -> None:
    """Three photos of one person (neutral, smiling, brows raised) as MediaPipe scores; the user's scores move."""
    neutral, smiling, raised = np.zeros(3), np.array([0.9, 0.0, 0.0]), np.array([0.0, 0.0, 0.8])
    photos = [neutral, smiling, raised]
    choice = choose_photo(None, np.array([0.1, 0.0, 0.0]), photos)
    assert (choice.current, choice.progress) == (0, 1.0)
    # Slightly nearer the smile, but not by the margins: the target's own photo stays.
    halfway = np.array([0.45 + (PHOTO_MAIN_PREFERENCE + PHOTO_SWITCH_MARGIN) / 4, 0.0, 0.0])
    choice = choose_photo(choice, halfway, photos)
    assert choice.current == 0
    # A broad smile: the smiling photo, faded in over PHOTO_FADE_FRAMES frames.
    fades = []
    for _ in range(PHOTO_FADE_FRAMES + 2):
        choice = choose_photo(choice, np.array([0.85, 0.0, 0.0]), photos)
        fades.append((choice.current, choice.previous, round(choice.progress, 6)))
    assert all(current == 1 and previous == 0 for current, previous, _ in fades)
    assert [progress for *_, progress in fades] == sorted(progress for *_, progress in fades)
    assert fades[0][2] < 0.5 and fades[PHOTO_FADE_FRAMES - 1][2] == 1.0
    # Raised brows while still smiling a little: the raised-brow photo.
    choice = choose_photo(choice, np.array([0.2, 0.0, 0.9]), photos)
    assert (choice.current, choice.previous) == (2, 1)


def test_another_photo_gives_its_fine_detail_in_the_first_photos_colours() -> None:
    """Another photo (pale, natural lips: a fine stripe pattern on grey) drawn in the first photo's colours (a red
    lipstick block) and alpha: the result's colours are the first photo's, its fine pattern the other's."""
    height, width = 120, 160
    stripes = np.where((np.arange(width) // 2) % 2 == 0, 20, -20)[None, :, None]
    other = np.zeros((height, width, 4), np.uint8)
    other[:, :, :3] = np.clip(120 + stripes, 0, 255)
    other[:, :, 3] = 255
    first = np.zeros((height, width, 4), np.uint8)
    first[:, :, :3] = (60, 60, 200)  # red in BGR
    first[:, :, 3] = 200
    first[:, :40, 3] = 0  # hair over the first photo's left side
    mixed = in_colours_of(other, first, sigma_px=6.0).astype(np.int16)
    inner = mixed[20:-20, 60:-20]
    assert np.allclose(inner[:, :, :3].mean(axis=(0, 1)), (60, 60, 200), atol=3)  # the first photo's colour
    assert 15 < inner[:, :, 2].std() < 25  # the other photo's stripes, as strong as they were
    assert np.array_equal(mixed[:, :, 3], first[:, :, 3])  # and the first photo's hair
