"""Blend stage: face mask, colour match and compositing on a synthetic face mesh (no model needed)."""

from __future__ import annotations

import math

import cv2
import numpy as np
import pytest

from faceswap_live.config import SwapConfig
from faceswap_live.stages.blend import (
    blend_face,
    build_face_mask,
    facial_hair,
    feature_polygons,
    lip_detail_from_user,
    match_colour,
    user_lips_in_target_colour,
)
from faceswap_live.stages.mesh_topology import (
    CHEEKBONES,
    FACE_OVAL,
    INNER_LIPS,
    LEFT_EYE,
    LEFT_EYEBROW,
    NOSE_TIP,
    NOSE_WING_SIDES,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    RIGHT_EYE,
    RIGHT_EYEBROW,
    closed_contour,
)
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
    # On the forehead: the stripes across this synthetic face read as a glasses frame around the eyes, which stays.
    forehead = (round(CENTRE[1]) - 50, round(CENTRE[0]))
    assert not np.array_equal(frame[forehead], original[forehead]), "the face was not composited"


def test_blend_clips_a_region_partly_outside_the_frame() -> None:
    face = synthetic_face()
    swapped = swapped_for(face)
    frame = np.full((150, 170, 3), 40, np.uint8)  # the face region reaches past the right and bottom edges
    blend_face(frame, swapped, face, SwapConfig())
    assert frame[140, 160].tolist() != [40, 40, 40]


def _blurred_luminance(image_bgr: np.ndarray, sigma: float) -> np.ndarray:
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    return np.asarray(cv2.GaussianBlur(grey, (0, 0), sigma))


def test_relit_face_takes_the_users_shading_and_drops_the_photos_own() -> None:
    face = synthetic_face()
    swapped = swapped_for(face)
    height, width = swapped.face_bgr.shape[:2]
    ramp = np.linspace(0.0, 1.0, width, dtype=np.float32)[None, :, None]
    rng = np.random.default_rng(1)
    detail = rng.normal(0.0, 10.0, (height, width, 1)).astype(np.float32)
    # The target photo is lit from the right, the user from the left.
    target = np.clip((90.0 + 120.0 * ramp) + detail, 0, 255).astype(np.uint8).repeat(3, axis=2)
    user = np.clip(np.broadcast_to(200.0 - 120.0 * ramp, (height, width, 1)), 0, 255).astype(np.uint8).repeat(3, axis=2)
    mask = build_face_mask(face, swapped, 0.08)
    relit = match_colour(target, user, mask, face_width_px=120.0)
    inside = mask > 0.9
    sigma = 120.0 / 8.0
    light_user, light_out = _blurred_luminance(user, sigma)[inside], _blurred_luminance(relit, sigma)[inside]
    assert np.corrcoef(light_user, light_out)[0, 1] > 0.95
    # The target's own detail stays (the fine pattern is not flattened away).
    fine = relit.astype(np.float32)[:, :, 0] - cv2.GaussianBlur(relit.astype(np.float32)[:, :, 0], (0, 0), 3.0)
    assert fine[inside].std() > 5.0


def test_a_photo_lit_hard_from_one_side_is_relit_flat_up_to_its_shadows_edge_when_asked() -> None:
    """A photo whose shadow edge lies right beside lit skin: a blurred light field lifts the lit skin with the shadow
    (a white wedge between the brows on a side-lit portrait) unless the edge is kept (keep_light_edges)."""
    height, width = 160, 160
    photo = np.full((height, width, 3), 190.0, np.float32)
    photo[:, : width // 2] = 70.0  # lit from the right, a hard shadow over the left half
    photo = np.clip(photo + np.random.default_rng(3).normal(0.0, 4.0, photo.shape), 0, 255).astype(np.uint8)
    user = np.full((height, width, 3), 170, np.uint8)  # the user's face: evenly lit
    mask = np.ones((height, width), np.float32)
    lit_beside, shadow_beside = (slice(40, 120), slice(83, 92)), (slice(40, 120), slice(68, 77))

    def relit(keep_light_edges: float) -> np.ndarray:
        image = match_colour(photo, user, mask, face_width_px=120.0, keep_light_edges=keep_light_edges)
        return image.astype(np.float32).mean(axis=2)

    blurred_field, edge_kept = relit(0.0), relit(1.0)
    assert blurred_field[lit_beside].mean() > 200.0  # 211: the wedge
    assert blurred_field[shadow_beside].mean() < 125.0  # 113
    assert abs(edge_kept[lit_beside].mean() - 170.0) < 10.0  # 171
    assert abs(edge_kept[shadow_beside].mean() - 170.0) < 10.0  # 167


def test_the_drawn_eyes_keep_the_photos_colours_while_the_skin_takes_the_users_tone() -> None:
    """The colour shift that takes the photo's pale skin to the user's warmer one turned a blue iris brown and the
    white of the eye beige; inside the drawn eyes (keep_colour_in) only the brightness is matched."""
    height, width = 160, 160
    photo = np.zeros((height, width, 3), np.uint8)
    photo[:] = (170, 180, 220)  # pale skin (BGR)
    eye = np.array([[50, 80], [65, 72], [80, 70], [95, 72], [110, 80], [95, 88], [80, 90], [65, 88]], np.float64)
    cv2.fillPoly(photo, [eye.astype(np.int32)], (225, 222, 220))  # the white of the eye
    cv2.circle(photo, (80, 80), 7, (170, 130, 90), -1)  # a blue iris
    user = np.zeros((height, width, 3), np.uint8)
    user[:] = (90, 130, 200)  # a warmer, darker skin
    mask = np.ones((height, width), np.float32)
    iris, white, skin = (slice(76, 85), slice(76, 85)), (slice(78, 82), slice(56, 62)), (slice(20, 40), slice(20, 40))

    def relit(keep_colour_in: list[np.ndarray]) -> np.ndarray:
        image = match_colour(photo, user, mask, face_width_px=120.0, face_features=[eye], keep_colour_in=keep_colour_in)
        return image.astype(np.float32)

    def blue_minus_red(image: np.ndarray, where: tuple[slice, slice]) -> float:
        return float(image[where][..., 0].mean() - image[where][..., 2].mean())

    shifted, kept = relit([]), relit([eye])
    # Without keep_colour_in the dark iris takes part of the skin's shift (its share of the skin's brightness): +9.
    assert blue_minus_red(shifted, iris) < 20.0 < 40.0 < blue_minus_red(kept, iris)  # +9 / +59 (the photo's +80)
    assert blue_minus_red(shifted, white) < -40.0  # beige: -69
    assert abs(blue_minus_red(kept, white)) < 8.0  # +3
    assert kept[white].mean() < 0.85 * photo[white].mean()  # the brightness is still the user's darker light
    assert np.array_equal(kept[skin], shifted[skin])  # and the skin takes the user's tone as before


def test_a_dark_brow_takes_the_users_colour_cast_as_a_surface_would_not_the_skins_whole_shift() -> None:
    """A colour cast scales with how much light a surface sends back: the shift that takes pale skin to a warmer user
    was added whole to a dark brow as well, turning it into a saturated orange-brown band."""
    skin_colour, brow_colour, user_colour = (170, 180, 220), (60, 70, 90), (90, 130, 200)  # BGR
    brow = np.array([[45, 60], [80, 52], [115, 60], [115, 68], [80, 62], [45, 68]], np.float64)
    relit = _relit_feature(skin_colour, brow_colour, brow, user_colour)
    inside = relit[60:63, 60:100].reshape(-1, 3)
    # A surface under the user's light: each channel scaled as the skin's is (0.91 red, 0.53 blue): warmth 0.91.
    as_a_surface = np.array(brow_colour, np.float32) * np.array(user_colour, np.float32) / np.array(skin_colour)
    assert abs(_warmth(inside) - _warmth(as_a_surface)) < 0.15  # 0.97
    assert _warmth(inside) < 0.6 * _warmth(_additive(brow_colour, skin_colour, user_colour))  # the old: 1.8
    assert np.abs(relit[10:30, 10:30] - user_colour).max() <= 1.0  # the skin takes the user's tone as before


def _relit_feature(
    skin_colour: tuple[int, int, int],
    feature_colour: tuple[int, int, int],
    feature: np.ndarray,
    user_colour: tuple[int, int, int],
) -> np.ndarray:
    """A flat photo of skin_colour with feature (a polygon of feature_colour, one of the face's features) relit to a
    flat user_colour: float32 BGR, 160×160."""
    height, width = 160, 160
    photo = np.zeros((height, width, 3), np.uint8)
    photo[:] = skin_colour
    cv2.fillPoly(photo, [feature.astype(np.int32)], feature_colour)
    user = np.zeros((height, width, 3), np.uint8)
    user[:] = user_colour
    mask = np.ones((height, width), np.float32)
    return match_colour(photo, user, mask, face_width_px=120.0, face_features=[feature]).astype(np.float32)


def _warmth(colour: np.ndarray) -> float:
    """Red less blue over the grey, of one BGR colour or the mean of N×3 of them."""
    mean = np.asarray(colour, np.float32).reshape(-1, 3).mean(axis=0)
    return float((mean[2] - mean[0]) / mean.mean())


def test_a_dark_feature_of_a_darker_photo_lit_up_is_not_painted_with_the_photos_skin_tone() -> None:
    """A photo darker than the user's room is lit up, and the colour of its detail is held at the photo's
    (COLOUR_DETAIL_GAIN_MAX). That detail was the pixel less its light field, so a dark feature read as the skin's
    colour negated, and holding it back painted the photo's skin tone onto irises, lashes and brows: a dark-skinned
    photo's brown irises glowed amber on a fairer user. Lit up, a near-grey dark feature must not turn warmer than
    it is (it may take the user's cooler cast)."""
    skin_colour, feature_colour, user_colour = (60, 100, 160), (25, 25, 28), (175, 180, 215)  # BGR
    feature = np.array([[45, 60], [80, 52], [115, 60], [115, 72], [80, 66], [45, 72]], np.float64)
    relit = _relit_feature(skin_colour, feature_colour, feature, user_colour)
    inside = relit[61:65, 60:100].reshape(-1, 3)
    assert inside.mean() > 1.5 * np.mean(feature_colour), "lit up with the face"  # 63 against 26
    assert _warmth(inside) <= _warmth(np.array(feature_colour)) + 0.05  # -0.18 (its own +0.11; was +0.53)
    assert np.abs(relit[10:30, 10:30] - user_colour).max() <= 1.0  # the skin takes the user's tone as before


def _additive(brow: tuple[int, int, int], skin: tuple[int, int, int], user: tuple[int, int, int]) -> np.ndarray:
    """The brow relit with the skin's whole shift: its brightness scaled by the user's over the skin's, plus the
    difference of the skin colours so scaled (the old relight)."""
    gain = np.mean(user) / np.mean(skin)
    return np.array(brow, np.float32) * gain + (np.array(user, np.float32) - np.array(skin, np.float32) * gain)


def _chin_scene() -> tuple[FaceLandmarks, SwappedFace, np.ndarray]:
    """For the chin tests: the synthetic face with cheekbones and nose placed, its swapped region, and a region-sized
    float32 mask, 1 on the chin (below the mouth) and 0 above."""
    face = _face_with_cheekbones_and_nose()
    swapped = swapped_for(face)
    height, width = swapped.face_bgr.shape[:2]
    rows = np.arange(height, dtype=np.float32)[:, None] + swapped.region.y0
    chin = np.broadcast_to((rows > CENTRE[1] + 30).astype(np.float32), (height, width))
    return face, swapped, chin


def _chin_over_cheeks(relit_bgr: np.ndarray, region: Box) -> float:
    """The relit chin's brightness (green channel) over the cheeks', in a column left of the middle."""
    relit = relit_bgr.astype(np.float32)[:, :, 1]
    chin_rows = slice(int(CENTRE[1] + 45 - region.y0), int(CENTRE[1] + 55 - region.y0))
    cheek_rows = slice(int(CENTRE[1] - 5 - region.y0), int(CENTRE[1] + 5 - region.y0))
    columns = slice(int(CENTRE[0] - 40 - region.x0), int(CENTRE[0] - 30 - region.x0))
    return float(relit[chin_rows, columns].mean() / relit[cheek_rows, columns].mean())


def _face_with_cheekbones_and_nose() -> FaceLandmarks:
    """synthetic_face with the cheekbones, nose wings, nose tip and a brow placed, for facial_hair."""
    face = synthetic_face()
    points = face.points_px.copy()
    points[list(CHEEKBONES), :2] = [CENTRE[0] - 32, CENTRE[1] - 2]
    points[list(CHEEKBONES[1::2]), 0] = CENTRE[0] + 32
    points[list(NOSE_WING_SIDES), :2] = [(CENTRE[0] - 10, CENTRE[1] + 15), (CENTRE[0] + 10, CENTRE[1] + 15)]
    points[NOSE_TIP, :2] = (CENTRE[0], CENTRE[1] + 10)
    points[list(RIGHT_EYEBROW), :2] = (CENTRE[0] - 25, CENTRE[1] - 35)
    return FaceLandmarks(points_px=points, keypoints_px=face.keypoints_px, box=face.box)


def test_a_users_stubble_is_not_lit_into_the_target_but_a_shadowed_chin_is() -> None:
    """Below the nose the user's chin is half as bright as their cheeks: as stubble (strong fine detail) it is left out
    of the user's light and the target's chin stays as bright as its cheeks; as shade (a skin's fine detail) it is the
    user's light and darkens the target's chin."""
    face, swapped, chin = _chin_scene()
    points, region = face.points_px, swapped.region
    height, width = chin.shape
    rng = np.random.default_rng(2)
    target = np.clip(150.0 + rng.normal(0.0, 3.0, (height, width)), 0, 255).astype(np.uint8)
    target_bgr = np.repeat(target[:, :, None], 3, axis=2)

    def chin_over_cheeks(stubble: bool) -> float:
        fine = rng.normal(0.0, 25.0 if stubble else 1.5, (height, width)).astype(np.float32)
        user = np.clip(180.0 * (1.0 - 0.5 * chin) + fine * (chin if stubble else 1.0), 0, 255).astype(np.uint8)
        user_bgr = np.repeat(user[:, :, None], 3, axis=2)
        relit = match_colour(
            target_bgr,
            user_bgr,
            build_face_mask(face, swapped, 0.08),
            face_width_px=120.0,
            reference_hair=facial_hair(user_bgr, np.asarray(points[:, :2], np.float64) - (region.x0, region.y0), 120.0),
        )
        return _chin_over_cheeks(relit, region)

    assert chin_over_cheeks(stubble=True) > 0.9
    assert chin_over_cheeks(stubble=False) < 0.75


def test_the_targets_own_beard_is_not_lit_up_to_the_users_bare_skin() -> None:
    """The drawn face's beard (dark, strong fine detail below the nose) is left out of its light too (face_points):
    read as the photo's light it was lit up to the user's bare chin, a washed-out beard."""
    face, swapped, chin = _chin_scene()
    points, region = face.points_px, swapped.region
    height, width = chin.shape
    rng = np.random.default_rng(3)
    beard = 170.0 - 90.0 * chin + rng.normal(0.0, 25.0, (height, width)) * chin
    target = np.repeat(np.clip(beard, 0, 255).astype(np.uint8)[:, :, None], 3, axis=2)
    user = np.full((height, width, 3), 160, np.uint8)  # bare, evenly lit skin
    mesh = np.asarray(points[:, :2], np.float64) - (region.x0, region.y0)

    def chin_over_cheeks(face_points: np.ndarray | None) -> float:
        relit = match_colour(
            target, user, build_face_mask(face, swapped, 0.08), face_width_px=120.0, face_points=face_points
        )
        return _chin_over_cheeks(relit, region)

    assert chin_over_cheeks(mesh) < 0.55  # 0.44; the photo's own 80 / 170
    assert chin_over_cheeks(None) > 0.75  # 0.82: lit up


def test_users_brows_are_not_painted_back_onto_the_target_as_shade() -> None:
    face = synthetic_face()
    points = face.points_px.copy()
    centre = np.array([160.0, 95.0])
    for brow, side in ((RIGHT_EYEBROW, -1.0), (LEFT_EYEBROW, 1.0)):
        angles = np.linspace(0.0, 2.0 * np.pi, len(brow), endpoint=False)
        points[list(brow), 0] = centre[0] + side * 28.0 + 16.0 * np.cos(angles)
        points[list(brow), 1] = centre[1] + 4.0 * np.sin(angles)
    face = FaceLandmarks(points_px=points, keypoints_px=face.keypoints_px, box=face.box)
    swapped = swapped_for(face, colour=(150, 150, 150))
    region = swapped.region
    user = np.full_like(swapped.face_bgr, 150)
    polygons = feature_polygons(points, (region.x0, region.y0))
    for polygon in polygons[2:4]:
        cv2.fillPoly(user, [np.round(polygon).astype(np.int32)], (30, 30, 30))
    mask = build_face_mask(face, swapped, 0.08)
    relit = match_colour(
        swapped.face_bgr, user, mask, reference_features=polygons, face_features=polygons, face_width_px=120.0
    )
    below_brow = (round(centre[1] + 14 - region.y0), round(centre[0] - 28 - region.x0))
    # The skin under the user's dark brows keeps the target's brightness instead of a dark smudge.
    assert abs(float(relit[below_brow].mean()) - 150.0) < 8.0


def test_a_dark_fringe_in_the_target_is_not_lit_up_into_skin() -> None:
    face = synthetic_face()
    swapped = swapped_for(face, colour=(150, 160, 190))
    region = swapped.region
    target = swapped.face_bgr.copy()
    band = slice(round(70 - region.y0), round(95 - region.y0))
    target[band] = (30, 35, 45)  # hair over the forehead
    coverage = np.ones(target.shape[:2], np.float32)
    coverage[band] = 0.0  # the engine knows it is not face (target_face_alpha)
    user = np.full_like(target, (150, 160, 190))
    mask = build_face_mask(face, swapped, 0.08)
    relit = match_colour(target, user, mask, face_weight=coverage, face_width_px=120.0)
    assert float(relit[band].mean()) < 70.0, "the fringe stays dark hair"
    skin_rows = slice(round(130 - region.y0), round(160 - region.y0))
    assert abs(float(relit[skin_rows, 40:-40].mean()) - 166.7) < 10.0


def _crossing(profile: np.ndarray) -> float:
    """Sub-pixel position where a rising profile first reaches 0.5."""
    index = int(np.argmax(profile >= 0.5))
    before, after = profile[index - 1], profile[index]
    return index - 1 + (0.5 - before) / max(after - before, 1e-6)


def test_lip_cut_is_smooth_and_sub_pixel_up_close() -> None:
    big = 4.0  # a face about 500 px tall, as up close to a webcam
    base = synthetic_face(mouth_open_px=14.0)
    crossings = []
    for shift in (0.0, 0.25, 0.5):
        points = base.points_px.copy()
        points[:, :2] = (points[:, :2] - (160.0, 130.0)) * big + (400.0, 400.0 + shift)
        face = FaceLandmarks(points_px=points, keypoints_px=base.keypoints_px, box=Box.around(points))
        swapped: SwappedFace = swapped_for(face)
        mask = build_face_mask(face, swapped, 0.08, cut_mouth=True)
        region = swapped.region
        lips = points[list(INNER_LIPS), :2] - (region.x0, region.y0)
        inside = np.zeros(mask.shape, np.uint8)
        cv2.fillPoly(inside, [np.round(lips).astype(np.int32)], 1)
        inside = cv2.erode(inside, np.ones((5, 5), np.uint8))
        assert mask[inside > 0].max() < 0.02, "nothing of the target shows inside the user's open mouth"
        column = 400 - region.x0
        lower_lip_y = float(lips[:, 1].max())
        profile = mask[round(lower_lip_y) - 4 : round(lower_lip_y) + 30, column]
        steps = np.diff(profile)
        assert steps.min() > -0.01, "the edge rises monotonically (no ringing, no jagged outline)"
        assert steps.max() < 0.35, "the edge is feathered over several pixels, not a hard step"
        crossings.append(region.y0 + round(lower_lip_y) - 4 + _crossing(profile) - shift)
    # Moving the face by a quarter pixel moves the edge with it: sub-pixel, not snapped to pixels or a grid.
    assert max(crossings) - min(crossings) < 0.2


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


def test_the_lips_take_the_users_fine_lines_in_the_photos_colour_and_nothing_else() -> None:
    """The photo's lips are flat red; the user's are a darker grey (lip colour, a larger scale) with one thin dark
    crease across them (a pout's fold). The output lips show the crease as a brightness drop in every channel, keep
    the photo's red everywhere else, and the skin away from the lips is untouched."""
    face_width = 160.0
    lips = _ring(tuple(range(20)), (100.0, 100.0), (30.0, 10.0))
    photo = np.empty((200, 200, 3), np.uint8)
    photo[:] = (70, 60, 180)
    user = np.full((200, 200, 3), 150, np.uint8)
    cv2.fillPoly(user, [np.round(lips).astype(np.int32)], (110, 110, 110))
    user[99:101, 75:126] = 40  # the crease: 2 px high, well below the detail scale (3.2 px sigma)
    out = lip_detail_from_user(photo, user, lips, face_width).astype(np.int16)
    crease, lip = out[99:101, 90:111], out[94:96, 90:111]
    assert (crease < photo[0, 0] - 25).all()  # the crease, darker in all three channels
    assert np.abs(lip - photo[0, 0]).max() <= 6  # the lips' own colour: the photo's red, not the user's grey
    assert (out[:40] == photo[0, 0]).all() and (out[:, :40] == photo[0, 0]).all()  # far skin untouched


def test_a_gloss_highlight_on_the_photos_lips_leaves_no_grey_patch() -> None:
    """The photo's red lips have a pale, greyish gloss spot; the user's lips have none. The spot is the photo's detail
    and goes, colour and all: red less blue 77-86 there, where the lip has 110 (taken out as brightness alone, 5: the
    grey-blue patch it left on the lower lip)."""
    lips = _ring(tuple(range(20)), (100.0, 100.0), (30.0, 10.0))
    photo = np.empty((200, 200, 3), np.uint8)
    photo[:] = (70, 60, 180)
    photo[101:105, 97:103] = (215, 210, 220)  # the gloss: paler and greyer than the lip
    user = np.full((200, 200, 3), 150, np.uint8)
    cv2.fillPoly(user, [np.round(lips).astype(np.int32)], (110, 110, 110))
    out = lip_detail_from_user(photo, user, lips, 160.0).astype(np.int16)
    spot = out[101:105, 97:103]
    lip_redness = int(photo[0, 0, 2]) - int(photo[0, 0, 0])
    assert (spot[:, :, 2] - spot[:, :, 0] > 0.6 * lip_redness).all()


def test_a_dark_photo_lit_up_keeps_its_light_but_not_its_noise_amplified() -> None:
    """A target photographed in shade, on a user in a bright room: the relit face takes the user's brightness, but
    its detail (and with it the photo's sensor noise) is scaled by at most DETAIL_GAIN_MAX, not by the full 2.5×
    that turned the noise of a shadowed cheek into coloured speckle."""
    face = synthetic_face()
    swapped = swapped_for(face)
    height, width = swapped.face_bgr.shape[:2]
    rng = np.random.default_rng(2)
    noise = rng.normal(0.0, 4.0, (height, width, 3)).astype(np.float32)  # per channel: colour noise
    target = np.clip(70.0 + noise, 0, 255).astype(np.uint8)
    user = np.full_like(target, 190)
    mask = build_face_mask(face, swapped, 0.08)
    relit = match_colour(target, user, mask, face_width_px=120.0)
    inside = mask > 0.9
    assert abs(float(relit[inside].mean()) - 190.0) < 12.0, "the user's light"
    fine_in = target.astype(np.float32) - cv2.GaussianBlur(target.astype(np.float32), (0, 0), 3.0)
    fine_out = relit.astype(np.float32) - cv2.GaussianBlur(relit.astype(np.float32), (0, 0), 3.0)
    amplified = float(fine_out[inside].std() / fine_in[inside].std())
    assert 1.2 < amplified <= 1.7, amplified  # the brightness ratio here is 2.5


def test_a_dark_photo_lit_up_keeps_its_colour_noise_as_it_was() -> None:
    """The same shaded photo with colour noise only (each pixel's channels off their grey, the grey flat) and a
    brightness pattern: lit up, the brightness detail grows with the light (up to DETAIL_GAIN_MAX) but the colour
    detail stays as strong as in the photo (COLOUR_DETAIL_GAIN_MAX), so a shadow's chroma noise does not turn into
    purple and blue speckle on a bright face."""
    face = synthetic_face()
    swapped = swapped_for(face)
    height, width = swapped.face_bgr.shape[:2]
    rng = np.random.default_rng(4)
    colour = rng.normal(0.0, 4.0, (height, width, 3)).astype(np.float32)
    colour -= colour.mean(axis=2, keepdims=True)
    stripes = np.where((np.arange(width) // 3) % 2 == 0, 6.0, -6.0).astype(np.float32)[None, :, None]
    target = np.clip(70.0 + colour + stripes, 0, 255).astype(np.uint8)
    user = np.full_like(target, 190)
    mask = build_face_mask(face, swapped, 0.08)
    relit = match_colour(target, user, mask, face_width_px=120.0).astype(np.float32)
    inside = mask > 0.9

    def grey_and_colour_detail(image: np.ndarray) -> tuple[float, float]:
        fine = image.astype(np.float32) - cv2.GaussianBlur(image.astype(np.float32), (0, 0), 3.0)
        grey = fine.mean(axis=2, keepdims=True)
        return float(grey[inside].std()), float((fine - grey)[inside].std())

    grey_in, colour_in = grey_and_colour_detail(target)
    grey_out, colour_out = grey_and_colour_detail(relit)
    assert 1.3 < grey_out / grey_in <= 1.7, grey_out / grey_in  # the brightness ratio here is 2.5
    assert colour_out / colour_in < 1.1, colour_out / colour_in


def _lab(bgr: tuple[int, int, int] | np.ndarray) -> np.ndarray:
    pixel = np.asarray(bgr, np.float32).reshape(1, 1, 3) / 255.0
    return np.asarray(cv2.cvtColor(pixel, cv2.COLOR_BGR2Lab)[0, 0], np.float64)


@pytest.mark.parametrize("zoom", [1, 3])
def test_the_users_lip_inside_the_open_mouth_takes_the_drawn_lips_colour_and_nothing_else_does(zoom: int) -> None:
    """MediaPipe's inner lip line often lies inside the lip, so a band of the user's pale lip shows through the mouth
    cut, inside the target's red lips: a mouth within a mouth. That band turns the drawn lips' red; the teeth, the
    dark inside of the mouth and a pink tongue behind a dark gap stay exactly as they are (also for a face three
    times as large, which is worked out at a smaller scale)."""
    size, centre = 200 * zoom, 100 * zoom
    points = np.zeros((478, 3), np.float32)
    outer_lips = closed_contour(OUTER_LIP_UPPER, OUTER_LIP_LOWER)
    points[list(outer_lips), :2] = _ring(outer_lips, (centre, centre), (44.0 * zoom, 28.0 * zoom))
    points[list(INNER_LIPS), :2] = _ring(INNER_LIPS, (centre, centre), (32.0 * zoom, 18.0 * zoom))
    skin, pale_lip, red_lip = (150, 165, 205), (150, 140, 215), (55, 45, 190)
    teeth, inside_mouth = (235, 238, 240), (45, 35, 70)

    def ellipse(image: np.ndarray, middle: tuple[int, int], axes: tuple[int, int], colour: tuple[int, ...]) -> None:
        scaled_middle, scaled_axes = (middle[0] * zoom, middle[1] * zoom), (axes[0] * zoom, axes[1] * zoom)
        cv2.ellipse(image, scaled_middle, scaled_axes, 0, 0, 360, colour, -1)

    def at(y: int | slice, x: int | slice, image: np.ndarray) -> np.ndarray:
        """The pixels of image at (y, x) of the 200 px layout, all zoom × zoom of them."""
        ys = slice(y.start * zoom, y.stop * zoom) if isinstance(y, slice) else slice(y * zoom, (y + 1) * zoom)
        xs = slice(x.start * zoom, x.stop * zoom) if isinstance(x, slice) else slice(x * zoom, (x + 1) * zoom)
        return image[ys, xs].reshape(-1, 3)

    user = np.full((size, size, 3), skin, np.uint8)
    ellipse(user, (100, 100), (44, 28), pale_lip)
    ellipse(user, (100, 100), (27, 13), inside_mouth)  # the pale lip shows 5 px inside the inner lip line
    cv2.rectangle(user, (88 * zoom, 88 * zoom), (112 * zoom, 93 * zoom), teeth, -1)
    ellipse(user, (100, 107), (6, 3), pale_lip)  # a tongue as pink as the lip, behind the dark
    drawn = np.full((size, size, 3), skin, np.uint8)
    ellipse(drawn, (100, 100), (44, 28), red_lip)
    cut = np.zeros((size, size), np.float32)
    cv2.fillPoly(cut, [np.round(points[list(INNER_LIPS), :2] * 16).astype(np.int32)], 1.0, cv2.LINE_AA, shift=4)

    out = user_lips_in_target_colour(
        user, cut, (0, 0, size, size), (user, points), (drawn, points), (0, 0), face_width_px=200.0 * zoom
    )

    for pixel in (*at(100, 71, out), *at(85, 100, out)):  # just inside the inner lip line, at the side and the top
        assert np.linalg.norm(_lab(pixel) - _lab(red_lip)) < 8.0  # was the pale lip, 40 Lab units from the red
    assert np.linalg.norm(_lab(pale_lip) - _lab(red_lip)) > 30.0
    assert (at(slice(90, 93), slice(92, 109), out) == teeth).all()  # (their top row touches the lip: blurred)
    assert (at(100, slice(85, 92), out) == inside_mouth).all()
    assert (at(slice(106, 109), slice(98, 103), out) == pale_lip).all()  # the tongue, as near the line as the band
    assert (out[cut == 0] == user[cut == 0]).all()  # nothing outside the cut changes
