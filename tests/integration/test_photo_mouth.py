"""A photo that smiles with its teeth, drawn on a user whose mouth is closed: the lips meet in their own colour.

The photo's teeth used to be squeezed into the drawn parting as a white or grey-blue line (engines/photo_mouth.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.config import AppConfig, SwapConfig
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper
from faceswap_live.engines.photo_mouth import fill_photo_mouth
from faceswap_live.inputs.target_photo import find_faces_in_photo
from faceswap_live.offline import read_video_frames
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.stages.blend import OUTER_LIPS, blend_face
from faceswap_live.stages.mesh_topology import INNER_LIP_LOWER, INNER_LIP_UPPER, INNER_LIPS
from faceswap_live.types import BgrImage, Frame, TargetFace


def _redness(image_bgr: BgrImage) -> npt.NDArray[np.float32]:
    """Lab a* (0 is grey, lips are 15-40)."""
    return cv2.cvtColor(image_bgr, cv2.COLOR_BGR2Lab)[:, :, 1].astype(np.float32) - np.float32(128.0)


def _parting_and_lips(points: npt.NDArray[np.float64], shape: tuple[int, int]) -> tuple[np.ndarray, np.ndarray]:
    """Masks of the line midway between the inner lip lines (inner tenth at each end left out) and of the lips
    away from it."""
    upper, lower = points[list(INNER_LIP_UPPER)], points[list(INNER_LIP_LOWER)]
    start = max(upper[:, 0].min(), lower[:, 0].min())
    end = min(upper[:, 0].max(), lower[:, 0].max())
    columns = np.linspace(start, end, 50)[5:-5]
    rows = (
        np.interp(columns, *upper[np.argsort(upper[:, 0])].T) + np.interp(columns, *lower[np.argsort(lower[:, 0])].T)
    ) / 2
    parting: np.ndarray = np.zeros(shape, np.uint8)
    for column, row in zip(columns, rows, strict=True):
        cv2.circle(parting, (round(column), round(row)), 1, 1, -1)
    lips: np.ndarray = np.zeros(shape, np.uint8)
    cv2.fillPoly(lips, [np.rint(points[list(OUTER_LIPS)]).astype(np.int32)], 1)
    lips &= 1 - cv2.dilate(parting, np.ones((5, 5), np.uint8))
    return parting > 0, lips > 0


def _parting_redness_share(engine: MeshFaceSwapper, frames: list[BgrImage], model: Path) -> float:
    """The drawn parting's redness over the drawn lips', on the last of `frames` as the user sees it."""
    settings = SwapConfig()
    for frame in frames:
        face = find_faces_in_photo(frame, model, max_faces=1)[0]
        output = frame.copy()
        drawn = engine.swap_face(output, face, None, settings)
    assert drawn is not None
    blend_face(output, drawn, face, settings)
    parting, lips = _parting_and_lips(np.asarray(drawn.feature_points_px, np.float64), output.shape[:2])
    redness = _redness(output)
    return float(np.median(redness[parting]) / np.median(redness[lips]))


def test_a_smile_with_teeth_drawn_on_closed_lips_shows_no_teeth_between_them(
    portrait_face: Callable[[str], TargetFace], faces_dir: Path, landmark_model_path: Path
) -> None:
    # v10 at frame 40: a closed, slightly smiling mouth. p16_1 smiles broadly with his teeth.
    frames, _ = read_video_frames(faces_dir / "videos" / "v10_p47.mp4", 41)
    engine = MeshFaceSwapper()
    engine.set_target(portrait_face("p16_1.jpg"))
    # The lips meet in their own colour, as red as they are (1.12). The photo's teeth squeezed between them were a
    # grey line (0.59); the lip detail taken out in every channel alone (blend.lip_detail_from_user) gives 1.03.
    assert _parting_redness_share(engine, frames[34:], landmark_model_path) > 0.95


def test_the_photos_opening_is_filled_from_its_lips_and_the_lips_outer_half_is_kept(
    astronaut_as_target: TargetFace,
) -> None:
    photo = astronaut_as_target.image_bgr
    points = np.asarray(astronaut_as_target.landmarks.points_px, np.float64)[:, :2]
    filled = fill_photo_mouth(photo, points)
    opening: np.ndarray = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(opening, [np.rint(points[list(INNER_LIPS)]).astype(np.int32)], 1)
    inside = cv2.erode(opening, np.ones((3, 3), np.uint8)) > 0
    lips: np.ndarray = np.zeros(photo.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.rint(points[list(OUTER_LIPS)]).astype(np.int32)], 1)
    outer_half = (lips > 0) & (cv2.dilate(opening, np.ones((9, 9), np.uint8)) == 0)
    lip_redness = float(np.median(_redness(photo)[outer_half]))
    # Her teeth: white, nowhere near as red as her lips (a* 4 against 15); filled, the opening is lip-coloured (17).
    assert float(np.median(_redness(photo)[inside])) < 0.5 * lip_redness
    assert float(np.median(_redness(filled)[inside])) > 0.8 * lip_redness
    # The lips themselves are not repainted: their outer half is kept to the last pixel.
    kept = np.all(filled == photo, axis=2)[outer_half].mean()
    assert kept > 0.95


def _teeth_pixels(output_bgr: BgrImage, points: npt.NDArray[np.float64]) -> int:
    """Pixels inside the user's outer lip line that are paler than the lips there and not half as red: teeth."""
    lips: np.ndarray = np.zeros(output_bgr.shape[:2], np.uint8)
    cv2.fillPoly(lips, [np.rint(points[list(OUTER_LIPS), :2]).astype(np.int32)], 1)
    inside = lips > 0
    lab = cv2.cvtColor(output_bgr, cv2.COLOR_BGR2Lab).astype(np.float32)
    lightness, redness = lab[:, :, 0] / np.float32(2.55), lab[:, :, 1] - np.float32(128.0)
    paler = lightness > np.median(lightness[inside]) + 8.0
    greyer = redness < 0.6 * np.median(redness[inside])
    return int(np.count_nonzero(paler & greyer & inside))


def test_keep_my_mouth_turned_off_while_running_draws_the_photos_own_teeth_again(
    portrait_face: Callable[[str], TargetFace], faces_dir: Path, landmark_model_path: Path
) -> None:
    """With the user's own mouth no longer shown, the photo's mouth is drawn as taken: the engine is built again
    without the fill, from the next frame, and keeps swapping."""
    images, fps = read_video_frames(faces_dir / "videos" / "v10_p47.mp4", 40)
    pipeline = Pipeline(AppConfig(), landmark_model_path)
    pipeline.set_target(portrait_face("p16_1.jpg"))
    teeth: dict[bool, list[int]] = {True: [], False: []}
    try:
        for index, image in enumerate(images):
            if index == 20:
                config = pipeline.config
                pipeline.update_config(
                    dataclasses.replace(config, swap=dataclasses.replace(config.swap, mouth_from_user=False))
                )
            result = pipeline.process(Frame(image, index, index / fps))
            assert result.swapped and result.faces
            if index % 5 == 4:
                points = np.asarray(result.faces[0].points_px, np.float64)
                teeth[index < 20].append(_teeth_pixels(result.output_bgr, points))
    finally:
        pipeline.close()
    # Kept mouth: none (0 on each checked frame); the photo's mouth: its teeth between the lips (86-106 pixels).
    assert max(teeth[True]) <= 5
    assert min(teeth[False]) >= 40
