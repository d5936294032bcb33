"""The virtual camera through pyvirtualcam's own backend registry, with a recording backend standing in for the device
driver (the hardware seam): what a call app would receive."""

from __future__ import annotations

import platform
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import numpy as np
import pytest
import pyvirtualcam

from faceswap_live.errors import VirtualCameraError
from faceswap_live.outputs.virtual_camera import LINUX_MODPROBE_COMMAND, VirtualCameraSink
from faceswap_live.types import BgrImage, Frame, FrameResult

WIDTH, HEIGHT, FPS = 320, 240, 30.0


class RecordingBackend:
    """A virtual camera device that keeps what it receives (pyvirtualcam Backend interface)."""

    instances: ClassVar[list[RecordingBackend]] = []
    accepted_fourccs: ClassVar[set[int] | None] = None  # None: every format

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **kw: Any) -> None:
        if self.accepted_fourccs is not None and fourcc not in self.accepted_fourccs:
            raise RuntimeError(f"unsupported pixel format {pyvirtualcam.util.decode_fourcc(fourcc)}")
        self.width, self.height, self.fourcc = width, height, fourcc
        self.device_name = device or "/dev/video-test"
        self.frames: list[np.ndarray] = []
        self.times_s: list[float] = []
        self.lock = threading.Lock()
        self.closed = False
        RecordingBackend.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        with self.lock:
            self.frames.append(frame.reshape(self.height, self.width, -1).copy())
            self.times_s.append(time.perf_counter())

    def close(self) -> None:
        self.closed = True

    def device(self) -> str:
        return self.device_name

    def native_fourcc(self) -> int:
        return self.fourcc


class RgbOnlyBackend(RecordingBackend):
    """Like OBS on some systems: refuses BGR input."""

    accepted_fourccs: ClassVar[set[int] | None] = {pyvirtualcam.util.encode_fourcc(pyvirtualcam.PixelFormat.RGB.value)}


class MissingDriverBackend:
    """What the Linux backend does when v4l2loopback is not loaded."""

    def __init__(self, **kw: Any) -> None:
        raise RuntimeError("No v4l2 loopback device found at /dev/video[0-99]. Did you run 'modprobe v4l2loopback'?")


@pytest.fixture(autouse=True)
def _backends() -> Any:
    pyvirtualcam.register_backend("test-recording", RecordingBackend)
    pyvirtualcam.register_backend("test-rgb-only", RgbOnlyBackend)
    pyvirtualcam.register_backend("test-missing", MissingDriverBackend)
    RecordingBackend.instances.clear()
    yield
    for name in ("test-recording", "test-rgb-only", "test-missing"):
        pyvirtualcam.camera.BACKENDS.pop(name, None)


def _result(image_bgr: BgrImage, index: int) -> FrameResult:
    now = time.perf_counter()
    return FrameResult(
        output_bgr=image_bgr,
        source=Frame(image_bgr=np.zeros_like(image_bgr), index=index, captured_at_s=now - 0.04),
        faces=(),
        stage_ms={"landmarks": 11.0},
        finished_at_s=now,
        swapped=True,
    )


def _numbered_frame(index: int, width: int = 640, height: int = 480) -> BgrImage:
    """A 4:3 frame whose whole picture encodes `index` (blue channel) with a distinctive colour elsewhere."""
    image = np.empty((height, width, 3), dtype=np.uint8)
    image[..., 0] = index
    image[..., 1] = 40
    image[..., 2] = 200
    return image


def _wait_for(condition: Any, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(0.01)
    return False


def test_frames_arrive_in_order_at_the_requested_size_with_colours_untouched() -> None:
    sink = VirtualCameraSink(WIDTH, HEIGHT, FPS, backend="test-recording")
    try:
        assert "/dev/video-test" in sink.status() and "320x240@30" in sink.status()
        backend = RecordingBackend.instances[0]
        for index in range(1, 21):
            sink.send(_result(_numbered_frame(index), index))
            # Each frame goes out before the next is handed over (a sender no faster than the camera; on a loaded
            # machine a fixed pause was not always one camera tick, and the newest frame rightly won).
            assert _wait_for(lambda index=index: bool(backend.frames) and backend.frames[-1][0, 0, 0] == index), (
                f"frame {index} never went out"
            )
    finally:
        sink.close()
    assert backend.closed
    assert all(frame.shape == (HEIGHT, WIDTH, 3) for frame in backend.frames)
    indices = [int(frame[HEIGHT // 2, WIDTH // 2, 0]) for frame in backend.frames]
    shown = [index for index in indices if index > 0]  # black before the first result
    assert shown == sorted(shown), "frames went out of order"
    # BGR went through as BGR: the distinctive colour arrives with its channels where they were.
    assert backend.frames[-1][HEIGHT // 2, WIDTH // 2].tolist() == [20, 40, 200]


def test_the_last_frame_is_repeated_at_a_steady_rate_when_processing_stalls() -> None:
    sink = VirtualCameraSink(WIDTH, HEIGHT, FPS, backend="test-recording")
    try:
        sink.send(_result(_numbered_frame(7), 0))
        backend = RecordingBackend.instances[0]
        assert _wait_for(lambda: any(frame[0, 0, 0] == 7 for frame in backend.frames))
        with backend.lock:
            start_count, start_s = len(backend.frames), time.perf_counter()
        time.sleep(0.5)  # the producer is silent: the call must not freeze
        with backend.lock:
            count, elapsed_s = len(backend.frames) - start_count, time.perf_counter() - start_s
            last = backend.frames[-1]
    finally:
        sink.close()
    expected = elapsed_s * FPS
    assert 0.5 * expected <= count <= 1.5 * expected, f"{count} frames in {elapsed_s:.2f} s at {FPS} fps"
    assert last[0, 0, 0] == 7 and sink.frames_repeated > 0


def test_output_is_letterboxed_to_the_chosen_resolution_and_the_profiling_overlay_never_reaches_it() -> None:
    wide = _numbered_frame(99, width=640, height=360)  # 16:9 into a 4:3 camera
    result = _result(wide, 0)
    sink = VirtualCameraSink(WIDTH, HEIGHT, FPS, backend="test-recording")
    try:
        sink.send(result)
        backend = RecordingBackend.instances[0]
        assert _wait_for(lambda: any(frame[HEIGHT // 2, 0, 0] == 99 for frame in backend.frames))
    finally:
        sink.close()
    frame = next(frame for frame in backend.frames if frame[HEIGHT // 2, 0, 0] == 99)
    assert frame.shape == (HEIGHT, WIDTH, 3)
    assert frame[:20].max() == 0 and frame[-20:].max() == 0, "black bars above and below"
    # Only output_bgr is sent: the picture is exactly the distinctive colour (no stats text), and the result's own
    # images are left unmodified for the preview.
    middle = frame[40:-40]
    assert (middle == np.array([99, 40, 200], dtype=np.uint8)).all()
    assert (result.output_bgr == np.array([99, 40, 200], dtype=np.uint8)).all()


def test_a_backend_without_bgr_gets_rgb_with_the_same_colours() -> None:
    sink = VirtualCameraSink(WIDTH, HEIGHT, FPS, backend="test-rgb-only")
    try:
        sink.send(_result(_numbered_frame(30, WIDTH, HEIGHT), 0))
        backend = RecordingBackend.instances[-1]
        assert _wait_for(lambda: any(frame[0, 0, 2] == 30 for frame in backend.frames))
    finally:
        sink.close()
    frame = next(frame for frame in backend.frames if frame[0, 0, 2] == 30)
    assert frame[0, 0].tolist() == [200, 40, 30]  # RGB order of BGR (30, 40, 200)


def test_missing_driver_is_a_clear_error_with_the_fix() -> None:
    with pytest.raises(VirtualCameraError) as caught:
        VirtualCameraSink(WIDTH, HEIGHT, FPS, backend="test-missing")
    message = str(caught.value)
    assert "No v4l2 loopback device" in message  # the driver's own reason is kept
    if platform.system() == "Linux":
        assert LINUX_MODPROBE_COMMAND in message and "exclusive_caps=1" in message


def test_unknown_backend_names_the_available_ones() -> None:
    with pytest.raises(VirtualCameraError, match="test-recording"):
        VirtualCameraSink(WIDTH, HEIGHT, FPS, backend="no-such-backend")


@pytest.mark.skipif(platform.system() != "Linux", reason="the real v4l2loopback backend exists on Linux only")
def test_real_linux_backend_without_the_device_says_to_run_modprobe() -> None:
    missing = "/dev/video63"
    if Path(missing).exists():
        pytest.skip(f"{missing} exists here")
    with pytest.raises(VirtualCameraError) as caught:
        VirtualCameraSink(WIDTH, HEIGHT, FPS, backend="v4l2loopback", device=missing)
    assert LINUX_MODPROBE_COMMAND in str(caught.value)


def test_close_is_idempotent_and_stops_the_thread() -> None:
    sink = VirtualCameraSink(WIDTH, HEIGHT, FPS, backend="test-recording")
    sink.close()
    sink.close()
    assert not any(thread.name == "faceswap-virtual-camera" for thread in threading.enumerate())
    assert RecordingBackend.instances[0].closed and "closed" in sink.status()
