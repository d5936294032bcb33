"""What every output sink is: `OutputSink`, and the letterboxing they share.

Every sink follows one rule: `send()` is called on the processing thread once per frame and never blocks. It hands the
frame to the sink's own thread through a latest-wins slot (virtual camera, stream) or a bounded queue (recorder), so a
slow consumer never delays the preview or another output.
"""

from __future__ import annotations

from abc import ABC, abstractmethod

import cv2
import numpy as np

from faceswap_live.types import BgrImage, FrameResult

JOIN_TIMEOUT_S = 2.0
"""How long closing a sink waits for its thread."""


class OutputSink(ABC):
    """A destination for processed frames (virtual camera, stream, recording)."""

    name: str

    @abstractmethod
    def send(self, result: FrameResult) -> None:
        """Hand over one processed frame. Processing thread; never blocks; sends result.output_bgr untouched."""

    @abstractmethod
    def close(self) -> None:
        """Finish (flush, finalise files), join the sink's threads with a timeout. Idempotent; any thread."""

    @abstractmethod
    def status(self) -> str:
        """One line for the UI and logs, e.g. "Virtual camera: /dev/video10 (v4l2loopback) 640x480@30"."""


def fit_frame(image_bgr: BgrImage, width: int, height: int) -> BgrImage:
    """Scale an H×W×3 uint8 BGR image to width×height, keeping its aspect ratio with black bars (letterbox).

    Returns a C-contiguous height×width×3 uint8 BGR array (the input itself when it already has that size).
    """
    source_height, source_width = image_bgr.shape[:2]
    if (source_width, source_height) == (width, height):
        return np.ascontiguousarray(image_bgr)
    scale = min(width / source_width, height / source_height)
    scaled_width = max(1, min(width, round(source_width * scale)))
    scaled_height = max(1, min(height, round(source_height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1 else cv2.INTER_LINEAR
    scaled = cv2.resize(image_bgr, (scaled_width, scaled_height), interpolation=interpolation)
    canvas = np.zeros((height, width, 3), dtype=np.uint8)
    x0, y0 = (width - scaled_width) // 2, (height - scaled_height) // 2
    canvas[y0 : y0 + scaled_height, x0 : x0 + scaled_width] = scaled
    return canvas
