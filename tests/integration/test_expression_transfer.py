"""The mesh engine draws the target's face with the USER's expression, not the target photo's.

Real MediaPipe meshes and blendshapes throughout: the public-domain astronaut (smiling, teeth showing) and Grace
Hopper (neutral) portraits, and shared portraits where marked shared_data. Expressions are read back from the
output image by a fresh MediaPipe landmarker, as `faceswap-live eval` does.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Iterator
from pathlib import Path

import numpy as np
import pytest

from faceswap_live.config import AppConfig, LandmarkConfig, MarkingConfig, SwapConfig
from faceswap_live.engines import mesh_swapper
from faceswap_live.engines.mesh_swapper import (
    LIP_TRIANGLES,
    PUCKER_GAIN,
    MeshFaceSwapper,
    keep_lip_rings_in_order,
    narrow_pout,
    pucker_weights,
)
from faceswap_live.engines.morph import face_of_no_one, morph_faces
from faceswap_live.eval.measures import EXPRESSION_KEYS, expression_figures
from faceswap_live.gallery import CONSENT_STATEMENT, TargetGallery
from faceswap_live.inputs.target_photo import crop_target, find_faces_in_photo, load_target_face
from faceswap_live.offline import read_video_frames
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.stages.blend import blend_face
from faceswap_live.stages.expression import ExpressionBasis, ExpressionTransfer, iris_offsets, photo_note
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.stages.mesh_topology import (
    FRONT_FACING_SIGN,
    INNER_LIP_LOWER,
    INNER_LIP_UPPER,
    LEFT_EYE_CORNERS,
    MOUTH_CORNERS,
    RIGHT_EYE_CORNERS,
)
from faceswap_live.types import BgrImage, FaceLandmarks, Frame, TargetFace


def _target(image_bgr: BgrImage, model_path: Path, name: str) -> TargetFace:
    faces = find_faces_in_photo(image_bgr, model_path, max_faces=1)
    assert faces, "the test photo must show a face"
    return crop_target(image_bgr, faces[0], name)


def _face(image_bgr: BgrImage, model_path: Path) -> FaceLandmarks:
    faces = find_faces_in_photo(image_bgr, model_path, max_faces=1)
    assert faces and faces[0].blendshapes, "the test photo must show a face, with blendshapes"
    return faces[0]


def _swap(user_bgr: BgrImage, target: TargetFace, model_path: Path) -> tuple[BgrImage, np.ndarray]:
    """(the blended output frame, the drawn 468×2 mesh) for one still frame of the user."""
    engine = MeshFaceSwapper()
    engine.set_target(target)
    face = _face(user_bgr, model_path)
    swapped = engine.swap_face(user_bgr, face, None, SwapConfig())
    assert swapped is not None
    output = user_bgr.copy()
    blend_face(output, swapped, face, SwapConfig())
    return output, engine.destination_points(face.points_px, SwapConfig(), face.blendshapes, face.track_id + 1)


@pytest.fixture(scope="module")
def expression_reader(landmark_model_path: Path) -> Iterator[FaceLandmarkDetector]:
    """MediaPipe's blendshape scores of a still picture (one detector for the module: each takes a while to start)."""
    with FaceLandmarkDetector(
        landmark_model_path, LandmarkConfig(max_faces=1), mode="image", with_blendshapes=True
    ) as reader:
        yield reader


def _scores(image_bgr: BgrImage, reader: FaceLandmarkDetector) -> dict[str, float]:
    found = reader.detect(image_bgr)
    assert found, "the output must still show a face"
    return found[0].blendshapes


def _smile(scores: dict[str, float]) -> float:
    return (scores["mouthSmileLeft"] + scores["mouthSmileRight"]) / 2.0


def _mouth_width_over_eye_span(points: np.ndarray) -> float:
    """Mouth-corner distance over the distance of the outer eye corners: narrower in a pout."""
    mouth = np.linalg.norm(points[MOUTH_CORNERS[0], :2] - points[MOUTH_CORNERS[1], :2])
    eyes = np.linalg.norm(points[RIGHT_EYE_CORNERS[0], :2] - points[LEFT_EYE_CORNERS[1], :2])
    return float(mouth / eyes)


def test_a_neutral_user_with_a_smiling_target_photo_gives_a_face_that_does_not_smile(
    hopper_bgr: np.ndarray,
    astronaut_bgr: np.ndarray,
    landmark_model_path: Path,
    expression_reader: FaceLandmarkDetector,
) -> None:
    """The astronaut photo smiles (MediaPipe reads ~0.9); Hopper is neutral (~0.01). Drawing the photo's own mesh
    kept the smile on the output (0.7); the photo's expression is taken out, so the output reads neutral."""
    target = _target(astronaut_bgr, landmark_model_path, "astronaut")
    assert _smile(target.landmarks.blendshapes) > 0.7
    output, _ = _swap(hopper_bgr, target, landmark_model_path)
    assert _smile(_scores(output, expression_reader)) < 0.15


def test_a_smiling_user_makes_a_neutral_target_smile(
    hopper_bgr: np.ndarray,
    astronaut_bgr: np.ndarray,
    landmark_model_path: Path,
    expression_reader: FaceLandmarkDetector,
) -> None:
    target = _target(hopper_bgr, landmark_model_path, "hopper")
    assert _smile(target.landmarks.blendshapes) < 0.1
    output, _ = _swap(astronaut_bgr, target, landmark_model_path)
    assert _smile(_scores(output, expression_reader)) > 0.7


def test_the_drawn_smile_comes_from_the_expression_basis_not_the_photo(
    hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """The same neutral user: the drawn mouth has the width of the target's NEUTRAL mouth, which is narrower than
    the smiling photo's own (measured against the eye span, so face size and pose do not count)."""
    target = _target(astronaut_bgr, landmark_model_path, "astronaut")
    _, drawn = _swap(hopper_bgr, target, landmark_model_path)
    photo_ratio = _mouth_width_over_eye_span(target.landmarks.points_px)
    assert _mouth_width_over_eye_span(drawn) < photo_ratio - 0.05


def test_a_users_pout_moves_the_drawn_lips(
    hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """Hopper's real mesh with a pout added (the basis's mouthPucker offset, and a pucker score of 0.9 as MediaPipe
    would report it): the drawn lips narrow towards the pout, with the neutral target's identity kept elsewhere."""
    basis = ExpressionBasis.load()
    face = _face(hopper_bgr, landmark_model_path)
    engine = MeshFaceSwapper()
    engine.set_target(_target(astronaut_bgr, landmark_model_path, "astronaut"))
    settings = SwapConfig()
    points = np.asarray(face.points_px[:468], np.float64)
    neutral_drawn = engine.destination_points(points, settings, face.blendshapes, track_id=1)
    pose = basis.pose_of(points)
    pucker = np.zeros(len(basis.keys))
    pucker[basis.keys.index("mouthPucker")] = 0.9
    pouting = pose.from_canonical(pose.to_canonical(points) + basis.expression(pucker))
    pout_scores = dict(face.blendshapes, mouthPucker=0.9)
    pout_drawn = engine.destination_points(pouting, settings, pout_scores, track_id=1)
    assert _mouth_width_over_eye_span(pout_drawn) < _mouth_width_over_eye_span(neutral_drawn) - 0.03


@pytest.mark.shared_data
def test_a_real_talking_clip_drives_the_drawn_lips_and_a_smiling_target_stops_smiling(
    faces_dir: Path, astronaut_bgr: np.ndarray, landmark_model_path: Path, expression_reader: FaceLandmarkDetector
) -> None:
    """A shared talking clip (a woman who purses and rounds her lips while speaking, never smiling broadly) through
    the real pipeline with the smiling astronaut as the target: the output's pucker follows the source's frame by
    frame, and the output smiles no more than the source does (the photo smiles at ~0.9)."""
    frames, fps = read_video_frames(faces_dir / "videos" / "v09_p46.mp4", 60)
    pipeline = Pipeline(
        AppConfig(marking=MarkingConfig(label_enabled=False, watermark_enabled=False)), landmark_model_path
    )
    source_pucker, output_pucker, source_smile, output_smile = [], [], [], []
    try:
        pipeline.set_target(_target(astronaut_bgr, landmark_model_path, "astronaut"))
        for index, frame in enumerate(frames):
            result = pipeline.process(Frame(image_bgr=frame, index=index, captured_at_s=index / fps))
            if index % 2 or not result.swapped:
                continue
            source, output = _scores(frame, expression_reader), _scores(result.output_bgr, expression_reader)
            source_pucker.append(source["mouthPucker"])
            output_pucker.append(output["mouthPucker"])
            source_smile.append(_smile(source))
            output_smile.append(_smile(output))
    finally:
        pipeline.close()
    assert len(source_pucker) >= 25 and np.std(source_pucker) > 0.05
    assert np.corrcoef(source_pucker, output_pucker)[0, 1] > 0.7
    assert np.mean(output_smile) < np.mean(source_smile) + 0.15


def test_a_smiling_photo_gets_a_note_and_a_neutral_one_none(
    hopper_path: Path, astronaut_path: Path, landmark_model_path: Path
) -> None:
    smiling = load_target_face(astronaut_path, landmark_model_path)
    smiling_note = photo_note(smiling.landmarks.blendshapes, smiling.landmarks.points_px)
    assert smiling_note == "this photo smiles: a neutral photo (eyes open, mouth closed) gives the best result"
    hopper = load_target_face(hopper_path, landmark_model_path)
    assert photo_note(hopper.landmarks.blendshapes, hopper.landmarks.points_px) == ""
    closed = photo_note({"eyeBlinkLeft": 0.8, "eyeBlinkRight": 0.7, "jawOpen": 0.1})
    assert closed.startswith("this photo has closed eyes:")


def test_a_photo_turned_to_one_side_gets_a_note(portrait_face: Callable[[str], TargetFace]) -> None:
    """p18_1 is photographed turned about 25 degrees: its far cheek is squeezed (the built-in engine draws it from
    the near one, mirrored). The reference head turned 10 degrees is not worth a note; 20 degrees and a smile are, and
    glasses too."""
    turned = portrait_face("p18_1.jpg")
    note = photo_note(turned.landmarks.blendshapes, turned.landmarks.points_px)
    assert note == "this photo is turned to one side: a photo facing the camera gives the best result"
    head = np.asarray(ExpressionBasis.load().reference, np.float64)

    def head_turned(degrees: float) -> np.ndarray:
        angle = np.radians(degrees)
        rotation = np.array([[np.cos(angle), 0, np.sin(angle)], [0, 1, 0], [-np.sin(angle), 0, np.cos(angle)]])
        return np.asarray(head @ rotation.T * 300.0 + 320.0)

    assert photo_note({}, head_turned(10.0)) == ""
    smiling = {"mouthSmileLeft": 0.8, "mouthSmileRight": 0.7}
    assert photo_note(smiling, head_turned(-20.0)) == (
        "this photo smiles and is turned to one side: a neutral photo (eyes open, mouth closed) facing the camera"
        " gives the best result"
    )
    assert photo_note({}, head_turned(0.0), glasses=True) == (
        "this photo shows glasses: a photo without glasses gives the best result"
    )
    assert photo_note(smiling, head_turned(-20.0), glasses=True) == (
        "this photo smiles, is turned to one side and shows glasses: a neutral photo (eyes open, mouth closed)"
        " facing the camera without glasses gives the best result"
    )


def test_a_smiling_photo_added_to_the_gallery_keeps_its_note_across_restarts(
    tmp_path: Path, hopper_path: Path, astronaut_path: Path, landmark_model_path: Path
) -> None:
    root = tmp_path / "targets"
    smiling = TargetGallery(root).add(
        astronaut_path, "Eileen", 0, True, CONSENT_STATEMENT, model_path=landmark_model_path
    )
    neutral = TargetGallery(root).add(hopper_path, "Grace", 0, True, CONSENT_STATEMENT, model_path=landmark_model_path)
    assert TargetGallery(root).get(smiling.id).note.startswith("this photo smiles: a neutral photo")
    assert TargetGallery(root).get(neutral.id).note == ""


def test_a_photo_with_glasses_added_to_the_gallery_is_noted(
    tmp_path: Path, faces_dir: Path, landmark_model_path: Path
) -> None:
    """John Lennon's round glasses (p20_1) are drawn bent to the user's face and broken where the lids move: the
    gallery entry says so, and that a photo without them is better."""
    entry = TargetGallery(tmp_path / "targets").add(
        faces_dir / "portraits" / "p20_1.jpg", "John", 0, True, CONSENT_STATEMENT, model_path=landmark_model_path
    )
    assert TargetGallery(tmp_path / "targets").get(entry.id).note == (
        "this photo shows glasses: a photo without glasses gives the best result"
    )


def test_expression_figures_give_the_offset_always_and_r_only_where_the_source_moves() -> None:
    source = {key: [0.1, 0.1, 0.1, 0.1] for key in EXPRESSION_KEYS}
    output = {key: [0.5, 0.5, 0.5, 0.5] for key in EXPRESSION_KEYS}
    source["jawOpen"], output["jawOpen"] = [0.0, 0.2, 0.4, 0.6], [0.1, 0.2, 0.5, 0.6]
    figures = {figure.key: figure for figure in expression_figures(source, output)}
    assert figures["mouthSmileLeft"].offset == pytest.approx(0.4)
    assert np.isnan(figures["mouthSmileLeft"].correlation)  # a still source: no correlation to speak of
    assert figures["jawOpen"].offset == pytest.approx(0.05)
    assert figures["jawOpen"].correlation == pytest.approx(np.corrcoef([0, 0.2, 0.4, 0.6], [0.1, 0.2, 0.5, 0.6])[0, 1])


def _folded_lip_triangles(user: np.ndarray, drawn: np.ndarray) -> int:
    """Lip triangles that face the camera on the user's face but are drawn flipped over (a fold)."""

    def areas(points: np.ndarray) -> np.ndarray:
        a, b, c = (np.asarray(points, np.float64)[LIP_TRIANGLES[:, k], :2] for k in range(3))
        return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])

    user_area, drawn_area = areas(user) * FRONT_FACING_SIGN, areas(drawn) * FRONT_FACING_SIGN
    return int(((user_area > 1e-3) & (drawn_area <= 0.0)).sum())


@pytest.mark.parametrize(("user_name", "target_name"), [("astronaut", "hopper"), ("hopper", "astronaut")])
def test_the_drawn_lips_never_fold_over(
    user_name: str, target_name: str, hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """A smiling user (thin upper lip over the teeth) on a neutral target and the other way round: the reshaped lip
    rings folded over each other (16 and 10 lip triangles, a jagged lip line up close); now none does, and the
    mouth opening keeps the user's gap exactly."""
    photos = {"hopper": hopper_bgr, "astronaut": astronaut_bgr}
    engine = MeshFaceSwapper()
    engine.set_target(_target(photos[target_name], landmark_model_path, target_name))
    face = _face(photos[user_name], landmark_model_path)
    drawn = engine.destination_points(face.points_px, SwapConfig(), face.blendshapes, track_id=1)
    assert _folded_lip_triangles(face.points_px, drawn) == 0
    upper, lower = list(INNER_LIP_UPPER[1:-1]), list(INNER_LIP_LOWER[1:-1])
    np.testing.assert_allclose(
        drawn[lower] - drawn[upper], face.points_px[lower, :2] - face.points_px[upper, :2], atol=1e-3
    )


def test_lip_rings_already_in_order_are_left_exactly_as_they_are(
    hopper_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    points = np.asarray(_face(hopper_bgr, landmark_model_path).points_px[:468, :2], np.float64)
    drawn = points.copy()
    keep_lip_rings_in_order(drawn, points)
    assert np.array_equal(drawn, points)


def test_a_users_pout_narrows_the_drawn_mouth_by_the_pucker_gain(
    hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """A user whose mouth is 0.8 of its width at rest: the drawn mouth (astronaut's lips) narrows by a further
    0.8 ** (PUCKER_GAIN - 1) about its centre, and its lip gap by the same share (the mouth centre stays where it
    was); the eyes and the face outline do not move. A mouth as wide as at rest or wider (a smile) is left alone."""
    target = _target(astronaut_bgr, landmark_model_path, "astronaut")
    engine = MeshFaceSwapper()
    engine.set_target(target)
    weights = pucker_weights(np.asarray(target.landmarks.points_px[:468, :2], np.float64))
    user_mesh = np.asarray(_face(hopper_bgr, landmark_model_path).points_px[:468], np.float64)
    drawn = engine.destination_points(user_mesh, SwapConfig()).astype(np.float64)
    narrowed = drawn.copy()
    narrow_pout(narrowed, 0.8, weights)
    corners = list(MOUTH_CORNERS)

    def width(points: np.ndarray) -> float:
        return float(np.linalg.norm(points[corners[1]] - points[corners[0]]))

    assert width(narrowed) == pytest.approx(width(drawn) * 0.8 ** (PUCKER_GAIN - 1.0), rel=1e-9)
    assert narrowed[corners].mean(axis=0) == pytest.approx(drawn[corners].mean(axis=0), abs=1e-9)
    across = drawn[corners[1]] - drawn[corners[0]]
    normal = np.array([-across[1], across[0]]) / np.linalg.norm(across)
    lip_gap = [INNER_LIP_LOWER[5], INNER_LIP_UPPER[5]]  # the opening closes by the same share: as open for its width
    assert np.diff(narrowed[lip_gap] @ normal) == pytest.approx(
        np.diff(drawn[lip_gap] @ normal) * 0.8 ** (PUCKER_GAIN - 1.0), rel=1e-9
    )
    far = [RIGHT_EYE_CORNERS[0], LEFT_EYE_CORNERS[1], 10, 152, 234, 454]  # eyes, forehead, chin, cheek edges
    assert np.array_equal(narrowed[far], drawn[far])

    # No fold: every lip triangle keeps its winding.
    def areas(points: np.ndarray) -> np.ndarray:
        a, b, c = points[LIP_TRIANGLES[:, 0]], points[LIP_TRIANGLES[:, 1]], points[LIP_TRIANGLES[:, 2]]
        return (b[:, 0] - a[:, 0]) * (c[:, 1] - a[:, 1]) - (b[:, 1] - a[:, 1]) * (c[:, 0] - a[:, 0])

    assert np.all(np.sign(areas(narrowed)) == np.sign(areas(drawn)))
    # A mouth as wide as at rest, or a smile's wider one, is not touched.
    for ratio in (1.0, 1.1):
        untouched = drawn.copy()
        narrow_pout(untouched, ratio, weights)
        assert np.array_equal(untouched, drawn)


def test_a_still_mouth_read_as_puckered_is_not_narrowed(
    hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray, landmark_model_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A user whose still mouth MediaPipe reads as puckered (0.6) has a running neutral face wider than that mouth,
    so the mouth reads narrower than at rest; the pout narrowing takes the ratio against the user's usual one, so over
    30 frames the drawn mouth is exactly what it is without the narrowing (gain 1); a real pout after that narrows
    it."""
    face = _face(hopper_bgr, landmark_model_path)
    points = np.asarray(face.points_px[:468], np.float64)
    target = _target(astronaut_bgr, landmark_model_path, "astronaut")
    settings = SwapConfig()
    scores = dict(face.blendshapes, mouthPucker=0.6)
    drawn = {}
    for gain in (1.0, mesh_swapper.PUCKER_GAIN):
        monkeypatch.setattr(mesh_swapper, "PUCKER_GAIN", gain)
        engine = MeshFaceSwapper()
        engine.set_target(target)
        drawn[gain] = [engine.destination_points(points, settings, scores) for _ in range(30)]
    assert drawn[1.0] and all(
        np.array_equal(plain, narrowed)
        for plain, narrowed in zip(drawn[1.0], drawn[mesh_swapper.PUCKER_GAIN], strict=True)
    )
    basis = ExpressionBasis.load()
    pose = basis.pose_of(points)
    pout = np.zeros(len(basis.keys))
    pout[basis.keys.index("mouthPucker")] = 0.9
    pouting = pose.from_canonical(pose.to_canonical(points) + basis.expression(pout))
    pout_width = _mouth_width_over_eye_span(
        engine.destination_points(pouting, settings, dict(face.blendshapes, mouthPucker=0.9))
    )
    assert pout_width < _mouth_width_over_eye_span(drawn[1.0][-1]) - 0.03


def test_an_open_jaw_is_not_read_as_a_pout_but_a_pucker_is(hopper_bgr: np.ndarray, landmark_model_path: Path) -> None:
    """Talking mouths narrow as they open; the pout ratio compares the mouth with the user's neutral face wearing
    every expression but a pout, so an open jaw (the basis's jawOpen offset, scored 0.6) reads exactly 1, and a
    pucker (0.9) reads the pucker's own narrowing of the mouth (its corner distance over the neutral face's)."""
    basis = ExpressionBasis.load()
    face = _face(hopper_bgr, landmark_model_path)
    points = np.asarray(face.points_px[:468], np.float64)
    pose = basis.pose_of(points)
    target = _target(hopper_bgr, landmark_model_path, "hopper")
    scores = dict(face.blendshapes, mouthPucker=0.0, mouthFunnel=0.0)

    def ratio(key: str, score: float) -> float:
        transfer = ExpressionTransfer()
        transfer.set_target(np.asarray(target.landmarks.points_px[:468], np.float64), target.landmarks.blendshapes)
        weights = np.zeros(len(basis.keys))
        weights[basis.keys.index(key)] = score
        moved = pose.from_canonical(pose.to_canonical(points) + basis.expression(weights))
        transfer.neutral_and_expression(moved, dict(scores, **{key: scores.get(key, 0.0) + score}))
        return transfer.pout_width_ratio

    assert ratio("jawOpen", 0.6) == pytest.approx(1.0, abs=1e-3)
    pucker = np.zeros(len(basis.keys))
    pucker[basis.keys.index("mouthPucker")] = 0.9
    canonical = pose.to_canonical(points)
    corners = list(MOUTH_CORNERS)
    expected = np.linalg.norm(np.diff((canonical + basis.expression(pucker))[corners, :2], axis=0)) / np.linalg.norm(
        np.diff(canonical[corners, :2], axis=0)
    )
    assert expected < 0.97
    assert ratio("mouthPucker", 0.9) == pytest.approx(expected, abs=1e-3)


def test_a_users_glance_to_the_side_turns_the_drawn_eyes(
    hopper_bgr: np.ndarray,
    astronaut_bgr: np.ndarray,
    landmark_model_path: Path,
    expression_reader: FaceLandmarkDetector,
) -> None:
    """Hopper's real mesh, her irises then moved a sixth of an eye width towards the image's right and then its left
    (a glance, as MediaPipe reports one): the astronaut's drawn irises follow, read back from the output by a fresh
    landmarker, while a look straight ahead keeps the photo's own gaze."""
    engine = MeshFaceSwapper()
    engine.set_target(_target(astronaut_bgr, landmark_model_path, "astronaut"))
    face = _face(hopper_bgr, landmark_model_path)
    settings = SwapConfig()

    def drawn_gaze(iris_shift: float) -> float:
        points = np.array(face.points_px, np.float32)
        for corners, iris in ((RIGHT_EYE_CORNERS, range(468, 473)), (LEFT_EYE_CORNERS, range(473, 478))):
            points[list(iris), :2] += iris_shift * (points[corners[1], :2] - points[corners[0], :2])
        glancing = dataclasses.replace(face, points_px=points)
        swapped = engine.swap_face(hopper_bgr, glancing, None, settings)
        assert swapped is not None
        output = hopper_bgr.copy()
        blend_face(output, swapped, glancing, settings)
        found = expression_reader.detect(output)
        assert found, "the output must still show a face"
        offsets = iris_offsets(found[0].points_px)
        assert offsets is not None
        return float(offsets[:, 0].mean())

    ahead = drawn_gaze(0.0)  # also where this user usually looks
    right, left = drawn_gaze(1.0 / 6.0), drawn_gaze(-1.0 / 6.0)
    assert right > ahead + 0.06 and left < ahead - 0.06
    assert abs(drawn_gaze(0.0) - ahead) < 0.02


def test_with_more_photos_the_one_nearest_the_users_expression_is_drawn(
    hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    """A target with two photos: Grace Hopper's (neutral, her own shape) and the smiling astronaut's as another
    photo. A smiling user (the astronaut's own real mesh and scores) is drawn from the smiling photo, a neutral one
    (Hopper's) from the neutral photo; the drawn shape is the first photo's either way."""
    hopper = _target(hopper_bgr, landmark_model_path, "hopper")
    target = dataclasses.replace(hopper, more_photos=(_target(astronaut_bgr, landmark_model_path, "astronaut"),))
    settings = SwapConfig()
    for user_bgr, expected_photo in ((astronaut_bgr, 1), (hopper_bgr, 0)):
        engine = MeshFaceSwapper()
        engine.set_target(target)
        single = MeshFaceSwapper()
        single.set_target(hopper)
        face = _face(user_bgr, landmark_model_path)
        swapped = engine.swap_face(user_bgr, face, None, settings)
        only_hopper = single.swap_face(user_bgr, face, None, settings)
        assert swapped is not None and only_hopper is not None
        assert engine.photo_in_use(face.track_id) == expected_photo
        drawn_difference = np.abs(swapped.face_bgr.astype(int) - only_hopper.face_bgr.astype(int)).mean()
        assert (drawn_difference > 10.0) == (expected_photo == 1), drawn_difference
        # The face's shape comes from the first photo: the same drawn mesh with one photo or two.
        assert isinstance(swapped, mesh_swapper.MeshSwappedFace)
        assert isinstance(only_hopper, mesh_swapper.MeshSwappedFace)
        assert np.allclose(swapped.feature_points_px, only_hopper.feature_points_px)


def test_a_mix_or_a_face_of_no_one_made_of_smiling_photos_does_not_smile_on_a_neutral_user(
    hopper_bgr: np.ndarray,
    astronaut_bgr: np.ndarray,
    landmark_model_path: Path,
    expression_reader: FaceLandmarkDetector,
) -> None:
    """A morph carries its faces' expression scores, as a photo does, so the engine takes the smile out of it too.
    Without them it was drawn smiling on a user at rest."""
    astronaut = _target(astronaut_bgr, landmark_model_path, "astronaut")
    mirrored = _target(np.ascontiguousarray(astronaut_bgr[:, ::-1]), landmark_model_path, "astronaut, mirrored")
    for made in (morph_faces([astronaut, mirrored], [0.5, 0.5]), face_of_no_one([astronaut, mirrored], seed=2)):
        assert _smile(made.landmarks.blendshapes) > 0.7, made.name
        output, _ = _swap(hopper_bgr, made, landmark_model_path)
        without_scores = dataclasses.replace(made, landmarks=dataclasses.replace(made.landmarks, blendshapes={}))
        output_without, _ = _swap(hopper_bgr, without_scores, landmark_model_path)
        assert _smile(_scores(output, expression_reader)) < 0.15, made.name  # 0.001 here
        assert _smile(_scores(output_without, expression_reader)) > 0.3, made.name  # 0.50 here
