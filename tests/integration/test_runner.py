"""The threaded runner: frames flow from a file-backed camera, settings apply between frames, a dying camera is
reported and reconnected, and stop() is prompt."""

from __future__ import annotations

import dataclasses
import threading
import time
from concurrent.futures import Future
from pathlib import Path

import numpy as np
import pytest

from faceswap_live.config import AppConfig, CaptureConfig, SwapConfig
from faceswap_live.errors import CameraError, FaceswapError, ModelError
from faceswap_live.inputs.capture import FrameSource, open_frame_source
from faceswap_live.inputs.target_photo import load_target_face
from faceswap_live.offline import read_video_frames
from faceswap_live.runtime import runner as runner_module
from faceswap_live.runtime.pipeline import FoundFaces, Pipeline
from faceswap_live.runtime.runner import PASS_THROUGH, EngineFallbackError, OutputFailedError, PipelineRunner
from faceswap_live.types import BgrImage, Frame, FrameResult


def _wait_for(condition, timeout_s: float = 10.0) -> bool:  # type: ignore[no-untyped-def]
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.02)
    return False


def _config(source: Path, **swap: object) -> AppConfig:
    return AppConfig(capture=CaptureConfig(source=str(source)), swap=SwapConfig(**swap))  # type: ignore[arg-type]


def test_frames_flow_with_latency_and_settings_apply_on_the_next_frames(
    landmark_model_path: Path, faces_dir: Path, hopper_path: Path
) -> None:
    config = _config(faces_dir / "videos" / "v10_p47.mp4")
    runner = PipelineRunner(config, landmark_model_path)
    runner.set_target(load_target_face(hopper_path, landmark_model_path))
    runner.start()
    try:
        assert _wait_for(lambda: (result := runner.latest_result()) is not None and result.swapped)
        result = runner.latest_result()
        assert result is not None and result.faces and result.latency_ms > 0
        assert not np.array_equal(result.output_bgr, result.source.image_bgr)

        runner.update_config(dataclasses.replace(config, swap=SwapConfig(enabled=False)))
        assert _wait_for(lambda: (latest := runner.latest_result()) is not None and not latest.swapped)
        latest = runner.latest_result()
        assert latest is not None
        # Swap off: the face (eyes to mouth) is the user's own; only the invisible watermark (a few grey levels)
        # is added.
        keypoints = latest.faces[0].keypoints_px
        (x0, y0), (x1, y1) = keypoints.min(axis=0).astype(int), keypoints.max(axis=0).astype(int)
        region = (slice(y0, y1), slice(x0, x1))
        change = np.abs(latest.output_bgr[region].astype(np.int16) - latest.source.image_bgr[region])
        assert change.max() <= config.marking.watermark_strength + 1
        snapshot = runner.profile_snapshot()
        assert snapshot.fps > 5 and snapshot.latency.p50_ms > 0 and "landmarks" in snapshot.stages
    finally:
        started = time.monotonic()
        assert runner.stop(timeout_s=2.0)
        assert time.monotonic() - started < 1.0
    assert not any(thread.name.startswith("faceswap-") for thread in threading.enumerate())


class UnpluggedCamera(FrameSource):
    """Hardware seam: a camera that delivers a few real frames and then vanishes, as when its cable is pulled."""

    def __init__(self, image: BgrImage, frames_before_failure: int) -> None:
        self._image, self._left = image, frames_before_failure
        self.height, self.width = image.shape[:2]
        self.fps, self.description = 30.0, "test camera"

    def read(self) -> BgrImage:
        time.sleep(1 / 30)
        if self._left <= 0:
            raise CameraError("Camera 0 stopped delivering frames (unplugged or taken by another app).")
        self._left -= 1
        return self._image.copy()

    def close(self) -> None:
        pass


def test_a_camera_unplugged_mid_stream_is_reported_and_reconnected(
    landmark_model_path: Path, hopper_bgr: np.ndarray, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(runner_module, "RECONNECT_INTERVAL_S", 0.2)  # a second between tries in the app
    errors: list[FaceswapError] = []
    openings = []

    def open_camera(config: AppConfig) -> FrameSource:
        openings.append(time.monotonic())
        if len(openings) == 2:  # the first reconnect attempt finds nothing plugged in yet
            raise CameraError("Camera 0 could not be opened.")
        return UnpluggedCamera(hopper_bgr, frames_before_failure=10)

    runner = PipelineRunner(AppConfig(), landmark_model_path, on_error=errors.append, open_source=open_camera)
    results: list[FrameResult] = []
    runner.start()
    try:
        assert _wait_for(lambda: len(openings) >= 3, timeout_s=10)
        assert _wait_for(lambda: runner.profile_snapshot().frames >= 14, timeout_s=10)
    finally:
        assert runner.stop()
    assert errors and "stopped delivering frames" in str(errors[0])
    del results


def test_a_missing_camera_or_file_is_a_clear_error_at_start(tmp_path: Path) -> None:
    with pytest.raises(CameraError, match="could not be opened"):
        open_frame_source(CaptureConfig(source="/dev/video-not-there"))
    with pytest.raises(CameraError, match="neither a camera number nor an existing file"):
        open_frame_source(CaptureConfig(source=str(tmp_path / "nothing.mp4")))
    broken = tmp_path / "broken.mp4"
    broken.write_bytes(b"\x00" * 1000)
    with pytest.raises(CameraError, match="broken.mp4"):
        open_frame_source(CaptureConfig(source=str(broken)))


def test_a_video_file_source_is_paced_like_a_camera(faces_dir: Path) -> None:
    source = open_frame_source(CaptureConfig(source=str(faces_dir / "videos" / "v10_p47.mp4"), loop=False))
    started = time.perf_counter()
    for _ in range(16):
        assert source.read() is not None
    elapsed = time.perf_counter() - started
    source.close()
    assert elapsed >= 15 / 30 * 0.9  # 16 frames at 30 fps take half a second, not a few milliseconds


def test_switching_to_a_missing_model_keeps_the_swap_running_and_says_how_to_fetch_it(
    landmark_model_path: Path, faces_dir: Path, hopper_path: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # an empty model folder: the neural model is not there
    errors: list[FaceswapError] = []
    config = _config(faces_dir / "videos" / "v10_p47.mp4")
    runner = PipelineRunner(config, landmark_model_path, on_error=errors.append)
    runner.set_target(load_target_face(hopper_path, landmark_model_path))
    runner.start()
    try:
        assert _wait_for(lambda: (result := runner.latest_result()) is not None and result.swapped)
        runner.update_config(dataclasses.replace(config, swap=SwapConfig(engine="onnx")))
        assert _wait_for(lambda: bool(errors))
        frames_then = runner.profile_snapshot().frames
        assert _wait_for(lambda: runner.profile_snapshot().frames > frames_then + 10)
        latest = runner.latest_result()
        assert latest is not None and latest.swapped  # still swapping, with the built-in engine
    finally:
        runner.stop()
    assert len(errors) == 1 and "faceswap-live models fetch inswapper_128" in str(errors[0])


class StillCamera(FrameSource):
    """Hardware seam: a camera that shows one picture at 30 fps, forever."""

    def __init__(self, image: BgrImage, description: str = "still camera") -> None:
        self._image = image
        self.height, self.width = image.shape[:2]
        self.fps, self.description = 30.0, description

    def read(self) -> BgrImage:
        time.sleep(1 / 30)
        return self._image.copy()

    def close(self) -> None:
        pass


class CollectingSink:
    def __init__(self, name: str, fail_after: int | None = None) -> None:
        self.name, self.fail_after = name, fail_after
        self.frames = 0
        self.closed = False

    def send(self, result: FrameResult) -> None:
        if self.fail_after is not None and self.frames >= self.fail_after:
            raise OSError(28, "No space left on device")
        self.frames += 1

    def close(self) -> None:
        self.closed = True


def test_a_repeating_frame_error_is_reported_once_while_the_camera_keeps_delivering(
    landmark_model_path: Path, hopper_bgr: np.ndarray
) -> None:
    errors: list[FaceswapError] = []
    grey = np.ascontiguousarray(hopper_bgr[..., 0])  # a camera that delivers 2-D frames: every frame fails
    runner = PipelineRunner(
        AppConfig(), landmark_model_path, on_error=errors.append, open_source=lambda _config: StillCamera(grey)
    )
    runner.start()
    try:
        assert _wait_for(lambda: runner._slot.delivered >= 30)  # a second of frames, each failing
    finally:
        runner.stop()
    assert len(errors) == 1 and "Processing a frame failed" in str(errors[0])


def test_a_failing_output_is_closed_and_reported_while_the_others_go_on(
    landmark_model_path: Path, hopper_bgr: np.ndarray
) -> None:
    errors: list[FaceswapError] = []
    failing, working = CollectingSink("recording", fail_after=5), CollectingSink("stream")
    runner = PipelineRunner(
        AppConfig(),
        landmark_model_path,
        sinks=[failing, working],
        on_error=errors.append,
        open_source=lambda _config: StillCamera(hopper_bgr),
    )
    runner.start()
    try:
        assert _wait_for(lambda: working.frames >= 25)
    finally:
        runner.stop()
    assert failing.closed and failing.frames == 5 and failing not in runner.sinks
    assert len(errors) == 1
    assert isinstance(errors[0], OutputFailedError) and "recording" in str(errors[0]) and "No space" in str(errors[0])


def test_an_engine_that_cannot_start_falls_back_to_the_built_in_one_and_says_so(
    landmark_model_path: Path,
    hopper_bgr: np.ndarray,
    hopper_path: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path))  # an empty model folder: the neural model is not there
    errors: list[FaceswapError] = []
    config = AppConfig(swap=SwapConfig(engine="onnx"))
    runner = PipelineRunner(
        config, landmark_model_path, on_error=errors.append, open_source=lambda _config: StillCamera(hopper_bgr)
    )
    runner.set_target(load_target_face(hopper_path, landmark_model_path))
    runner.start()
    try:
        assert _wait_for(lambda: (result := runner.latest_result()) is not None and result.swapped)
        assert runner.engine_in_use == "mesh"
    finally:
        runner.stop()
    assert len(errors) == 1 and isinstance(errors[0], EngineFallbackError)
    assert "built-in engine" in str(errors[0]) and "inswapper_128" in str(errors[0])


def test_a_pipeline_that_cannot_start_passes_frames_through(hopper_bgr: np.ndarray, tmp_path: Path) -> None:
    broken_model = tmp_path / "face_landmarker.task"
    broken_model.write_bytes(b"not a model")
    errors: list[FaceswapError] = []
    runner = PipelineRunner(
        AppConfig(), broken_model, on_error=errors.append, open_source=lambda _config: StillCamera(hopper_bgr)
    )
    runner.start()
    try:
        assert _wait_for(lambda: runner.profile_snapshot().frames >= 10)
        result = runner.latest_result()
        assert result is not None and not result.swapped and np.array_equal(result.output_bgr, hopper_bgr)
        assert runner.engine_in_use == PASS_THROUGH and runner.running
    finally:
        runner.stop()
    assert len(errors) == 1 and "frames pass through unchanged" in str(errors[0])


class SlowMissingModelStore:
    """A model store whose neural model takes a while to (fail to) load, as a big model on a slow disk would: until
    `loaded` is set."""

    def __init__(self) -> None:
        self.loaded = threading.Event()

    def fetch(self, name: str, *, accept_licence: bool = False) -> Path:
        self.loaded.wait(timeout=10)
        raise ModelError(f"{name} is not downloaded.")


def test_switching_source_while_the_pipeline_loads_keeps_one_processing_thread(
    landmark_model_path: Path, hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray
) -> None:
    cameras = {"0": StillCamera(hopper_bgr, "camera 0"), "1": StillCamera(astronaut_bgr, "camera 1")}
    config = AppConfig(swap=SwapConfig(engine="onnx"))
    store = SlowMissingModelStore()
    runner = PipelineRunner(
        config,
        landmark_model_path,
        store=store,
        on_error=lambda _error: None,
        open_source=lambda config: cameras[config.capture.source],
    )
    alive_counts = []
    runner.start()
    try:
        for source in ("1", "0", "1"):  # while the engine is still loading
            runner.update_config(dataclasses.replace(config, capture=CaptureConfig(source=source)))
            alive_counts.append(runner.processing_threads_alive)
        assert not runner.stop(timeout_s=0.1)  # cannot stop within 0.1 s: the model is still loading
        store.loaded.set()
        runner.start()  # waits for the old thread instead of starting a second one
        alive_counts.append(runner.processing_threads_alive)
        assert _wait_for(lambda: runner.latest_result() is not None)
        alive_counts.append(runner.processing_threads_alive)
        assert runner.source_description == "camera 1"
        names = [thread.name for thread in threading.enumerate()]
        assert names.count("faceswap-processing") == 1 and names.count("faceswap-capture") == 1
    finally:
        assert runner.stop()
    assert alive_counts == [1, 1, 1, 1, 1]


class SteadyCamera(FrameSource):
    """Hardware seam: a camera delivering real frames of a talking clip at a set frame rate."""

    def __init__(self, images: list[BgrImage], fps: float) -> None:
        self._images, self._next = images, 0
        self.height, self.width = images[0].shape[:2]
        self.fps, self.description = fps, f"{fps:g} fps test camera"

    def read(self) -> BgrImage:
        time.sleep(1 / self.fps)
        self._next += 1
        return self._images[self._next % len(self._images)].copy()

    def close(self) -> None:
        pass


@pytest.mark.parametrize(("fps", "searched_ahead"), [(120.0, True), (3.0, False)])
def test_the_next_frames_landmarks_are_searched_during_a_swap_only_when_that_frame_is_already_there(
    fps: float,
    searched_ahead: bool,
    landmark_model_path: Path,
    faces_dir: Path,
    hopper_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """A camera faster than the pipeline: each frame's landmarks are searched while the frame before is swapped
    (two cores share the work). A slower camera: nothing waits for a later frame, so latency does not grow."""
    images, _ = read_video_frames(faces_dir / "videos" / "v10_p47.mp4", 30)
    events: list[tuple[str, int]] = []
    search, swap = Pipeline.find_faces_ahead, Pipeline.swap_found

    def recorded_search(self: Pipeline, frame: Frame) -> Future[FoundFaces]:
        events.append(("search", frame.index))
        return search(self, frame)

    def recorded_swap(self: Pipeline, found: FoundFaces) -> FrameResult:
        events.append(("swap", found[0].index))
        return swap(self, found)

    monkeypatch.setattr(Pipeline, "find_faces_ahead", recorded_search)
    monkeypatch.setattr(Pipeline, "swap_found", recorded_swap)
    runner = PipelineRunner(AppConfig(), landmark_model_path, open_source=lambda config: SteadyCamera(images, fps))
    runner.set_target(load_target_face(hopper_path, landmark_model_path))
    runner.start()
    try:
        assert _wait_for(lambda: sum(kind == "swap" for kind, _ in events) >= 12, timeout_s=20)
    finally:
        assert runner.stop()
    swaps = [index for kind, index in events if kind == "swap"]
    assert swaps == sorted(set(swaps))  # each frame once, in order
    # What happened just before each swap: the search of a later frame (looked ahead) or of this frame.
    looked_ahead = [events[at - 1][1] > index for at, (kind, index) in enumerate(events) if kind == "swap"]
    ahead_share = sum(looked_ahead) / len(looked_ahead)
    if searched_ahead:
        assert ahead_share >= 0.8
    else:
        assert ahead_share == 0.0
    assert not any(thread.name.startswith("faceswap-") for thread in threading.enumerate())
