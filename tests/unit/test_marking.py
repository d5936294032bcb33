"""The visible "AI-modified" label and the watermark on output frames: what a viewer sees and what verify finds."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.config import MarkingConfig, load_config, replace, save_config
from faceswap_live.errors import ConfigError
from faceswap_live.stages.marking import OutputMarker, mark_image
from faceswap_live.watermark import detect_watermark

VERSION = "0.1.0"


def grey_frame(width: int = 640, height: int = 480) -> np.ndarray:
    return np.full((height, width, 3), 128, dtype=np.uint8)


def label_pixels(marked: np.ndarray, original: np.ndarray) -> np.ndarray:
    """Where the label changed the frame (the watermark alone moves pixels by at most its strength)."""
    return np.abs(marked.astype(np.int16) - original.astype(np.int16)).max(axis=2) > 10


def test_label_is_drawn_bottom_right_by_default_with_white_text_on_dark_box() -> None:
    frame = grey_frame()
    marked = OutputMarker(MarkingConfig(), VERSION).apply(frame.copy())
    changed = label_pixels(marked, frame)
    rows, columns = np.nonzero(changed)
    assert rows.min() > 480 * 0.8 and columns.min() > 640 * 0.6  # in the bottom-right corner
    region = marked[rows.min() : rows.max() + 1, columns.min() : columns.max() + 1]
    assert (region.min(axis=2) > 230).sum() > 50  # white text
    assert (region.max(axis=2) < 80).sum() > 200  # dark box around it
    assert not changed[: 480 // 2].any()  # nothing else is covered


@pytest.mark.parametrize("position", ["top-left", "top-right", "bottom-left", "bottom-right"])
def test_label_follows_the_configured_corner(position: str) -> None:
    frame = grey_frame()
    marked = OutputMarker(MarkingConfig(label_position=position), VERSION).apply(frame.copy())  # type: ignore[arg-type]
    rows, columns = np.nonzero(label_pixels(marked, frame))
    centre_y, centre_x = rows.mean(), columns.mean()
    assert (centre_y < 240) == position.startswith("top")
    assert (centre_x < 320) == position.endswith("left")


def test_label_scales_with_the_frame_height() -> None:
    heights = []
    for width, height in ((640, 480), (1280, 720)):
        frame = grey_frame(width, height)
        marked = OutputMarker(MarkingConfig(), VERSION).apply(frame.copy())
        rows, _ = np.nonzero(label_pixels(marked, frame))
        heights.append(rows.max() - rows.min())
    assert heights[1] == pytest.approx(heights[0] * 1.5, rel=0.15)


def test_frames_of_changing_size_get_a_label_each(astronaut_bgr: np.ndarray) -> None:
    marker = OutputMarker(MarkingConfig(), VERSION)
    for width, height in ((640, 480), (320, 240), (640, 480)):
        frame = grey_frame(width, height)
        marked = marker.apply(frame.copy())
        assert marked.shape == frame.shape
        assert label_pixels(marked, frame).any()


def test_marked_output_carries_the_watermark_and_label_off_keeps_the_watermark(astronaut_bgr: np.ndarray) -> None:
    frame = np.ascontiguousarray(cv2.resize(astronaut_bgr, (640, 480), interpolation=cv2.INTER_AREA))
    labelled = mark_image(frame, MarkingConfig(), VERSION)
    assert detect_watermark(labelled).marked
    unlabelled = mark_image(frame, MarkingConfig(label_enabled=False), VERSION)
    assert not label_pixels(unlabelled, frame).any()
    assert detect_watermark(unlabelled).marked


def test_watermark_off_leaves_only_the_label(astronaut_bgr: np.ndarray) -> None:
    frame = np.ascontiguousarray(cv2.resize(astronaut_bgr, (640, 480), interpolation=cv2.INTER_AREA))
    marked = mark_image(frame, MarkingConfig(watermark_enabled=False), VERSION)
    assert not detect_watermark(marked).marked
    assert label_pixels(marked, frame).any()


def test_marker_accepts_read_only_and_non_contiguous_frames() -> None:
    frame = grey_frame()
    view = frame[:, ::-1]  # a mirrored view, as a selfie preview produces
    marked = OutputMarker(MarkingConfig(), VERSION).apply(view)
    assert marked.shape == frame.shape
    frame.setflags(write=False)
    assert OutputMarker(MarkingConfig(), VERSION).apply(frame).shape == frame.shape


def test_label_and_watermark_are_on_by_default_and_turning_the_label_off_survives_a_save(tmp_path: Path) -> None:
    from faceswap_live.config import AppConfig

    assert AppConfig().marking.label_enabled and AppConfig().marking.watermark_enabled
    config = AppConfig()
    config = replace(config, marking=replace(config.marking, label_enabled=False))
    path = save_config(config, tmp_path / "config.toml")
    assert "label_enabled = false" in path.read_text(encoding="utf-8")
    assert load_config(path).marking.label_enabled is False


@pytest.mark.parametrize(
    "changes",
    [{"label_position": "middle"}, {"label_scale": 0.5}, {"label_text": "  "}, {"watermark_strength": 0.0}],
)
def test_bad_marking_settings_are_refused(changes: dict[str, object]) -> None:
    with pytest.raises(ConfigError):
        MarkingConfig(**changes)  # type: ignore[arg-type]


def test_the_label_is_on_while_a_face_is_swapped_and_off_with_no_swap(
    hopper_bgr: np.ndarray, astronaut_path: Path, landmark_model_path: Path
) -> None:
    """With "No swap" chosen the output is the user's own face: labelling it AI-modified would be untrue. With a
    target chosen, every frame is labelled, also one where no face is found (a frame of the bare background)."""
    from faceswap_live.config import AppConfig
    from faceswap_live.inputs.target_photo import load_target_face
    from faceswap_live.runtime.pipeline import Pipeline
    from faceswap_live.types import Frame

    no_face = np.full_like(hopper_bgr, 90)
    height, width = hopper_bgr.shape[:2]

    def labelled(output: np.ndarray, image: np.ndarray) -> bool:  # the label's corner, away from the face
        corner = (slice(height * 4 // 5, height), slice(width // 2, width))
        return bool(label_pixels(output[corner], image[corner]).any())

    pipeline = Pipeline(AppConfig(marking=MarkingConfig(watermark_enabled=False)), landmark_model_path)
    try:
        shown = []
        for index, image in enumerate([hopper_bgr, no_face]):
            result = pipeline.process(Frame(image_bgr=image, index=index, captured_at_s=index / 30))
            shown.append(labelled(result.output_bgr, image))
        assert shown == [False, False], "no label on the user's own face"
        pipeline.set_target(load_target_face(astronaut_path, landmark_model_path))
        for index, image in enumerate([hopper_bgr, no_face], start=2):
            result = pipeline.process(Frame(image_bgr=image, index=index, captured_at_s=index / 30))
            shown.append(labelled(result.output_bgr, image))
        assert shown[2:] == [True, True], "labelled while a face is chosen, with or without a face in the frame"
    finally:
        pipeline.close()
