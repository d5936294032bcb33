"""A shutting eye drawn with the user's own lid in the target's colours (engines/shut_lids.py).

Shared talking clips as the user (v07: both eyes shut at frame 51 and a wink at 20, no glasses; v06: eyes shut at
frame 40, in glasses) and shared portraits: long, dark lashes and liner (p02_1), skin cooler than v07's (p05_1).
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import SwapConfig
from faceswap_live.engines import mesh_swapper
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper, MeshSwappedFace
from faceswap_live.inputs.target_photo import find_faces_in_photo
from faceswap_live.offline import read_video_frames
from faceswap_live.stages.mesh_topology import (
    LEFT_EYE_UPPER,
    LEFT_EYEBROW,
    RIGHT_EYE_LOWER,
    RIGHT_EYE_UPPER,
    RIGHT_EYEBROW,
)
from faceswap_live.types import BgrImage, FaceLandmarks, TargetFace


def _lid_mask(shape: tuple[int, ...], points: np.ndarray, left: bool = False) -> np.ndarray:
    """The right (or left) eye's lid, from its upper contour up to the brow's lower edge."""
    upper, brow = (LEFT_EYE_UPPER, LEFT_EYEBROW) if left else (RIGHT_EYE_UPPER, RIGHT_EYEBROW)
    polygon = np.vstack([points[list(upper), :2], points[list(brow[5:]), :2]])
    mask = np.zeros(shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.rint(polygon).astype(np.int32)], 1)
    return mask > 0


def _streaks(image_bgr: BgrImage, mask: np.ndarray) -> float:
    """Mean horizontal gradient of the fine detail (above a 2-pixel blur) inside mask: a brush of lashes is a row of
    thin dark vertical streaks; a lid's own light and crease are broader."""
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    fine = grey - cv2.GaussianBlur(grey, (0, 0), 2.0)
    return float(np.abs(cv2.Sobel(fine, cv2.CV_32F, 1, 0, ksize=3))[mask].mean())


def _brightness_from_lashes_to_brow(image_bgr: BgrImage, points: np.ndarray) -> np.ndarray:
    """The right lid's brightness at 15 steps from its lash line up to the brow's lower edge, along three lines
    (a quarter, half and three quarters of the way along the eye)."""
    grey = cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY).astype(np.float32)
    lashes = points[list(RIGHT_EYE_UPPER), :2]
    brow = points[list(RIGHT_EYEBROW[5:]), :2]
    samples = []
    for share in (0.3, 0.5, 0.7):
        start, end = lashes[round(share * (len(lashes) - 1))], brow[round(share * (len(brow) - 1))]
        for step in np.linspace(0.1, 0.9, 15):
            x, y = start + step * (end - start)
            samples.append(float(cv2.getRectSubPix(grey, (3, 3), (float(x), float(y))).mean()))
    return np.array(samples)


def _drawn_at(
    clip: str, shut_frame: int, target: TargetFace, model_path: Path, faces_dir: Path, right_shut: bool = True
) -> MeshSwappedFace:
    """The engine's drawn face at shut_frame of a shared clip, after every frame before it (the user's usual, open
    eyes); right_shut: the frame is checked to show the right eye shut."""
    frames, _ = read_video_frames(faces_dir / "videos" / clip, shut_frame + 1)
    shown = frames[: shut_frame + 1]
    engine = MeshFaceSwapper()
    engine.set_target(target)
    drawn = None
    for frame in shown:
        face = find_faces_in_photo(frame, model_path, max_faces=1)[0]
        drawn = engine.swap_face(frame, face, None, SwapConfig())
    assert _shut(face) or not right_shut
    assert isinstance(drawn, MeshSwappedFace)
    return drawn


def _lid_streaks_with_and_without(
    clip: str, shut_frame: int, target: TargetFace, model_path: Path, faces_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> tuple[MeshSwappedFace, MeshSwappedFace, np.ndarray]:
    with_lids = _drawn_at(clip, shut_frame, target, model_path, faces_dir)
    with monkeypatch.context() as patch:
        patch.setattr(mesh_swapper, "with_user_lids", lambda face_bgr, *_: face_bgr)
        squeezed = _drawn_at(clip, shut_frame, target, model_path, faces_dir)
    points = np.asarray(with_lids.feature_points_px, np.float64) - (with_lids.region.x0, with_lids.region.y0)
    return with_lids, squeezed, _lid_mask(with_lids.face_bgr.shape, points)


def test_a_shut_eye_shows_the_users_closed_lid_not_a_brush_of_the_photos_lashes(
    portrait_face: Callable[[str], TargetFace],
    faces_dir: Path,
    landmark_model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    with_lids, squeezed, lid = _lid_streaks_with_and_without(
        "v07_p44.mp4", 51, portrait_face("p02_1.jpg"), landmark_model_path, faces_dir, monkeypatch
    )
    frames, _ = read_video_frames(faces_dir / "videos" / "v07_p44.mp4", 52)
    user = find_faces_in_photo(frames[51], landmark_model_path, max_faces=1)[0]
    users_lid = _lid_mask(frames[51].shape, np.asarray(user.points_px, np.float64))

    def streakiness(image_bgr: BgrImage, mask: np.ndarray) -> float:
        return _streaks(image_bgr, mask) / float(np.median(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)[mask]))

    # No streakier than the user's own closed lid, relative to its brightness (0.9 of it; the squeezed eye 1.65×).
    assert streakiness(with_lids.face_bgr, lid) < 1.2 * streakiness(frames[51], users_lid)
    assert streakiness(squeezed.face_bgr, lid) > 1.2 * streakiness(frames[51], users_lid)
    # The lid takes the drawn face's colours, not the user's skin tone: its mean colour is near the drawn skin's
    # around it.
    around = cv2.dilate(lid.astype(np.uint8), np.ones((15, 15), np.uint8)).astype(bool) & ~lid
    colour_gap = with_lids.face_bgr[lid].mean(axis=0) - squeezed.face_bgr[around].mean(axis=0)
    assert np.abs(colour_gap).max() < 25.0


def test_a_shut_eye_has_no_dark_stepped_line_along_its_lashes(
    portrait_face: Callable[[str], TargetFace],
    faces_dir: Path,
    landmark_model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Drawn shut, the photo's eye squeezed into the closed gap left a line of near-black pixel steps along the lid
    (its lashes and iris in a few pixel rows); the user's closed lids show one soft lash line."""
    with_lids, squeezed, _ = _lid_streaks_with_and_without(
        "v07_p44.mp4", 51, portrait_face("p02_1.jpg"), landmark_model_path, faces_dir, monkeypatch
    )
    points = np.asarray(with_lids.feature_points_px, np.float64) - (with_lids.region.x0, with_lids.region.y0)
    band = np.zeros(with_lids.face_bgr.shape[:2], np.uint8)
    cv2.polylines(band, [np.rint(points[list(RIGHT_EYE_LOWER), :2]).astype(np.int32)], False, 1, thickness=5)
    # Steps are sharp across the line's length: 0.31 of the squeezed eye's here.
    assert _streaks(with_lids.face_bgr, band > 0) < 0.5 * _streaks(squeezed.face_bgr, band > 0)


def test_a_shut_eye_is_lit_as_the_users_closed_lid(
    portrait_face: Callable[[str], TargetFace], faces_dir: Path, landmark_model_path: Path
) -> None:
    """The closed lid's brightness from lash line to brow follows the user's (the light on its curve, its crease,
    its socket), in the target's tone: with the drawn face's own colours taken at a finer scale every closed lid was
    one flat patch of the photo's squeezed eye socket (r -0.33 here)."""
    frames, _ = read_video_frames(faces_dir / "videos" / "v07_p44.mp4", 52)
    user = find_faces_in_photo(frames[51], landmark_model_path, max_faces=1)[0]
    drawn = _drawn_at("v07_p44.mp4", 51, portrait_face("p02_1.jpg"), landmark_model_path, faces_dir)
    points = np.asarray(drawn.feature_points_px, np.float64) - (drawn.region.x0, drawn.region.y0)
    user_profile = _brightness_from_lashes_to_brow(frames[51], np.asarray(user.points_px, np.float64))
    drawn_profile = _brightness_from_lashes_to_brow(drawn.face_bgr, points)
    assert np.corrcoef(user_profile, drawn_profile)[0, 1] > 0.3


def test_a_winking_lid_keeps_the_users_dark_lash_line_under_a_cooler_target(
    portrait_face: Callable[[str], TargetFace], faces_dir: Path, landmark_model_path: Path
) -> None:
    """v07 winks (left eye) at frame 20; p05_1's skin is cooler than hers. The lid's colour shift, added whole to the
    dark lash line, drew it as a navy band (blue over red +14 among the lid's darkest pixels); the user's own lashes
    are dark brown (-33)."""
    drawn = _drawn_at("v07_p44.mp4", 20, portrait_face("p05_1.jpg"), landmark_model_path, faces_dir, right_shut=False)
    points = np.asarray(drawn.feature_points_px, np.float64) - (drawn.region.x0, drawn.region.y0)
    lid = _lid_mask(drawn.face_bgr.shape, points, left=True).astype(np.uint8)
    lid = cv2.dilate(lid, np.ones((7, 7), np.uint8)) > 0  # down over the lash line
    colours = drawn.face_bgr[..., :3].astype(np.float32)
    brightness = colours.mean(axis=2)
    darkest = lid & (brightness <= np.percentile(brightness[lid], 20))
    blue, _, red = colours[darkest].mean(axis=0)
    assert blue - red < -20.0, (blue, red)


def _shut(face: FaceLandmarks) -> bool:
    """The clip's frame really shows the right eye shut: the user's lid gap is under a fifth of the eye's width."""
    points = np.asarray(face.points_px, np.float64)
    gap = np.linalg.norm(points[RIGHT_EYE_LOWER[4], :2] - points[RIGHT_EYE_UPPER[4], :2])
    return bool(gap < 0.2 * np.linalg.norm(points[RIGHT_EYE_UPPER[0], :2] - points[RIGHT_EYE_UPPER[-1], :2]))


def test_a_user_in_glasses_gets_the_photos_lid_smoothed_along_the_eye(
    portrait_face: Callable[[str], TargetFace],
    faces_dir: Path,
    landmark_model_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Glasses cross the lid (v06): a copy of their frame moved onto the drawn eye would show beside the frame itself,
    so the photo's squeezed lid is smoothed along the eye instead, keeping its colours."""
    with_lids, squeezed, lid = _lid_streaks_with_and_without(
        "v06_p43.mp4", 40, portrait_face("p02_1.jpg"), landmark_model_path, faces_dir, monkeypatch
    )
    assert _streaks(with_lids.face_bgr, lid) < 0.6 * _streaks(squeezed.face_bgr, lid)
    colour_shift = with_lids.face_bgr[lid].mean(axis=0) - squeezed.face_bgr[lid].mean(axis=0)
    assert np.abs(colour_shift).max() < 6.0
