"""A user's beard is not light: the light match leaves facial hair out of the user's light (stages/blend.facial_hair).

Real MediaPipe landmarks on a shared portrait with a full beard (p34_1), the public-domain Grace Hopper (no beard, as
taken and with her chin in shadow) and a shared talking clip of a bearded man (v10) swapped onto Hopper.
"""

from __future__ import annotations

import dataclasses
import math
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import AppConfig, LandmarkConfig
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper, MeshSwappedFace
from faceswap_live.inputs.target_photo import load_target_face
from faceswap_live.offline import process_frames, read_video_frames
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.stages import shading
from faceswap_live.stages.blend import SHADING_GRID_SIDE_PX, blend_face, facial_hair, user_beard_cover
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.stages.mesh_topology import CHEEKBONES, FACE_OVAL, MOUTH_CORNERS, NOSE_WING_SIDES
from faceswap_live.types import BgrImage, Box, FrameResult, TargetFace

CHIN: tuple[int, ...] = (152, 148, 176, 149, 150, 377, 400, 378, 379, 199, 175, 171, 396, 208, 428, 200)
"""Mesh points on the chin, below the lower lip and inside the jaw line."""
CHEEK_PATCHES: tuple[tuple[int, ...], ...] = (
    (50, 101, 118, 117, 123, 187, 205, 36),
    (280, 330, 347, 346, 352, 411, 425),
)


@pytest.fixture(scope="module")
def hopper(tmp_path_factory: pytest.TempPathFactory, hopper_bgr: np.ndarray, landmark_model_path: Path) -> TargetFace:
    path = tmp_path_factory.mktemp("facial_hair") / "hopper.png"
    cv2.imwrite(str(path), hopper_bgr)
    return load_target_face(path, landmark_model_path)


def _hair_at(image_bgr: BgrImage, points: np.ndarray, indices: tuple[int, ...]) -> np.ndarray:
    """facial_hair of the whole image (its default grid: cells of a whole number of pixels, at most
    SHADING_GRID_SIDE_PX a side), read in the cells under these mesh points."""
    weights = facial_hair(image_bgr, points, shading.face_width(points))
    factor = math.ceil(max(image_bgr.shape[:2]) / SHADING_GRID_SIDE_PX)
    cells = np.rint((points[list(indices), :2] + 0.5) / factor - 0.5).astype(int)
    cells = np.clip(cells, 0, (weights.shape[1] - 1, weights.shape[0] - 1))
    return np.asarray(weights[cells[:, 1], cells[:, 0]])


def test_a_full_beard_is_found_on_the_chin_and_never_on_the_cheekbones(
    portrait_face: Callable[[str], TargetFace],
) -> None:
    bearded = portrait_face("p34_1.jpg")
    points = np.asarray(bearded.landmarks.points_px, np.float64)
    assert float(np.median(_hair_at(bearded.image_bgr, points, CHIN))) > 0.6
    assert float(_hair_at(bearded.image_bgr, points, CHEEKBONES).max()) == 0.0


def test_a_chin_in_shadow_is_not_a_beard(hopper: TargetFace) -> None:
    points = np.asarray(hopper.landmarks.points_px, np.float64)
    # Her lower face darkened to 0.55 below the nose wings: as dark as a beard, with a skin's fine detail.
    rows = np.arange(hopper.image_bgr.shape[0], dtype=np.float32)[:, None, None]
    nose_y = float(points[list(NOSE_WING_SIDES), 1].mean())
    shade = 1.0 - 0.45 * np.clip((rows - nose_y) / (0.15 * shading.face_width(points)), 0.0, 1.0)
    shadowed = np.clip(hopper.image_bgr * shade, 0, 255).astype(np.uint8)
    for image in (hopper.image_bgr, shadowed):
        assert float(_hair_at(image, points, CHIN).max()) < 0.2


def _chin_over_cheeks(image_bgr: BgrImage, points: np.ndarray) -> float:
    """Mean luminance of the chin over that of the two cheeks (each a hull of mesh points)."""
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float64)

    def mean_in(indices: tuple[int, ...]) -> float:
        mask = np.zeros(grey.shape, np.uint8)
        cv2.fillPoly(mask, [cv2.convexHull(np.rint(points[list(indices), :2]).astype(np.int32))], 1)
        return float(grey[mask > 0].mean())

    return mean_in(CHIN) / float(np.mean([mean_in(patch) for patch in CHEEK_PATCHES]))


@pytest.fixture(scope="module")
def bearded_user_as_hopper(
    hopper: TargetFace, landmark_model_path: Path, faces_dir: Path
) -> tuple[list[BgrImage], list[FrameResult]]:
    """The first 24 frames of v10 (a man with a full beard) and the pipeline's results with Hopper as the target."""
    frames, fps = read_video_frames(faces_dir / "videos" / "v10_p47.mp4", 24)
    pipeline = Pipeline(AppConfig(), landmark_model_path)
    try:
        pipeline.set_target(hopper)
        results = list(process_frames(pipeline, frames, fps))
    finally:
        pipeline.close()
    return frames, results


def test_a_bearded_users_chin_keeps_the_targets_skin(
    hopper: TargetFace, bearded_user_as_hopper: tuple[list[BgrImage], list[FrameResult]]
) -> None:
    """The beard's darkness is not passed on as shade: the swapped chin over the cheeks stays at least halfway from
    the user's (0.55, the beard) to the target photo's own (0.77); read as light, the beard gave 0.56."""
    frames, results = bearded_user_as_hopper
    user, swapped = [], []
    for frame, result in zip(frames[8:], results[8:], strict=True):  # after the light follow has settled
        points = np.asarray(result.faces[0].points_px, np.float64)
        user.append(_chin_over_cheeks(frame, points))
        swapped.append(_chin_over_cheeks(result.output_bgr, points))
    photo = _chin_over_cheeks(hopper.image_bgr, np.asarray(hopper.landmarks.points_px, np.float64))
    user_ratio, swapped_ratio = float(np.median(user)), float(np.median(swapped))
    assert user_ratio < 0.65 < photo  # a dark beard on the user, a lighter chin on the photo
    assert swapped_ratio - user_ratio >= 0.5 * (photo - user_ratio)


def _jaw_band_over_cheeks(image_bgr: BgrImage, points: np.ndarray) -> float:
    """Median luminance of a band along the lower face outline (from 0.04 of the face width inside it to 0.02
    outside, below the nose wings) over that of the cheeks."""
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)
    face_width = shading.face_width(points)
    oval: np.ndarray = np.zeros(grey.shape, np.uint8)
    cv2.fillPoly(oval, [np.rint(points[list(FACE_OVAL), :2]).astype(np.int32)], 255)

    def disc(share: float) -> np.ndarray:
        return cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (int(2 * share * face_width) | 1,) * 2)

    band = (cv2.dilate(oval, disc(0.02)) > 0) & (cv2.erode(oval, disc(0.04)) == 0)
    band[: int(points[list(NOSE_WING_SIDES), 1].mean())] = False
    cheeks: np.ndarray = np.zeros(grey.shape, np.uint8)
    for patch in CHEEK_PATCHES:
        cv2.fillPoly(cheeks, [cv2.convexHull(np.rint(points[list(patch), :2]).astype(np.int32))], 1)
    return float(np.median(grey[band])) / float(np.median(grey[cheeks > 0]))


def test_a_bearded_users_beard_does_not_show_along_the_drawn_jaw(
    bearded_user_as_hopper: tuple[list[BgrImage], list[FrameResult]],
) -> None:
    """v10's beard runs through the mask's fade at his face outline and past it under the chin. Left as it was, it
    drew a dark band along Hopper's jaw (the band at 0.51 of her cheeks' brightness in every frame: a chinstrap
    beard); painted over with her skin, the jaw ends in skin (0.81-0.82; the band reaches past the outline,
    where his beard is left)."""
    frames, results = bearded_user_as_hopper
    for frame, result in zip(frames[8:], results[8:], strict=True):
        points = np.asarray(result.faces[0].points_px, np.float64)
        assert _jaw_band_over_cheeks(frame, points) < 0.6  # the user's own beard along the outline
        assert _jaw_band_over_cheeks(result.output_bgr, points) > 0.75


def test_long_hair_beside_a_bare_chin_is_not_taken_for_a_beard(landmark_model_path: Path, faces_dir: Path) -> None:
    """Dark hair down beside the jaw (v09) is dark and finely detailed like a beard, but along her face outline
    below the nose skin shows too (a facial-hair weight of 0.50-0.59 there against 0.89-0.93 on v10): nothing is
    painted over. v10's beard is found in every frame."""
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(max_faces=1), mode="image") as detector:
        for video, bearded in (("v09_p46.mp4", False), ("v10_p47.mp4", True)):
            frames, _ = read_video_frames(faces_dir / "videos" / video, 30)
            for frame in frames[::6]:
                points = detector.detect(frame)[0].points_px
                region = Box.around(points).expanded(1.04).clipped(frame.shape[1], frame.shape[0])
                face_width = float(np.ptp(points[list(FACE_OVAL), 0]))
                in_region = np.asarray(points[:, :2], np.float64) - (region.x0, region.y0)
                user_bgr = frame[region.y0 : region.y1, region.x0 : region.x1]
                cover = user_beard_cover(
                    user_bgr, in_region, face_width, 0.08, facial_hair(user_bgr, in_region, face_width)
                )
                assert (cover is not None) == bearded, video


def _disc(shape: tuple[int, ...], centre: np.ndarray, radius: float) -> np.ndarray:
    mask: np.ndarray = np.zeros(shape[:2], np.uint8)
    cv2.circle(mask, (round(centre[0]), round(centre[1])), round(radius), 1, -1)
    return mask


def test_a_bearded_users_beard_does_not_show_through_where_the_photo_has_hair_over_a_cheek(
    hopper: TargetFace, bearded_user_as_hopper: tuple[list[BgrImage], list[FrameResult]]
) -> None:
    """Where the target photo shows hair over a cheek, the mask lets the user's own cheek through: for v10 that was
    his beard, a patch of stubble inside the drawn face. A hole cut in Hopper's coverage on his lower cheek (from
    the mouth corner 0.45 of the way to the jaw, well inside the outline) showed his beard, at 0.66 of the
    drawn skin's brightness there; it now shows skin at 0.98 of it.
    """
    frames, results = bearded_user_as_hopper
    settings = AppConfig().swap
    engine = MeshFaceSwapper()
    engine.set_target(hopper)
    for frame, result in zip(frames[8:24:5], results[8:24:5], strict=True):
        face = result.faces[0]
        points = np.asarray(face.points_px, np.float64)
        swapped = engine.swap_face(frame, face, None, settings)
        assert isinstance(swapped, MeshSwappedFace)
        region = swapped.region
        radius = 0.05 * shading.face_width(points)
        hole = _disc(
            frame.shape, points[MOUTH_CORNERS[0], :2] + 0.45 * (points[150, :2] - points[MOUTH_CORNERS[0], :2]), radius
        )
        coverage = swapped.coverage * (1.0 - hole[region.y0 : region.y1, region.x0 : region.x1])
        drawn, painted = frame.copy(), frame.copy()
        blend_face(drawn, swapped, face, settings)
        blend_face(painted, dataclasses.replace(swapped, coverage=coverage.astype(np.float32)), face, settings)
        user_there, drawn_there, painted_there = (
            float(np.median(cv2.cvtColor(image, cv2.COLOR_BGR2GRAY)[hole > 0])) for image in (frame, drawn, painted)
        )
        assert user_there < 0.75 * drawn_there  # his beard, under the hole
        assert painted_there > 0.9 * drawn_there
