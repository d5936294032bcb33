"""Output marking: the visible "AI-modified" label and the invisible watermark on every output frame.

Both are precomputed per frame size, so marking a frame is a few saturating adds over the frame and one small alpha
blend over the label's box (about 1 ms at 640×480, see BENCHMARKS.md "Watermark").
"""

from __future__ import annotations

import logging

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.config import MarkingConfig
from faceswap_live.types import BgrImage, Box
from faceswap_live.watermark import WatermarkEmbedder

logger = logging.getLogger(__name__)

MIN_TEXT_HEIGHT_PX = 10
"""Below this the label is no longer legible; small frames get at least this."""
BOX_OPACITY = 0.6
TEXT_COLOUR_BGR = (255, 255, 255)
BOX_COLOUR_BGR = (20, 20, 20)
FONT = cv2.FONT_HERSHEY_DUPLEX


def render_label(text: str, text_height_px: int) -> tuple[BgrImage, npt.NDArray[np.float32]]:
    """The label as a premultiplied BGR patch and its opacity: (h×w×3 float-ready uint8, h×w float32 alpha in [0, 1]).

    White anti-aliased text on a semi-opaque dark rounded box, drawn at 4× and reduced (smooth edges at any size).
    """
    supersample = 4
    font_scale = cv2.getFontScaleFromHeight(FONT, text_height_px * supersample, 1)
    thickness = max(1, round(text_height_px * supersample / 12))
    (text_width, text_height), baseline = cv2.getTextSize(text, FONT, font_scale, thickness)
    padding = round(text_height_px * supersample * 0.45)
    width = text_width + 2 * padding
    height = text_height + baseline + 2 * padding
    radius = min(height // 2, round(padding * 1.2))

    box_mask = np.zeros((height, width), dtype=np.uint8)
    cv2.rectangle(box_mask, (radius, 0), (width - 1 - radius, height - 1), 255, cv2.FILLED)
    cv2.rectangle(box_mask, (0, radius), (width - 1, height - 1 - radius), 255, cv2.FILLED)
    for centre in ((radius, radius), (width - 1 - radius, radius), (radius, height - 1 - radius)):
        cv2.circle(box_mask, centre, radius, 255, cv2.FILLED, cv2.LINE_AA)
    cv2.circle(box_mask, (width - 1 - radius, height - 1 - radius), radius, 255, cv2.FILLED, cv2.LINE_AA)
    text_mask = np.zeros((height, width), dtype=np.uint8)
    origin = (padding, padding + text_height)
    cv2.putText(text_mask, text, origin, FONT, font_scale, 255, thickness, cv2.LINE_AA)

    final_size = (max(1, round(width / supersample)), max(1, round(height / supersample)))
    box_alpha = cv2.resize(box_mask, final_size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    text_alpha = cv2.resize(text_mask, final_size, interpolation=cv2.INTER_AREA).astype(np.float32) / 255.0
    # Text over box: alpha compositing of two layers, expressed as one premultiplied colour and one opacity.
    alpha = text_alpha + box_alpha * BOX_OPACITY * (1.0 - text_alpha)
    premultiplied = text_alpha[..., None] * np.array(TEXT_COLOUR_BGR, dtype=np.float32) + (
        box_alpha * BOX_OPACITY * (1.0 - text_alpha)
    )[..., None] * np.array(BOX_COLOUR_BGR, dtype=np.float32)
    return np.clip(np.rint(premultiplied), 0, 255).astype(np.uint8), alpha.astype(np.float32)


def label_box(frame_width: int, frame_height: int, label_width: int, label_height: int, position: str) -> Box:
    """Where the label goes: a corner with a margin of 2% of the frame height."""
    margin = max(2, round(frame_height * 0.02))
    x0 = frame_width - margin - label_width if position.endswith("right") else margin
    y0 = margin if position.startswith("top") else frame_height - margin - label_height
    return Box(max(0, x0), max(0, y0), max(0, x0) + label_width, max(0, y0) + label_height)


class _PlacedLabel:
    """The label for one frame size: the box it covers and the blend factors (integer maths, no float per frame)."""

    def __init__(self, config: MarkingConfig, frame_width: int, frame_height: int) -> None:
        text_height_px = max(MIN_TEXT_HEIGHT_PX, round(frame_height * config.label_scale))
        premultiplied, alpha = render_label(config.label_text, text_height_px)
        # A label wider than the frame (tiny frames, long texts) is cut: it still says what it can.
        height = min(premultiplied.shape[0], frame_height)
        width = min(premultiplied.shape[1], frame_width)
        self.box = label_box(frame_width, frame_height, width, height, config.label_position)
        self.premultiplied = premultiplied[:height, :width].astype(np.uint16)
        self.keep_256 = np.rint((1.0 - alpha[:height, :width]) * 256.0).astype(np.uint16)[..., None]

    def draw(self, image_bgr: BgrImage) -> None:
        box = self.box
        region = image_bgr[box.y0 : box.y1, box.x0 : box.x1]
        blended = ((region.astype(np.uint16) * self.keep_256) >> 8) + self.premultiplied
        np.minimum(blended, 255, out=blended)
        region[...] = blended.astype(np.uint8)


class OutputMarker:
    """Puts the label and the watermark on output frames. Processing thread only (not thread-safe).

    The label and the watermark pattern are computed on the first frame of each size and reused.
    """

    def __init__(self, config: MarkingConfig, version: str) -> None:
        self.config = config
        self.version = version
        self._embedder = WatermarkEmbedder(version, config.watermark_strength) if config.watermark_enabled else None
        self._label: _PlacedLabel | None = None
        self._label_size: tuple[int, int] | None = None
        if not config.label_enabled:
            logger.warning("The visible AI-modified label is turned off by the settings; the watermark stays.")

    def apply(self, image_bgr: BgrImage, label: bool = True) -> BgrImage:
        """Mark an H×W×3 uint8 BGR frame in place (copied first if not contiguous) and return it.

        The watermark goes on first and the label over it, so the label's text stays crisp. label=False leaves the
        visible label off this frame (nobody's face is being swapped: it would be untrue); the watermark stays.
        """
        if not image_bgr.flags.c_contiguous or not image_bgr.flags.writeable:
            image_bgr = np.ascontiguousarray(image_bgr).copy()
        if self._embedder is not None:
            image_bgr = self._embedder.apply(image_bgr)
        if label and self.config.label_enabled:
            height, width = image_bgr.shape[:2]
            if self._label is None or self._label_size != (height, width):
                self._label = _PlacedLabel(self.config, width, height)
                self._label_size = (height, width)
            self._label.draw(image_bgr)
        return image_bgr


def mark_image(image_bgr: BgrImage, config: MarkingConfig, version: str) -> BgrImage:
    """A marked copy of one image (for files the CLI writes); frames in a stream use one OutputMarker."""
    return OutputMarker(config, version).apply(image_bgr.copy())
