"""The virtual camera output (pyvirtualcam): call apps and OBS see the swapped frames as a webcam.

This is the only module that imports pyvirtualcam.
"""

from __future__ import annotations

import logging
import platform
import threading

import cv2
import numpy as np
import pyvirtualcam

from faceswap_live.errors import VirtualCameraError
from faceswap_live.outputs.base import JOIN_TIMEOUT_S, OutputSink, fit_frame
from faceswap_live.runtime.slot import LatestSlot
from faceswap_live.types import BgrImage, FrameResult

logger = logging.getLogger(__name__)

LINUX_MODPROBE_COMMAND = 'sudo modprobe v4l2loopback devices=1 video_nr=10 card_label="faceswap-live" exclusive_caps=1'


def virtual_camera_fix(system: str) -> str:
    """What the user must do to get a virtual camera on `system` (platform.system(): Linux, Windows, Darwin)."""
    if system == "Linux":
        return (
            "No virtual camera device was found. Load the v4l2loopback driver with:\n"
            f"    {LINUX_MODPROBE_COMMAND}\n"
            "(install it first if needed: `sudo apt install v4l2loopback-dkms` on Debian/Ubuntu, "
            "`sudo dnf install v4l2loopback` on Fedora), then choose the device /dev/video10 "
            '("faceswap-live") in your call app. To keep it after a reboot, see packaging/linux/v4l2loopback.conf.'
        )
    if system == "Windows":
        return (
            "No virtual camera was found. Install OBS Studio (28 or newer), open it once, click "
            '"Start Virtual Camera", then close OBS; or install Unity Capture. Then choose '
            '"OBS Virtual Camera" (or "Unity Video Capture") as the camera in your call app.'
        )
    if system == "Darwin":
        return (
            "No virtual camera was found. Install OBS Studio (30 or newer), open it once, click "
            '"Start Virtual Camera" and allow the system extension (System Settings > Privacy & Security), '
            'then close OBS. Then choose "OBS Virtual Camera" as the camera in your call app.'
        )
    return f"Virtual cameras are not supported on {system or 'this system'}; use the stream or the recording instead."


class VirtualCameraSink(OutputSink):
    """Sends frames to a virtual camera at a steady rate, repeating the last frame when processing is late.

    Frames are letterboxed to width×height. BGR is sent as is where the backend accepts it, else converted to RGB.
    Raises VirtualCameraError (with the per-platform fix) when no driver or device is available.
    """

    name = "virtual camera"

    def __init__(
        self, width: int, height: int, fps: float, backend: str | None = None, device: str | None = None
    ) -> None:
        self.width, self.height, self.fps = width, height, fps
        self._camera, self._convert_to_rgb = _open_camera(width, height, fps, backend or None, device or None)
        self.device: str = self._camera.device
        self.backend: str = self._camera.backend
        self.frames_sent = 0
        self.frames_repeated = 0
        self.error: VirtualCameraError | None = None
        self._slot: LatestSlot[FrameResult] = LatestSlot()
        self._stop = threading.Event()
        self._closed = False
        self._thread = threading.Thread(target=self._send_loop, name="faceswap-virtual-camera", daemon=True)
        self._thread.start()
        logger.info("%s", self.status())

    def send(self, result: FrameResult) -> None:
        self._slot.put(result)

    def close(self) -> None:
        if self._closed:
            return
        self._closed = True
        self._stop.set()
        self._slot.close()
        self._thread.join(JOIN_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning("The virtual camera thread did not stop within %.1f s", JOIN_TIMEOUT_S)

    def status(self) -> str:
        if self.error is not None:
            return f"Virtual camera stopped: {self.error}"
        state = " (closed)" if self._closed else ""
        return f"Virtual camera: {self.device} ({self.backend}) {self.width}x{self.height}@{self.fps:g}{state}"

    def _prepare(self, image_bgr: BgrImage) -> BgrImage:
        image = fit_frame(image_bgr, self.width, self.height)
        if self._convert_to_rgb:
            image = np.ascontiguousarray(cv2.cvtColor(image, cv2.COLOR_BGR2RGB))
        return image

    def _send_loop(self) -> None:
        """Sink thread: one frame per 1/fps, the newest one, or the previous one again when none arrived."""
        camera = self._camera
        # Black until the first result: call apps see a live camera at once instead of a stalled one.
        frame = np.zeros((self.height, self.width, 3), dtype=np.uint8)
        have_result = False
        try:
            while not self._stop.is_set():
                result = self._slot.take(timeout_s=0)
                if result is not None:
                    frame = self._prepare(result.output_bgr)
                    have_result = True
                elif have_result:
                    self.frames_repeated += 1
                camera.send(frame)
                self.frames_sent += 1
                camera.sleep_until_next_frame()
        except Exception as error:  # the device vanished or the driver failed: report, keep the app running
            logger.exception("Sending to the virtual camera failed")
            self.error = VirtualCameraError(f"The virtual camera {self.device} stopped accepting frames: {error}")
        finally:
            camera.close()


def _open_camera(
    width: int, height: int, fps: float, backend: str | None, device: str | None
) -> tuple[pyvirtualcam.Camera, bool]:
    """Open a camera in BGR, else RGB (then the sink converts). Returns (camera, convert_to_rgb)."""
    if backend is not None and backend not in pyvirtualcam.camera.BACKENDS:
        available = ", ".join(sorted(pyvirtualcam.camera.BACKENDS)) or "none"
        raise VirtualCameraError(
            f"Unknown virtual camera backend {backend!r} (available here: {available}). "
            + virtual_camera_fix(platform.system())
        )
    if not pyvirtualcam.camera.BACKENDS:
        raise VirtualCameraError(virtual_camera_fix(platform.system()))
    failures: list[str] = []
    for pixel_format, convert_to_rgb in ((pyvirtualcam.PixelFormat.BGR, False), (pyvirtualcam.PixelFormat.RGB, True)):
        try:
            camera = pyvirtualcam.Camera(width, height, fps, fmt=pixel_format, backend=backend, device=device)
        except Exception as error:  # pyvirtualcam raises RuntimeError/ValueError with each backend's reason
            failures.append(str(error))
            continue
        return camera, convert_to_rgb
    details = failures[0] if failures else "no backend"
    wanted = f" {device}" if device else ""
    raise VirtualCameraError(
        f"The virtual camera{wanted} could not be opened ({details.strip()}).\n" + virtual_camera_fix(platform.system())
    )
