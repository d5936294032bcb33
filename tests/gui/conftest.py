"""GUI test fixtures: a short public-domain "webcam" clip and a window wired to tmp folders only."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import cv2
import numpy as np
import pytest

from faceswap_live.config import AppConfig, CaptureConfig, OutputConfig, SwapConfig, save_config
from faceswap_live.gui.main_window import MainWindow

CLIP_FRAMES = 45


def write_moving_face_clip(
    image_bgr: np.ndarray, path: Path, frames: int = CLIP_FRAMES, size: tuple[int, int] = (640, 480)
) -> Path:
    """A clip of a portrait drifting slowly, like a person in front of a webcam (mp4v, 30 fps)."""
    width, height = size
    scale = max(width / image_bgr.shape[1], height / image_bgr.shape[0]) * 1.15
    base = cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (width, height))
    spare_x, spare_y = base.shape[1] - width, base.shape[0] - height
    for index in range(frames):
        phase = 2 * np.pi * index / frames
        x0 = int(spare_x / 2 + spare_x / 3 * np.sin(phase))
        y0 = int(spare_y / 2 + spare_y / 4 * np.cos(phase))
        writer.write(np.ascontiguousarray(base[y0 : y0 + height, x0 : x0 + width]))
    writer.release()
    return path


@pytest.fixture(scope="session")
def hopper_clip(tmp_path_factory: pytest.TempPathFactory, hopper_bgr: np.ndarray) -> Path:
    return write_moving_face_clip(hopper_bgr, tmp_path_factory.mktemp("clips") / "hopper.mp4")


@pytest.fixture(scope="session")
def clip_frames() -> int:
    """Frames in hopper_clip (it loops, so frame index % clip_frames identifies the picture)."""
    return CLIP_FRAMES


@pytest.fixture(scope="session")
def small_clip(tmp_path_factory: pytest.TempPathFactory, hopper_bgr: np.ndarray) -> Path:
    """hopper_clip's kind at 480 × 360: smaller than any camera size the app offers."""
    return write_moving_face_clip(hopper_bgr, tmp_path_factory.mktemp("clips") / "small.mp4", size=(480, 360))


@pytest.fixture(scope="session")
def astronaut_clip(tmp_path_factory: pytest.TempPathFactory, astronaut_bgr: np.ndarray) -> Path:
    return write_moving_face_clip(astronaut_bgr, tmp_path_factory.mktemp("clips") / "astronaut.mp4")


@pytest.fixture(scope="session")
def empty_room_clip(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A camera looking at a plain wall: no face anywhere."""
    wall = np.full((480, 640, 3), 90, np.uint8)
    return write_moving_face_clip(wall, tmp_path_factory.mktemp("clips") / "empty-room.mp4", frames=30)


def write_window_config(path: Path, source: Path | str, engine: str = "mesh", **output: Any) -> Path:
    config = AppConfig(
        capture=CaptureConfig(source=str(source)),
        swap=SwapConfig(engine=engine),  # type: ignore[arg-type]
        output=OutputConfig(**output),
    )
    save_config(config, path)
    return path


@pytest.fixture()
def make_window(qtbot: Any, tmp_path: Path, landmark_model_path: Path) -> Any:
    windows: list[MainWindow] = []

    def make(source: Path | str, engine: str = "mesh", model_store: Any = None, **output: Any) -> MainWindow:
        config_path = tmp_path / "settings" / "config.toml"
        if not config_path.exists():
            write_window_config(config_path, source, engine, **output)
        window = MainWindow(
            config_path=config_path,
            gallery_root=tmp_path / "targets",
            landmark_model_path=landmark_model_path,
            model_store=model_store,
            cameras=[],
        )
        qtbot.addWidget(window)
        window.show()
        windows.append(window)
        return window

    yield make
    for window in windows:
        window.shutdown()
