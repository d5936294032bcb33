"""A stream of frames with the next frame's landmarks found ahead: the same pictures as one frame at a time."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

import numpy as np

from faceswap_live.config import AppConfig, LandmarkConfig
from faceswap_live.errors import TargetFaceError
from faceswap_live.offline import read_video_frames
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.types import Frame, FrameResult, TargetFace


def _frames(faces_dir: Path, count: int) -> list[Frame]:
    images, fps = read_video_frames(faces_dir / "videos" / "v07_p44.mp4", count)
    return [Frame(image_bgr=image, index=index, captured_at_s=index / fps) for index, image in enumerate(images)]


def _pipeline(landmark_model_path: Path, target: TargetFace) -> Pipeline:
    pipeline = Pipeline(AppConfig(), landmark_model_path)
    pipeline.set_target(target)
    return pipeline


def test_frames_processed_ahead_are_the_frames_processed_one_by_one(
    landmark_model_path: Path, faces_dir: Path, portrait_face: Callable[[str], TargetFace]
) -> None:
    target = portrait_face("p02_1.jpg")
    frames = _frames(faces_dir, 24)
    one_by_one = _pipeline(landmark_model_path, target)
    ahead = _pipeline(landmark_model_path, target)
    try:
        expected = [one_by_one.process(frame) for frame in frames]
        streamed = list(ahead.process_all(iter(frames)))
    finally:
        one_by_one.close()
        ahead.close()

    assert [result.source.index for result in streamed] == list(range(len(frames)))
    assert sum(result.swapped for result in expected) >= 20  # the comparison is about swapped faces
    for want, got in zip(expected, streamed, strict=True):
        assert got.swapped == want.swapped
        assert np.array_equal(got.output_bgr, want.output_bgr)
        assert "landmarks" in got.stage_ms and "swap" in got.stage_ms


def test_settings_changed_during_a_stream_apply_from_a_later_frame(
    landmark_model_path: Path, faces_dir: Path, portrait_face: Callable[[str], TargetFace]
) -> None:
    frames = _frames(faces_dir, 16)
    pipeline = _pipeline(landmark_model_path, portrait_face("p02_1.jpg"))
    results: list[FrameResult] = []
    try:
        for result in pipeline.process_all(iter(frames)):
            results.append(result)
            if len(results) == 6:  # new landmark settings (a new detector) and no swap, while frame 7 is looked at
                config = pipeline.config
                pipeline.update_config(
                    dataclasses.replace(
                        config,
                        landmarks=LandmarkConfig(max_faces=2),
                        swap=dataclasses.replace(config.swap, enabled=False),
                    )
                )
    finally:
        pipeline.close()

    assert len(results) == len(frames)
    assert all(result.swapped for result in results[:6])
    assert not any(result.swapped for result in results[8:])
    assert all(result.faces for result in results[8:])  # the new detector still finds the face


def test_a_new_face_is_prepared_while_the_face_in_use_is_still_drawn(
    landmark_model_path: Path, faces_dir: Path, portrait_face: Callable[[str], TargetFace]
) -> None:
    """As in the live app: switching faces never leaves a frame unswapped (the viewers never see the user's own
    face), the frame right after the switch is still drawn with the face in use (no wait for the new one's photo
    textures), and the new face takes over once ready. A first face is there from the first frame."""
    first, second = portrait_face("p02_1.jpg"), portrait_face("p04_2.jpg")
    frames = _frames(faces_dir, 90)
    pipeline = Pipeline(AppConfig(), landmark_model_path, prepare_targets_ahead=True)
    targets: list[TargetFace | None] = []
    try:
        pipeline.set_target(first)
        results = [pipeline.process(frames[0])]
        assert pipeline.target is first
        pipeline.set_target(second)
        for frame in frames[1:]:
            results.append(pipeline.process(frame))
            targets.append(pipeline.target)
            if pipeline.target is second and len(targets) > 3:
                break
    finally:
        pipeline.close()
    assert all(result.swapped for result in results)
    assert targets[0] is first  # the frame after the switch: still the face in use
    assert targets[-1] is second  # ready within the clip


def test_from_the_users_own_face_chosen_a_face_is_prepared_while_the_own_face_is_shown(
    landmark_model_path: Path, faces_dir: Path, portrait_face: Callable[[str], TargetFace]
) -> None:
    """After No swap (set_target(None)) the viewers see the user's own face already: it stays until the face picked
    next is ready, instead of freezing the preview."""
    face = portrait_face("p02_1.jpg")
    frames = _frames(faces_dir, 90)
    pipeline = Pipeline(AppConfig(), landmark_model_path, prepare_targets_ahead=True)
    try:
        pipeline.set_target(None)
        assert not pipeline.process(frames[0]).swapped
        pipeline.set_target(face)
        swapped = [pipeline.process(frames[1]).swapped]
        for frame in frames[2:]:
            swapped.append(pipeline.process(frame).swapped)
            if pipeline.target is face and len(swapped) > 3:
                break
    finally:
        pipeline.close()
    assert not swapped[0]  # the frame after the pick: the own face, as chosen until then
    assert pipeline.target is face and swapped[-1]


def test_a_face_that_cannot_be_used_is_reported_and_the_face_in_use_stays(
    landmark_model_path: Path, faces_dir: Path, portrait_face: Callable[[str], TargetFace]
) -> None:
    """Prepared on the helper thread, an unusable face (here: a mesh cut short) raises its TargetFaceError from the
    frame that would have switched to it, once; the face in use goes on being drawn."""
    face = portrait_face("p02_1.jpg")
    broken = dataclasses.replace(
        face, landmarks=dataclasses.replace(face.landmarks, points_px=face.landmarks.points_px[:100])
    )
    frames = _frames(faces_dir, 60)
    pipeline = Pipeline(AppConfig(), landmark_model_path, prepare_targets_ahead=True)
    errors: list[TargetFaceError] = []
    results = []
    try:
        pipeline.set_target(face)
        results.append(pipeline.process(frames[0]))
        pipeline.set_target(broken)
        for frame in frames[1:]:
            try:
                results.append(pipeline.process(frame))
            except TargetFaceError as error:
                errors.append(error)
            if errors and len(results) > len(errors) + 3:
                break
    finally:
        pipeline.close()
    assert len(errors) == 1 and "full face mesh" in str(errors[0])
    assert pipeline.target is face
    assert all(result.swapped for result in results)
