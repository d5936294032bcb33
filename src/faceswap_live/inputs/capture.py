"""Frame sources: a webcam, a video file paced like a camera, or a still image.

Sources are used from the capture thread only. read() returns the next BGR frame, None at the end of a file that
does not loop, and raises CameraError when a device stops delivering frames.
"""

from __future__ import annotations

import logging
import os
import time
from abc import ABC, abstractmethod
from pathlib import Path

import cv2
import numpy as np

from faceswap_live.config import CaptureConfig
from faceswap_live.errors import CameraError
from faceswap_live.types import BgrImage

logger = logging.getLogger(__name__)

# OpenCV's FFmpeg writes its complaints about broken files ("moov atom not found") straight to stderr, before the
# app's own one-line error. It reads this once, when it first opens a video, so it is set on import.
os.environ.setdefault("OPENCV_FFMPEG_LOGLEVEL", "-8")

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".webp", ".bmp", ".tif", ".tiff"})
# Consecutive failed reads before a camera counts as gone (a few dropped frames are normal on USB cameras).
CAMERA_FAILED_READS_LIMIT = 15


class FrameSource(ABC):
    width: int
    height: int
    fps: float
    description: str

    @abstractmethod
    def read(self) -> BgrImage | None:
        """Next frame (H×W×3 uint8 BGR), blocking until it is due. None = the source has ended."""

    @abstractmethod
    def close(self) -> None: ...


class CameraSource(FrameSource):
    """A webcam by index ("0") or device path ("/dev/video2"). Reports the resolution and fps it actually got."""

    def __init__(self, device: int | str, width: int, height: int, fps: float) -> None:
        self._capture = cv2.VideoCapture(device)
        if not self._capture.isOpened():
            self._capture.release()
            raise CameraError(
                f"Camera {device!r} could not be opened. Check that it is plugged in and not used by another app "
                "(close Zoom, OBS or the browser tab using it), or choose another camera."
            )
        self._capture.set(cv2.CAP_PROP_FRAME_WIDTH, width)
        self._capture.set(cv2.CAP_PROP_FRAME_HEIGHT, height)
        self._capture.set(cv2.CAP_PROP_FPS, fps)
        self.width = int(self._capture.get(cv2.CAP_PROP_FRAME_WIDTH)) or width
        self.height = int(self._capture.get(cv2.CAP_PROP_FRAME_HEIGHT)) or height
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS)) or fps
        self.description = f"camera {device} ({self.width}x{self.height} @ {self.fps:.0f} fps)"
        if (self.width, self.height) != (width, height):
            logger.info(
                "Camera %s gives %dx%d instead of the requested %dx%d",
                device,
                self.width,
                self.height,
                width,
                height,
            )
        self._device = device

    def read(self) -> BgrImage:
        for _ in range(CAMERA_FAILED_READS_LIMIT):
            ok, image = self._capture.read()
            if ok and image is not None:
                return np.asarray(image, dtype=np.uint8)
            time.sleep(0.01)
        raise CameraError(f"Camera {self._device!r} stopped delivering frames (unplugged or taken by another app).")

    def close(self) -> None:
        self._capture.release()


class VideoFileSource(FrameSource):
    """A video file that behaves like a camera: paced at its own frame rate, optionally looping."""

    def __init__(self, path: Path, loop: bool = True, pace: bool = True) -> None:
        self._path = path
        self._capture = cv2.VideoCapture(str(path))
        if not self._capture.isOpened():
            raise CameraError(f"Video file {path} could not be opened: it is missing, unreadable or not a video.")
        ok, first = self._capture.read()
        if not ok or first is None:
            self._capture.release()
            raise CameraError(f"Video file {path} holds no readable frames.")
        self._pending: BgrImage | None = np.asarray(first, dtype=np.uint8)
        self.height, self.width = first.shape[:2]
        self.fps = float(self._capture.get(cv2.CAP_PROP_FPS)) or 30.0
        self.frame_count = int(self._capture.get(cv2.CAP_PROP_FRAME_COUNT))
        self.description = f"video {path.name} ({self.width}x{self.height} @ {self.fps:.1f} fps)"
        self._loop, self._pace = loop, pace
        self._next_due_s: float | None = None

    def read(self) -> BgrImage | None:
        if self._pending is not None:
            image, self._pending = self._pending, None
        else:
            ok, frame = self._capture.read()
            if not ok and self._loop:
                self._capture.set(cv2.CAP_PROP_POS_FRAMES, 0)
                ok, frame = self._capture.read()
            if not ok or frame is None:
                return None
            image = np.asarray(frame, dtype=np.uint8)
        if self._pace:
            now = time.perf_counter()
            if self._next_due_s is None or now - self._next_due_s > 1.0:  # first frame, or we fell far behind
                self._next_due_s = now
            time.sleep(max(0.0, self._next_due_s - now))
            self._next_due_s += 1.0 / self.fps
        return image

    def close(self) -> None:
        self._capture.release()


class ImageSource(FrameSource):
    """A still image delivered repeatedly at `fps`, like a camera pointed at a photo."""

    def __init__(self, path: Path, fps: float) -> None:
        from faceswap_live.errors import TargetFaceError
        from faceswap_live.inputs.target_photo import read_image  # local import: target pulls in the landmark stage

        try:
            self._image = read_image(path)
        except TargetFaceError as error:
            raise CameraError(str(error)) from error
        self.height, self.width = self._image.shape[:2]
        self.fps = fps
        self.description = f"image {path.name} ({self.width}x{self.height})"
        self._next_due_s: float | None = None

    def read(self) -> BgrImage:
        now = time.perf_counter()
        if self._next_due_s is None:
            self._next_due_s = now
        time.sleep(max(0.0, self._next_due_s - now))
        self._next_due_s = max(self._next_due_s + 1.0 / self.fps, now)
        return self._image.copy()

    def close(self) -> None:
        pass


def open_frame_source(config: CaptureConfig) -> FrameSource:
    """Open what config.source names: a camera index or /dev path, an image file, or a video file.

    Raises CameraError with a message the user can act on.
    """
    source = config.source.strip()
    if source.isdigit():
        return CameraSource(int(source), config.width, config.height, config.fps)
    if source.startswith("/dev/"):
        return CameraSource(source, config.width, config.height, config.fps)
    path = Path(source).expanduser()
    if not path.is_file():
        raise CameraError(f"Input {source!r} is neither a camera number nor an existing file.")
    if path.suffix.lower() in IMAGE_SUFFIXES:
        return ImageSource(path, config.fps)
    return VideoFileSource(path, loop=config.loop, pace=config.pace)
