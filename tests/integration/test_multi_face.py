"""Several people at once: swaps drawn only on real faces, tracks that survive a crossing, a target per person."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import cv2
import numpy as np
import pytest

from crossing_clip import make_crossing_clip
from faceswap_live.config import AppConfig, LandmarkConfig, MarkingConfig, SmoothingConfig
from faceswap_live.eval.identity import FaceRecogniser, face_distance
from faceswap_live.inputs.target_photo import load_target_face
from faceswap_live.runtime import pipeline as pipeline_module
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.stages.smoothing import FaceTracker
from faceswap_live.types import Box, Frame

JUDGE_EVERY = 6
"""The independent recogniser (a tenth of a second or more a face) judges every sixth frame (the tracks and targets are
checked in every frame): measured on every frame, each drawn face was nearer its own target by 0.16 or more."""


def _config(max_faces: int = 2) -> AppConfig:
    return dataclasses.replace(
        AppConfig(),
        landmarks=LandmarkConfig(max_faces=max_faces),
        marking=MarkingConfig(label_enabled=False, watermark_enabled=False),
    )


def test_crossing_faces_keep_their_people_and_their_targets(
    landmark_model_path: Path,
    faces_dir: Path,
    face_recogniser: FaceRecogniser,
    astronaut_bgr: np.ndarray,
    hopper_bgr: np.ndarray,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    clip = make_crossing_clip(astronaut_bgr, hopper_bgr)
    targets = [
        load_target_face(faces_dir / "portraits" / name, landmark_model_path) for name in ("p02_1.jpg", "p08_1.jpg")
    ]
    drawn: list[tuple[int, Box]] = []
    original_blend = pipeline_module.blend_face

    def recording_blend(frame_bgr, swapped, face, settings):  # type: ignore[no-untyped-def]
        drawn.append((face.track_id, swapped.region))
        original_blend(frame_bgr, swapped, face, settings)

    monkeypatch.setattr(pipeline_module, "blend_face", recording_blend)
    target_embeddings = [face_recogniser.embed(target.image_bgr) for target in targets]
    assert all(embedding is not None for embedding in target_embeddings)

    pipeline = Pipeline(_config(), landmark_model_path)
    pipeline.map_faces(targets)  # astronaut starts on the left: she gets targets[0], Hopper targets[1]
    person_tracks: dict[str, set[int]] = {"astronaut": set(), "hopper": set()}
    person_targets: dict[str, set[int]] = {"astronaut": set(), "hopper": set()}
    drawn_frames: dict[str, list[int]] = {"astronaut": [], "hopper": []}
    nearest_own = judged = sampled = 0
    try:
        for index, image in enumerate(clip.frames):
            drawn.clear()
            result = pipeline.process(Frame(image, index, index / 30))
            truth = {"astronaut": clip.astronaut_boxes[index], "hopper": clip.hopper_boxes[index]}
            visible = {"astronaut": True, "hopper": clip.hopper_visible[index]}
            for track_id, region in drawn:
                # Every drawn face lies on a face that is really there (and visible) in this frame.
                person = max((name for name in truth if visible[name]), key=lambda name: region.iou(truth[name]))
                assert region.iou(truth[person]) >= 0.5, (index, region, truth)
                person_tracks[person].add(track_id)
                drawn_frames[person].append(index)
                target = pipeline.face_targets[track_id]
                assert target is not None
                own = next(i for i, candidate in enumerate(targets) if candidate is target)
                person_targets[person].add(own)
                if index % JUDGE_EVERY:
                    continue
                sampled += 1
                embedding = face_recogniser.embed(result.output_bgr, near=region)
                if embedding is not None:
                    distances = [face_distance(embedding, other) for other in target_embeddings]  # type: ignore[arg-type]
                    judged += 1
                    nearest_own += int(int(np.argmin(distances)) == own)
    finally:
        pipeline.close()
    # Each person kept one track and one target through the crossing, and the two never swapped.
    assert person_tracks["astronaut"] and person_tracks["hopper"]
    assert len(person_tracks["astronaut"]) == 1 and len(person_tracks["hopper"]) == 1
    assert person_tracks["astronaut"] != person_tracks["hopper"]
    assert person_targets == {"astronaut": {0}, "hopper": {1}}
    # Both were swapped nearly all the time they were visible, Hopper again after she came out from behind.
    last_hidden = max(index for index, visible in enumerate(clip.hopper_visible) if not visible)
    assert len(drawn_frames["astronaut"]) >= 0.9 * len(clip.frames)
    assert len(drawn_frames["hopper"]) >= 0.9 * sum(clip.hopper_visible)
    assert any(index > last_hidden for index in drawn_frames["hopper"])
    assert judged >= 0.6 * sampled, (judged, sampled)
    assert nearest_own >= 0.95 * judged, (nearest_own, judged)


def test_no_face_is_drawn_once_the_face_is_gone(
    landmark_model_path: Path, faces_dir: Path, hopper_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    capture = cv2.VideoCapture(str(faces_dir / "videos" / "v10_p47.mp4"))
    frame = capture.read()[1]
    capture.release()
    blank = np.full_like(frame, 90)
    drawn: list[int] = []
    original_blend = pipeline_module.blend_face

    def recording_blend(frame_bgr, swapped, face, settings):  # type: ignore[no-untyped-def]
        drawn.append(face.track_id)
        original_blend(frame_bgr, swapped, face, settings)

    monkeypatch.setattr(pipeline_module, "blend_face", recording_blend)
    pipeline = Pipeline(_config(), landmark_model_path)
    pipeline.set_target(load_target_face(hopper_path, landmark_model_path))
    counts = []
    try:
        for index, image in enumerate([frame] * 5 + [blank] * 4):
            drawn.clear()
            pipeline.process(Frame(image, index, index / 30))
            counts.append(len(drawn))
    finally:
        pipeline.close()
    # Swapped while the face is there; on the empty frames that follow, not even the held swap is drawn.
    assert counts == [1] * 5 + [0] * 4


def test_a_person_who_leaves_and_comes_back_gets_their_track_back(landmark_model_path: Path, faces_dir: Path) -> None:
    capture = cv2.VideoCapture(str(faces_dir / "videos" / "v10_p47.mp4"))
    frame = capture.read()[1]
    capture.release()
    other = cv2.imread(str(faces_dir / "portraits" / "p08_1.jpg"))
    other = cv2.resize(other, (frame.shape[1], frame.shape[0]))
    blank = np.full_like(frame, 90)
    tracker = FaceTracker(SmoothingConfig())
    sequence = [frame] * 5 + [blank] * 40 + [other] * 3 + [blank] * 40 + [frame] * 3
    ids = []
    with FaceLandmarkDetector(landmark_model_path, LandmarkConfig(), mode="video") as detector:
        for index, image in enumerate(sequence):
            faces = tracker.update(detector.detect(image, index * 33), index / 30, image)
            ids.append(faces[0].track_id if faces else None)
    first, stranger, back = ids[0], ids[45], ids[-1]
    assert first is not None and stranger is not None
    assert stranger != first  # someone else in the same place is someone else
    assert back == first  # the first person, back after more than a second away, is recognised
