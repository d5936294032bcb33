"""A target photo's own light: fitted on its mesh (stages/shading.py) and swapped for the user's by the mesh engine.

Uses the real MediaPipe landmarker on the public-domain portraits (Hopper as the target, the astronaut as the user).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import SwapConfig
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper, MeshSwappedFace
from faceswap_live.engines.symmetric_fill import mirror_weights
from faceswap_live.inputs.target_photo import find_faces_in_photo, load_target_face
from faceswap_live.stages import shading
from faceswap_live.stages.blend import blend_face
from faceswap_live.stages.mesh_topology import (
    CHEEK_EDGES,
    LEFT_EYE,
    LEFT_EYEBROW,
    MESH_POINT_COUNT,
    NOSE_TIP,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    RIGHT_EYE,
    RIGHT_EYEBROW,
    TESSELATION_TRIANGLES,
)
from faceswap_live.types import BgrImage, FaceLandmarks, TargetFace

RIGHT_CHEEK, LEFT_CHEEK = CHEEK_EDGES  # the person's right cheek is on the image's left
# Patches of mesh points on each cheek, between the nose and the cheek's edge.
RIGHT_CHEEK_PATCH = (50, 101, 118, 117, 123, 187, 205, 36)
LEFT_CHEEK_PATCH = (280, 330, 347, 346, 352, 411, 425, 266)


@pytest.fixture(scope="module")
def hopper(tmp_path_factory: pytest.TempPathFactory, hopper_bgr: np.ndarray, landmark_model_path: Path) -> TargetFace:
    path = tmp_path_factory.mktemp("lighting") / "hopper.png"
    cv2.imwrite(str(path), hopper_bgr)
    return load_target_face(path, landmark_model_path)


def _points(face: TargetFace | FaceLandmarks) -> np.ndarray:
    landmarks = face.landmarks if isinstance(face, TargetFace) else face
    return np.asarray(landmarks.points_px, np.float64)


def _side_lit(target: TargetFace) -> BgrImage:
    """The target photo as if lit from the image's right: each pixel of the face darkened by a Lambert term of its
    mesh normal (smooth across triangles), so the shade follows the face's shape: down the side of the nose, across
    the cheek turning away, with its edge where the face turns."""
    points = _points(target)
    normals = shading.vertex_normals(points)
    light = np.array([0.8, 0.0, -0.6])  # from the image's right, towards the face (normals face negative z)
    vertex_shade = np.clip(0.25 + 0.9 * (normals @ light), 0.25, 1.0)
    image = target.image_bgr
    shade = np.ones(image.shape[:2], np.float32)
    for triangle in TESSELATION_TRIANGLES:
        cv2.fillConvexPoly(shade, np.rint(points[triangle, :2]).astype(np.int32), float(vertex_shade[triangle].mean()))
    face_width = shading.face_width(points)
    shade = cv2.GaussianBlur(shade, (0, 0), 0.015 * face_width)
    return np.asarray(np.clip(image * shade[:, :, None], 0, 255), np.uint8)


def _cheek_balance(image_bgr: BgrImage, points: np.ndarray) -> float:
    """log2 of the mean luminance of the person's right cheek over their left cheek."""
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)
    means = []
    for patch in (RIGHT_CHEEK_PATCH, LEFT_CHEEK_PATCH):
        mask = np.zeros(grey.shape, np.uint8)
        cv2.fillPoly(mask, [np.rint(points[list(patch), :2]).astype(np.int32)], 1)
        means.append(float(grey[mask > 0].mean()))
    return float(np.log2(means[0] / means[1]))


def test_normals_face_the_camera_and_turn_away_at_the_cheeks(hopper: TargetFace) -> None:
    normals = shading.vertex_normals(_points(hopper))
    assert normals.shape == (MESH_POINT_COUNT, 3)
    assert np.allclose(np.linalg.norm(normals, axis=1), 1.0)
    assert normals[NOSE_TIP, 2] < -0.8
    assert normals[RIGHT_CHEEK, 0] < -0.5  # the image's left
    assert normals[LEFT_CHEEK, 0] > 0.5


def test_a_light_is_recovered_from_the_skin_despite_a_dark_beard(hopper: TargetFace) -> None:
    normals = shading.vertex_normals(_points(hopper))
    luminance = 120.0 + 50.0 * normals[:, 0] - 20.0 * normals[:, 1] - 30.0 * normals[:, 2]
    chin = _points(hopper)[:MESH_POINT_COUNT, 1] > np.percentile(_points(hopper)[:MESH_POINT_COUNT, 1], 85)
    luminance[chin] -= 70.0  # a beard: dark whatever the light
    coefficients = shading.fit_light(luminance, normals)
    assert coefficients is not None
    assert np.allclose(coefficients, [120.0, 50.0, -20.0, -30.0], atol=1.5)
    shade = shading.relative_shade(coefficients, normals)
    assert shade[LEFT_CHEEK] > 1.2 > 0.8 > shade[RIGHT_CHEEK]  # lit from the image's right


@pytest.fixture(scope="module")
def side_lit_hopper(
    hopper: TargetFace, landmark_model_path: Path, tmp_path_factory: pytest.TempPathFactory
) -> TargetFace:
    path = tmp_path_factory.mktemp("side_lit") / "hopper_side_lit.png"
    cv2.imwrite(str(path), _side_lit(hopper))
    return load_target_face(path, landmark_model_path)


@pytest.fixture(scope="module")
def astronaut_face(astronaut_bgr: np.ndarray, landmark_model_path: Path) -> FaceLandmarks:
    return find_faces_in_photo(astronaut_bgr, landmark_model_path, max_faces=1)[0]


def _photo_imbalance(side_lit: TargetFace, even: TargetFace) -> float:
    return _cheek_balance(side_lit.image_bgr, _points(side_lit)) - _cheek_balance(even.image_bgr, _points(even))


def _swap_imbalance(
    targets: tuple[TargetFace, TargetFace],
    frame_bgr: BgrImage,
    face: FaceLandmarks,
    settings: SwapConfig,
    *,
    blended: bool,
) -> float:
    """The cheek balance of the first target's swap less the second's: of the engine's drawn face, or of the frame
    after blending."""
    balances = []
    for target in targets:
        engine = MeshFaceSwapper()
        engine.set_target(target)
        drawn = engine.swap_face(frame_bgr, face, None, settings)
        assert drawn is not None
        if blended:
            output = frame_bgr.copy()
            blend_face(output, drawn, face, settings)
            balances.append(_cheek_balance(output, _points(face)))
        else:
            origin = np.array([drawn.region.x0, drawn.region.y0, 0.0])
            balances.append(_cheek_balance(drawn.face_bgr, _points(face) - origin))
    return balances[0] - balances[1]


def test_the_engine_takes_a_side_lit_photos_shadow_out_where_the_face_turns(
    hopper: TargetFace, side_lit_hopper: TargetFace, astronaut_bgr: np.ndarray, astronaut_face: FaceLandmarks
) -> None:
    photo_imbalance = _photo_imbalance(side_lit_hopper, hopper)
    assert photo_imbalance < -1.0  # the photo's right cheek is in shadow: under half as bright as its left
    targets = (side_lit_hopper, hopper)
    as_photographed = _swap_imbalance(
        targets, astronaut_bgr, astronaut_face, SwapConfig(colour_match=False), blended=False
    )
    relit = _swap_imbalance(targets, astronaut_bgr, astronaut_face, SwapConfig(), blended=False)
    assert abs(as_photographed - photo_imbalance) < 0.3  # without matching, the photo's shadow is drawn as it is
    # The shadow side is lit up by at least 40 % (SHADE_LIMITS allow half again; blend's coarse match does the rest).
    assert relit - as_photographed > 0.5


def test_a_side_lit_photo_is_shown_in_the_users_light(
    hopper: TargetFace, side_lit_hopper: TargetFace, astronaut_bgr: np.ndarray, astronaut_face: FaceLandmarks
) -> None:
    photo_imbalance = _photo_imbalance(side_lit_hopper, hopper)
    targets = (side_lit_hopper, hopper)
    unmatched = _swap_imbalance(targets, astronaut_bgr, astronaut_face, SwapConfig(colour_match=False), blended=True)
    matched = _swap_imbalance(targets, astronaut_bgr, astronaut_face, SwapConfig(), blended=True)
    assert unmatched < 0.7 * photo_imbalance
    assert abs(matched) < 0.15 * abs(photo_imbalance)


def test_only_a_photo_lit_hard_from_one_side_has_the_edges_of_its_light_kept(
    hopper: TargetFace,
    side_lit_hopper: TargetFace,
    portrait_face: Callable[[str], TargetFace],
    astronaut_bgr: np.ndarray,
    astronaut_face: FaceLandmarks,
) -> None:
    """blend keeps the edges of the drawn face's own light (match_colour's keep_light_edges) for a side-lit photo, so
    its shadow's edge is not lifted into a white wedge, and never for a frontal one, whose deep eye sockets and nose
    shade are part of its identity."""
    targets = {
        "Hopper lit from one side": (side_lit_hopper, 1.0),
        "Hopper": (hopper, 0.0),
        "a 3/4 portrait lit from one side (p10_1)": (portrait_face("p10_1.jpg"), 1.0),
        "a frontal portrait (p04_2)": (portrait_face("p04_2.jpg"), 0.0),
    }
    for name, (target, expected) in targets.items():
        engine = MeshFaceSwapper()
        engine.set_target(target)
        swapped = engine.swap_face(astronaut_bgr, astronaut_face, None, SwapConfig())
        assert isinstance(swapped, MeshSwappedFace)
        assert swapped.light_edges == pytest.approx(expected, abs=0.1), name


def test_a_photos_deep_shadow_is_drawn_from_its_lit_side(
    hopper: TargetFace, side_lit_hopper: TargetFace, astronaut_bgr: np.ndarray, astronaut_face: FaceLandmarks
) -> None:
    """Lifting a shadow at a quarter of the lit side's light would lift its noise fourfold (a grainy, blotchy half
    face), and the light swap lifts by half again at most: the drawn face stayed half dark. The shadowed cheek is now
    drawn from the lit one, mirrored (engines/symmetric_fill.py), the eyes, brows and lips never; a frontal, evenly
    lit photo is drawn as it is."""
    evenly_lit = np.asarray(hopper.landmarks.points_px, np.float32)
    assert mirror_weights(evenly_lit, shading.vertex_luminance(hopper.image_bgr, evenly_lit, 200.0)) is None
    points = np.asarray(side_lit_hopper.landmarks.points_px, np.float32)
    weights = mirror_weights(points, shading.vertex_luminance(side_lit_hopper.image_bgr, points, 200.0))
    assert weights is not None
    assert float(np.median(weights[list(RIGHT_CHEEK_PATCH)])) > 0.6  # the shadowed cheek (the image's left)
    assert float(weights[list(LEFT_CHEEK_PATCH)].max()) == 0.0
    features = RIGHT_EYE + LEFT_EYE + RIGHT_EYEBROW + LEFT_EYEBROW + OUTER_LIP_UPPER + OUTER_LIP_LOWER
    assert float(weights[list(features)].max()) == 0.0

    targets = (side_lit_hopper, hopper)
    drawn = _swap_imbalance(targets, astronaut_bgr, astronaut_face, SwapConfig(), blended=False)
    assert abs(drawn) < 0.25  # was -0.99: the shadowed cheek at half the light of the evenly lit photo's
    # Without colour matching the photo is drawn as taken, its shadow too.
    as_taken = _swap_imbalance(targets, astronaut_bgr, astronaut_face, SwapConfig(colour_match=False), blended=False)
    assert as_taken < -1.0
