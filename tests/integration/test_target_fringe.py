"""A target photo with hair over the forehead (a fringe): the hair is not drawn onto the user as skin.

The target is the astronaut's real portrait with a real-looking fringe painted over her forehead from her own hair
(each column of the forehead replaced by the hair above it, down to a wavy edge just above the brows); the user is
Grace Hopper's portrait.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import SwapConfig
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper
from faceswap_live.engines.target_mask import target_face_alpha
from faceswap_live.inputs.target_photo import find_faces_in_photo, load_target_face
from faceswap_live.stages.blend import blend_face
from faceswap_live.stages.mesh_topology import FACE_OVAL, RIGHT_EYEBROW
from faceswap_live.types import BgrImage

CLOSE = 20  # grey levels: "the same pixel" after relighting and blending


def _with_fringe(photo_bgr: BgrImage, points_px: np.ndarray) -> BgrImage:
    brow_top = float(points_px[[105, 334, 66, 296, 107, 336], 1].min())
    hairline = float(points_px[10, 1])
    drop = round(brow_top - hairline) - 4
    left, right = round(points_px[70, 0]) - 8, round(points_px[300, 0]) + 8
    rng = np.random.default_rng(0)
    edge = brow_top - 4.0 + 5.0 * np.sin(np.linspace(0.0, 7.0, right - left)) + rng.normal(0.0, 1.5, right - left)
    fringed = photo_bgr.copy()
    for offset, x in enumerate(range(left, right)):
        rows = np.arange(round(hairline) - 20, round(edge[offset]))
        fringed[rows, x] = photo_bgr[rows - drop, x]
    return fringed


@pytest.fixture(scope="module")
def swaps(
    tmp_path_factory: pytest.TempPathFactory,
    hopper_bgr: np.ndarray,
    astronaut_bgr: np.ndarray,
    landmark_model_path: Path,
) -> dict[str, tuple[BgrImage, BgrImage]]:
    """{"plain" | "fringe": (engine's warped texture, blended output)} for Hopper wearing the astronaut's face."""
    folder = tmp_path_factory.mktemp("fringe")
    astronaut_points = find_faces_in_photo(astronaut_bgr, landmark_model_path, max_faces=1)[0].points_px
    cv2.imwrite(str(folder / "plain.png"), astronaut_bgr)
    cv2.imwrite(str(folder / "fringe.png"), _with_fringe(astronaut_bgr, astronaut_points))
    user = find_faces_in_photo(hopper_bgr, landmark_model_path, max_faces=1)[0]
    settings = SwapConfig()
    results = {}
    for name in ("plain", "fringe"):
        engine = MeshFaceSwapper()
        engine.set_target(load_target_face(folder / f"{name}.png", landmark_model_path))
        swapped = engine.swap_face(hopper_bgr, user, None, settings)
        assert swapped is not None
        output = hopper_bgr.copy()
        blend_face(output, swapped, user, settings)
        region = swapped.region
        results[name] = (swapped.face_bgr, output[region.y0 : region.y1, region.x0 : region.x1])
        results["user"] = (swapped.face_bgr, hopper_bgr[region.y0 : region.y1, region.x0 : region.x1])
    return results


def test_a_fringe_in_the_target_photo_is_not_drawn_as_skin(swaps: dict[str, tuple[BgrImage, BgrImage]]) -> None:
    plain_texture, plain_output = swaps["plain"]
    fringe_texture, fringe_output = swaps["fringe"]
    user = swaps["user"][1]
    # Where the engine's warped photo shows the fringe (it differs from the plain photo's forehead), away from its edge.
    fringe = np.abs(plain_texture.astype(int) - fringe_texture.astype(int)).max(axis=2) > 40
    fringe = cv2.erode(fringe.astype(np.uint8), np.ones((5, 5), np.uint8)) > 0
    assert fringe.sum() > 300, "the painted fringe lands on the user's forehead"

    def differs(first: BgrImage, second: BgrImage) -> np.ndarray:
        return np.asarray(np.abs(first.astype(int) - second.astype(int)).max(axis=2) > CLOSE)

    shows_user = ~differs(fringe_output, user) & fringe
    # Skin painted in: the output there is the swapped skin of the fringe-less photo, not the user's own pixels.
    painted_skin = ~differs(fringe_output, plain_output) & differs(fringe_output, user) & fringe
    assert shows_user.sum() >= 0.8 * fringe.sum(), "the user's own forehead shows where the target has hair"
    assert painted_skin.sum() <= 0.08 * fringe.sum(), "no band of skin where the target has hair"


def test_the_hairline_of_the_target_leaves_no_dark_band_on_the_forehead(
    hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray, landmark_model_path: Path, tmp_path: Path
) -> None:
    # The astronaut's own fringe covers her forehead down to the brows. Where the swapped face gives way to the
    # user's forehead, a cross-fade of two skins stays as bright as they are; the hair's border pixels drawn
    # half-opaque make a brown band instead (seen up close on webcam clips).
    cv2.imwrite(str(tmp_path / "astronaut.png"), astronaut_bgr)
    user = find_faces_in_photo(hopper_bgr, landmark_model_path, max_faces=1)[0]
    engine = MeshFaceSwapper()
    engine.set_target(load_target_face(tmp_path / "astronaut.png", landmark_model_path))
    settings = SwapConfig()
    swapped = engine.swap_face(hopper_bgr, user, None, settings)
    assert swapped is not None
    output = hopper_bgr.copy()
    blend_face(output, swapped, user, settings)
    points = user.points_px
    top, brows = round(points[10, 1]), round(points[[105, 334, 66, 296], 1].min())
    left, right = round(points[70, 0]), round(points[300, 0])

    def forehead_rows(image: BgrImage) -> np.ndarray:
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[top:brows, left:right]
        return np.asarray(grey, np.float64).mean(axis=1)

    change = forehead_rows(output) - forehead_rows(hopper_bgr)
    assert np.median(change) - change.min() < 8.0, change.round(1)


def test_hair_beside_a_brows_tail_is_left_out_even_inside_the_hull_of_the_features(
    astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """Hair hanging beside the tail of a brow, down towards the eye's outer corner, lies inside the hull of the
    brows and lips, which used to be kept whole: it was drawn as a tuft at the user's eye. Only the features
    themselves and the middle of the face are kept whole now; elsewhere the skin test decides. The astronaut's real
    portrait (enlarged 3x) with a patch of her own hair painted between her right brow's tail and her eye."""
    photo = cv2.resize(astronaut_bgr, None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)
    points = find_faces_in_photo(photo, landmark_model_path, max_faces=1)[0].points_px[:468, :2].astype(np.float32)
    size = float(np.ptp(points[list(FACE_OVAL)], axis=0).max())
    tail, corner, mouth = points[70], points[33], points[61]
    patch = np.zeros(photo.shape[:2], bool)
    for y in range(round(tail[1] + 0.04 * size), round(corner[1] - 0.02 * size)):
        hull_edge = tail[0] + (y - tail[1]) * (mouth[0] - tail[0]) / (mouth[1] - tail[1])  # brow tail to mouth corner
        patch[y, round(hull_edge) + 2 : round(corner[0] - 0.04 * size)] = True
    assert patch.sum() > 20, "the patch lies between the hull's edge and the eye"
    hair = photo[round(points[10, 1] - 0.08 * size), round(points[10, 0])]  # above her hairline
    painted = photo.copy()
    painted[patch] = hair
    alpha = target_face_alpha(painted, points)
    assert float(alpha[patch].mean()) < 0.2 * 255  # the hull of the features kept it: 0.93
    nose_tip = np.round(points[4]).astype(int)
    assert alpha[nose_tip[1], nose_tip[0]] == 255, "the middle of the face is always the target's"


def _lab_shifted(photo_bgr: BgrImage, where: np.ndarray, shift: tuple[float, float, float]) -> BgrImage:
    lab = cv2.cvtColor(photo_bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
    lab[where] += np.float32(shift)
    return np.asarray(cv2.cvtColor(np.clip(lab, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR), np.uint8)


def test_make_up_and_blush_are_drawn_as_the_targets_face(astronaut_bgr: np.ndarray, landmark_model_path: Path) -> None:
    """Pink eye shadow beside the eye and blush on the cheek are not skin-coloured, but they are not hair either:
    left out, the user's own liner and cheek showed through beside the drawn eyes (a dark wedge at the eye)."""
    photo = cv2.resize(astronaut_bgr, None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)
    points = find_faces_in_photo(photo, landmark_model_path, max_faces=1)[0].points_px[:468, :2].astype(np.float32)
    size = float(np.ptp(points[list(FACE_OVAL)], axis=0).max())
    corner, cheek = points[33], points[205]
    shadow = np.zeros(photo.shape[:2], np.uint8)  # from the outer eye corner out towards the temple
    cv2.ellipse(shadow, np.round(corner).astype(int), (round(0.07 * size), round(0.025 * size)), 0, 0, 360, 1, -1)
    blush = np.zeros(photo.shape[:2], np.uint8)
    cv2.circle(blush, np.round(cheek).astype(int), round(0.06 * size), 1, -1)
    made_up = _lab_shifted(photo, (shadow > 0) | (blush > 0), (-10.0, 14.0, -18.0))  # darker, pinker, bluer
    alpha = target_face_alpha(made_up, points)
    assert float(alpha[shadow > 0].mean()) > 0.85 * 255
    assert float(alpha[blush > 0].mean()) > 0.85 * 255


def test_a_fair_strand_across_a_brows_tail_is_left_out(astronaut_bgr: np.ndarray, landmark_model_path: Path) -> None:
    """The brows are always drawn from the target, but a strand of fair hair crossing a brow's tail is paler than
    the skin: kept, it was drawn as a pale tuft beside the user's eye."""
    photo = cv2.resize(astronaut_bgr, None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)
    points = find_faces_in_photo(photo, landmark_model_path, max_faces=1)[0].points_px[:468, :2].astype(np.float32)
    size = float(np.ptp(points[list(FACE_OVAL)], axis=0).max())
    tail = points[46]  # the right brow's lower tail point
    strand = np.zeros(photo.shape[:2], np.uint8)
    top, bottom = tail + (0.01 * size, -0.06 * size), tail + (-0.01 * size, 0.03 * size)
    cv2.line(strand, np.round(top).astype(int), np.round(bottom).astype(int), 1, max(3, round(0.012 * size)))
    painted = photo.copy()
    painted[strand > 0] = (150, 215, 235)  # fair (blond) hair, BGR
    brow = np.zeros(photo.shape[:2], np.uint8)
    brow_points = points[list(RIGHT_EYEBROW)]
    cv2.fillConvexPoly(brow, cv2.convexHull(np.round(brow_points).astype(np.int32)), 1)
    inside = (strand > 0) & (brow > 0)
    assert inside.sum() > 20, "the strand crosses the brow"
    assert float(target_face_alpha(painted, points)[inside].mean()) < 0.5 * 255


def test_hair_over_a_cheek_is_left_out_with_a_soft_edge_and_stubble_is_kept(
    astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """Hair hanging over the target's cheek is not drawn, and the target's skin fades out over a few per cent of the
    face towards it (a hard cut was a visible seam down the cheek); dark specks of stubble on the other cheek are
    not hair over it: kept."""
    photo = cv2.resize(astronaut_bgr, None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)
    points = find_faces_in_photo(photo, landmark_model_path, max_faces=1)[0].points_px[:468, :2].astype(np.float32)
    size = float(np.ptp(points[list(FACE_OVAL)], axis=0).max())
    hair = (35, 45, 60)  # dark brown, BGR
    painted = photo.copy()
    cheek_y = round(points[205, 1])
    rows = slice(cheek_y - round(0.1 * size), cheek_y + round(0.1 * size))
    # A curtain of hair from the face's edge in to the right cheek, short of the always-drawn middle of the face.
    curtain_edge = round(min(points[33, 0], points[61, 0]) - 0.06 * size)
    painted[rows, :curtain_edge] = hair
    rng = np.random.default_rng(0)
    stubble = np.zeros(photo.shape[:2], bool)
    left_cheek = np.round(points[425]).astype(int)
    for _ in range(60):
        x, y = left_cheek + rng.integers(-round(0.05 * size), round(0.05 * size), 2)
        stubble[y : y + 2, x : x + 2] = True
    painted[stubble] = (40, 45, 60)
    alpha = target_face_alpha(painted, points).astype(np.float64) / 255.0
    row = alpha[cheek_y]
    assert row[curtain_edge - round(0.01 * size) : curtain_edge].max() < 0.1, "the hair is not drawn"
    ramp = row[curtain_edge : curtain_edge + round(0.1 * size)]
    rise = int(np.argmax(ramp > 0.9)) - int(np.argmax(ramp > 0.1))
    assert rise >= 0.015 * size, f"the skin fades in over {rise} px, a seam"
    near_stubble = cv2.dilate(stubble.astype(np.uint8), np.ones((9, 9), np.uint8)) > 0
    assert alpha[near_stubble].mean() > 0.8, "stubble is kept as the target's face"  # as hair: 0.47
    assert alpha[stubble].mean() > 0.8, "the specks themselves are drawn, not holes in a beard"


def _shone(photo_bgr: BgrImage, centre: np.ndarray, radius: float, strength: float) -> BgrImage:
    """photo_bgr with a specular highlight: a soft disc blended towards a slightly cool white (the light's colour)."""
    rows, columns = np.mgrid[0 : photo_bgr.shape[0], 0 : photo_bgr.shape[1]]
    weight = strength * np.exp(-(((columns - centre[0]) ** 2 + (rows - centre[1]) ** 2) / (2.0 * radius**2)))
    light = np.array([245.0, 242.0, 238.0])
    shone = photo_bgr.astype(np.float64) * (1.0 - weight[..., None]) + light * weight[..., None]
    return np.asarray(np.clip(np.rint(shone), 0, 255), np.uint8)


def test_shine_on_the_forehead_and_cheek_is_drawn_but_fair_hair_down_the_cheek_is_not(
    astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """A highlight on a shiny forehead or cheek is paler and greyer than the skin and failed the skin test: the user's
    own skin showed through it as a pale hole in the drawn face. Shine lies inside the face; fair hair reaches in from
    the outline above the eyes and is yellower than the skin, and stays out. The astronaut's real portrait (enlarged
    3x) with two highlights painted on and a blond strand hanging from above her left brow down over her cheek."""
    photo = cv2.resize(astronaut_bgr, None, fx=3.0, fy=3.0, interpolation=cv2.INTER_CUBIC)
    points = find_faces_in_photo(photo, landmark_model_path, max_faces=1)[0].points_px[:468, :2].astype(np.float32)
    size = float(np.ptp(points[list(FACE_OVAL)], axis=0).max())
    # (The astronaut's own fringe covers her forehead: the highlights are on her cheekbone and her other cheek.)
    cheekbone, cheek = points[117], points[425]
    shone = _shone(_shone(photo, cheekbone, 0.035 * size, 0.85), cheek, 0.035 * size, 0.85)
    # A strand of fair hair from above the outer brow, outside the outline, down over the left cheek.
    strand = np.zeros(photo.shape[:2], np.uint8)
    top, bottom = points[338] + (0.02 * size, -0.06 * size), points[376] + (-0.02 * size, 0.0)
    cv2.line(strand, np.round(top).astype(int), np.round(bottom).astype(int), 1, max(3, round(0.03 * size)))
    shone[strand > 0] = (120, 195, 230)  # blond, BGR
    alpha = target_face_alpha(shone, points).astype(np.float64) / 255.0

    def disc(centre: np.ndarray, radius: float) -> np.ndarray:
        where = np.zeros(photo.shape[:2], np.uint8)
        cv2.circle(where, np.round(centre).astype(int), max(2, round(radius)), 1, -1)
        return where > 0

    assert alpha[disc(cheekbone, 0.02 * size)].mean() > 0.8  # left out before: 0.0
    assert alpha[disc(cheek, 0.02 * size)].mean() > 0.8
    below_brows = strand > 0
    below_brows[: round(points[[33, 263], 1].mean() + 0.05 * size)] = False
    assert below_brows.sum() > 50, "the strand reaches down the cheek"
    assert alpha[below_brows].mean() < 0.3  # 0.09
