"""The built-in mesh engine on real faces: identity, mouth, missing faces, faces leaving the frame.

Uses the real MediaPipe landmarker (landmark_model_path) and, for identity, the shared dlib recogniser and videos.
"""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import AppConfig, MarkingConfig, SwapConfig
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper, MeshSwappedFace
from faceswap_live.eval.identity import FaceRecogniser
from faceswap_live.eval.measures import mouth_opening
from faceswap_live.inputs.target_photo import find_faces_in_photo, load_target_face
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.stages.blend import blend_face
from faceswap_live.types import BgrImage, FaceLandmarks, Frame, TargetFace

UNMARKED = AppConfig(marking=MarkingConfig(label_enabled=False, watermark_enabled=False))


@pytest.fixture(scope="module")
def photo_dir(tmp_path_factory: pytest.TempPathFactory, hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray) -> Path:
    folder = tmp_path_factory.mktemp("photos")
    cv2.imwrite(str(folder / "hopper.png"), hopper_bgr)
    cv2.imwrite(str(folder / "astronaut.png"), astronaut_bgr)
    return folder


@pytest.fixture(scope="module")
def hopper_target(photo_dir: Path, landmark_model_path: Path) -> TargetFace:
    return load_target_face(photo_dir / "hopper.png", landmark_model_path)


@pytest.fixture(scope="module")
def astronaut_target(photo_dir: Path, landmark_model_path: Path) -> TargetFace:
    return load_target_face(photo_dir / "astronaut.png", landmark_model_path)


def _face_in(image_bgr: BgrImage, model_path: Path) -> FaceLandmarks:
    faces = find_faces_in_photo(image_bgr, model_path, max_faces=1)
    assert faces, "the test photo must show a face"
    return faces[0]


def _swap(frame_bgr: BgrImage, target: TargetFace, model_path: Path, settings: SwapConfig) -> BgrImage:
    engine = MeshFaceSwapper()
    engine.set_target(target)
    face = _face_in(frame_bgr, model_path)
    swapped = engine.swap_face(frame_bgr, face, None, settings)
    assert swapped is not None
    output = frame_bgr.copy()
    blend_face(output, swapped, face, settings)
    return output


def test_swapping_a_face_onto_itself_gives_back_the_same_face(
    hopper_bgr: np.ndarray, hopper_target: TargetFace, landmark_model_path: Path
) -> None:
    """The warp is exact: the target's own mesh maps its photo onto itself (no tearing, no shift)."""
    output = _swap(hopper_bgr, hopper_target, landmark_model_path, SwapConfig())
    face = _face_in(hopper_bgr, landmark_model_path)
    box = face.box.expanded(0.6)
    difference = np.abs(
        output[box.y0 : box.y1, box.x0 : box.x1].astype(int) - hopper_bgr[box.y0 : box.y1, box.x0 : box.x1]
    )
    assert difference.mean() < 6.0


def test_open_mouth_in_the_source_stays_open_with_the_users_teeth(
    astronaut_bgr: np.ndarray, hopper_target: TargetFace, landmark_model_path: Path
) -> None:
    """The astronaut smiles with teeth showing; Hopper's mouth is closed. The swap must keep the mouth open."""
    output = _swap(astronaut_bgr, hopper_target, landmark_model_path, SwapConfig(mouth_from_user=True))
    source_opening = mouth_opening(_face_in(astronaut_bgr, landmark_model_path).points_px)
    output_face = _face_in(output, landmark_model_path)
    assert mouth_opening(output_face.points_px) > 0.5 * source_opening
    assert mouth_opening(output_face.points_px) > 0.08
    # The teeth are the user's own: the mouth interior (moved along with the lips, which take the target's
    # proportions) shows what the source shows between its lips.
    face = _face_in(astronaut_bgr, landmark_model_path)

    def patch(points_px: np.ndarray) -> tuple[slice, slice]:
        lips = points_px[[13, 14], :2].mean(axis=0).round().astype(int)
        return (slice(lips[1] - 1, lips[1] + 2), slice(lips[0] - 3, lips[0] + 4))

    source_teeth = astronaut_bgr[patch(face.points_px)].astype(int)
    # (the lips were reshaped, so the teeth were moved and resampled: a looser bound; closed lips differ by > 60)
    assert np.abs(output[patch(output_face.points_px)].astype(int) - source_teeth).mean() < 40


def test_closed_mouth_in_the_source_stays_closed_without_the_targets_teeth(
    hopper_bgr: np.ndarray, astronaut_target: TargetFace, landmark_model_path: Path
) -> None:
    output = _swap(hopper_bgr, astronaut_target, landmark_model_path, SwapConfig())
    output_face = _face_in(output, landmark_model_path)
    assert mouth_opening(output_face.points_px) < 0.08
    # No white teeth pasted between the lips.
    lips = output_face.points_px[[13, 14], :2].mean(axis=0).round().astype(int)
    mouth = output[lips[1] - 2 : lips[1] + 3, lips[0] - 6 : lips[0] + 7]
    assert cv2.cvtColor(mouth, cv2.COLOR_BGR2GRAY).mean() < 170


def test_frame_without_a_face_passes_through_unchanged(astronaut_target: TargetFace, landmark_model_path: Path) -> None:
    pipeline = Pipeline(UNMARKED, landmark_model_path)
    try:
        pipeline.set_target(astronaut_target)
        image = np.full((240, 320, 3), 90, np.uint8)
        cv2.rectangle(image, (40, 40), (120, 200), (20, 160, 220), -1)
        result = pipeline.process(Frame(image_bgr=image, index=0, captured_at_s=0.0))
    finally:
        pipeline.close()
    assert not result.swapped
    assert np.array_equal(result.output_bgr, image)


def test_face_leaving_the_frame_mid_clip_causes_no_error(
    hopper_bgr: np.ndarray, astronaut_target: TargetFace, landmark_model_path: Path
) -> None:
    pipeline = Pipeline(UNMARKED, landmark_model_path)
    height, width = hopper_bgr.shape[:2]
    swapped_frames = []
    try:
        pipeline.set_target(astronaut_target)
        for index, shift in enumerate(range(0, 520, 40)):  # slide the face out to the right, past the edge
            moved = cv2.warpAffine(hopper_bgr, np.float32([[1, 0, shift], [0, 1, 0]]), (width, height))
            result = pipeline.process(Frame(image_bgr=moved, index=index, captured_at_s=index / 30))
            assert result.output_bgr.shape == moved.shape
            swapped_frames.append(result.swapped)
    finally:
        pipeline.close()
    assert swapped_frames[0], "the face in full view must be swapped"
    assert not swapped_frames[-1], "a face that has left must not be swapped any more"


def test_swapped_shared_video_frames_look_like_the_target_to_an_independent_recogniser(
    faces_dir: Path, face_recogniser: FaceRecogniser, landmark_model_path: Path
) -> None:
    from faceswap_live.eval.run import EvalPair, evaluate_pair

    result = evaluate_pair(
        EvalPair("v06_p43.mp4", "p08_1.jpg", "p08_3.jpg"),
        faces_dir,
        landmark_model_path,
        face_recogniser,
        AppConfig(),
        frames_per_clip=9,
        identity_every=3,
    )
    assert result.identity_frames >= 2
    assert result.nearer_target_share == 1.0
    assert result.distance_to_target < result.distance_to_source
    assert result.mean_iou > 0.75
    # The eval reads where the irises sit in source and output on every frame with a face in both.
    assert len(result.gaze_source) == len(result.gaze_output) >= 8
    assert all(abs(along) < 0.5 and abs(across) < 0.5 for along, across in result.gaze_output)


def test_a_closed_eye_closes_the_targets_lid_and_the_skin_above_it(
    hopper_target: TargetFace, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """A wink: the user's right upper lid comes down onto the lower one; the drawn lid follows, and so does the lid
    skin above it (otherwise the target's open eye and lashes stay squashed into the slit and still look open)."""
    from faceswap_live.stages.mesh_topology import RIGHT_EYE_LOWER, RIGHT_EYE_UPPER, ring_distance

    engine = MeshFaceSwapper()
    engine.set_target(hopper_target)
    open_points = np.asarray(_face_in(astronaut_bgr, landmark_model_path).points_px, np.float32)
    winking = open_points.copy()
    winking[list(RIGHT_EYE_UPPER[1:-1]), :2] = winking[list(RIGHT_EYE_LOWER[1:-1]), :2]
    settings = SwapConfig()
    drawn_open = engine.destination_points(open_points, settings)
    drawn_wink = engine.destination_points(winking, settings)
    lid_gap = np.linalg.norm(drawn_wink[145] - drawn_wink[159])
    assert lid_gap < 0.05 * np.linalg.norm(drawn_wink[33] - drawn_wink[133])
    # The first ring of points above the lid moves down by a good share of the lid's own travel.
    ring_above = [
        index
        for index in np.flatnonzero(ring_distance(RIGHT_EYE_UPPER[1:-1]) == 1)
        if open_points[index, 1] < open_points[159, 1] - 1.0
    ]
    lid_travel = drawn_wink[159, 1] - drawn_open[159, 1]
    ring_travel = float(np.mean(drawn_wink[ring_above, 1] - drawn_open[ring_above, 1]))
    assert lid_travel > 2.0 and ring_travel > 0.3 * lid_travel


def test_an_eye_lowered_to_a_slit_is_drawn_shut_and_a_half_open_eye_keeps_its_gap(
    hopper_target: TargetFace, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """A user's lid lowered to a slit reads as closed (their lashes hide it); drawn as a slit of the photo's open eye
    it showed a sliver of iris under squeezed lashes, a squint. Below a fifth of the user's usual gap the drawn eye is
    shut; a half-open eye (lowered lids, looking down) keeps exactly the user's gap; the other eye is untouched."""
    from faceswap_live.stages.mesh_topology import RIGHT_EYE_LOWER, RIGHT_EYE_UPPER

    engine = MeshFaceSwapper()
    engine.set_target(hopper_target)
    open_points = np.asarray(_face_in(astronaut_bgr, landmark_model_path).points_px, np.float32)
    settings = SwapConfig()
    for _ in range(30):  # the user's usual, open eyes
        engine.destination_points(open_points, settings)
    upper, lower = list(RIGHT_EYE_UPPER[1:-1]), list(RIGHT_EYE_LOWER[1:-1])

    def lowered_to(share: float) -> np.ndarray:
        points = open_points.copy()
        points[upper, :2] = points[lower, :2] + share * (open_points[upper, :2] - open_points[lower, :2])
        return points

    eye_width = float(np.linalg.norm(open_points[33, :2] - open_points[133, :2]))
    slit, half_open = lowered_to(0.15), lowered_to(0.6)
    drawn_slit = engine.destination_points(slit, settings)
    assert np.linalg.norm(drawn_slit[145] - drawn_slit[159]) < 0.01 * eye_width  # the user's gap: 0.15 of open
    drawn_half = engine.destination_points(half_open, settings)
    user_gap = half_open[lower, :2] - half_open[upper, :2]
    assert np.allclose(drawn_half[lower] - drawn_half[upper], user_gap, atol=1e-3)
    left_gap = open_points[374, :2] - open_points[386, :2]  # the other eye, open as usual
    assert np.allclose(drawn_slit[374] - drawn_slit[386], left_gap, atol=1e-3)


def _band_luminance(image_bgr: BgrImage, lower_edge: np.ndarray, upper_edge: np.ndarray) -> float:
    """Mean luminance of image_bgr between two polylines (K×2 pixels, same direction)."""
    mask = np.zeros(image_bgr.shape[:2], np.uint8)
    cv2.fillPoly(mask, [np.rint(np.vstack([lower_edge, upper_edge[::-1]])).astype(np.int32)], 1)
    return float(cv2.cvtColor(image_bgr, cv2.COLOR_BGR2GRAY)[mask > 0].mean())


def test_a_shut_eye_is_drawn_as_lid_skin_down_to_a_lash_line(
    astronaut_target: TargetFace, hopper_bgr: np.ndarray, landmark_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A shut eye drawn from a photo's open one: the photo's lash line, lashes and liner squeezed into the closed lid
    read as a dark brush of lashes. The engine reads the photo's upper lid from higher up as the eye shuts, so the
    closed lid is drawn from the photo's lid skin, clearly lighter than the squeezed lashes."""
    from faceswap_live.engines import mesh_swapper
    from faceswap_live.stages.mesh_topology import RIGHT_EYE_ABOVE_UPPER, RIGHT_EYE_LOWER, RIGHT_EYE_UPPER

    photo_points = np.asarray(astronaut_target.landmarks.points_px, np.float64)
    lid, above = list(RIGHT_EYE_UPPER[1:-1]), list(RIGHT_EYE_ABOVE_UPPER)
    photo_lashes = _band_luminance(astronaut_target.image_bgr, photo_points[lid, :2], photo_points[above, :2])
    photo_lid = _band_luminance(
        astronaut_target.image_bgr, photo_points[above, :2], 2 * photo_points[above, :2] - photo_points[lid, :2]
    )
    assert photo_lid - photo_lashes > 20.0  # the photo's lashes and liner are much darker than its lid

    face = _face_in(hopper_bgr, landmark_model_path)
    winking_points = np.asarray(face.points_px, np.float32).copy()
    winking_points[lid, :2] = winking_points[list(RIGHT_EYE_LOWER[1:-1]), :2]
    winking = dataclasses.replace(face, points_px=winking_points)

    def drawn_lid() -> float:
        engine = MeshFaceSwapper()
        engine.set_target(astronaut_target)
        for _ in range(30):  # the user's usual, open eyes
            assert engine.swap_face(hopper_bgr, face, None, SwapConfig()) is not None
        drawn = engine.swap_face(hopper_bgr, winking, None, SwapConfig())
        assert isinstance(drawn, MeshSwappedFace)
        origin = np.array([drawn.region.x0, drawn.region.y0])
        points = drawn.feature_points_px
        return _band_luminance(drawn.face_bgr, points[lid] - origin, points[above] - origin)

    lid_skin = drawn_lid()
    monkeypatch.setattr(mesh_swapper, "SHUT_LID_SKIN_SHARE", 0.0)
    squeezed = drawn_lid()
    assert squeezed < photo_lashes  # squeezed, the lashes and liner come out darker still than in the photo
    assert lid_skin > squeezed + 10.0, (lid_skin, squeezed)
