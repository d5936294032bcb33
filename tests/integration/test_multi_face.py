"""Several people at once: swaps drawn only on real faces, tracks that survive a crossing, a target per person."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import numpy as np
import pytest
from tests.crossing_clip import make_crossing_clip

from faceswap_live.config import AppConfig, LandmarkConfig, MarkingConfig
from faceswap_live.engine import pipeline as pipeline_module
from faceswap_live.engine.pipeline import Pipeline
from faceswap_live.eval.identity import FaceRecogniser, face_distance
from faceswap_live.stages.target import load_target_face
from faceswap_live.types import Box, Frame


def _config(max_faces: int = 2) -> AppConfig:
    return dataclasses.replace(
        AppConfig(),
        landmarks=LandmarkConfig(max_faces=max_faces),
        marking=MarkingConfig(label_enabled=False, watermark_enabled=False),
    )


def test_crossing_faces_keep_their_people_and_their_targets(
    landmark_model_path: Path,
    faces_dir: Path,
    shared_dir: Path,
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
    recogniser = FaceRecogniser(shared_dir / "models" / "eval")
    target_embeddings = [recogniser.embed(target.image_bgr) for target in targets]
    assert all(embedding is not None for embedding in target_embeddings)

    pipeline = Pipeline(_config(), landmark_model_path)
    pipeline.map_faces(targets)  # astronaut starts on the left: she gets targets[0], Hopper targets[1]
    person_tracks: dict[str, set[int]] = {"astronaut": set(), "hopper": set()}
    person_targets: dict[str, set[int]] = {"astronaut": set(), "hopper": set()}
    nearest_own = judged = 0
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
                target = pipeline.face_targets[track_id]
                assert target is not None
                own = next(i for i, candidate in enumerate(targets) if candidate is target)
                person_targets[person].add(own)
                embedding = recogniser.embed(result.output_bgr, near=region)
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
    # Hopper was drawn again after she came out from behind the astronaut.
    assert judged >= 0.8 * (len(clip.frames) + sum(clip.hopper_visible)), judged
    assert nearest_own >= 0.95 * judged, (nearest_own, judged)
