"""The live preview: the newest frame scaled to the widget with its aspect ratio, optionally beside the original,
with the developer overlay painted on top.

The main window polls the runner (~60 Hz) and calls set_result() only when a new result arrived; painting wraps the
result's BGR array in a QImage without copying it.
"""

from __future__ import annotations

from typing import Literal

import numpy as np
from PySide6.QtCore import QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QPainter, QPaintEvent, QResizeEvent, QTransform
from PySide6.QtWidgets import QPushButton, QSizePolicy, QWidget

from faceswap_live.gui.overlay import OverlayStats, paint_faces, paint_profile_overlay
from faceswap_live.types import BgrImage, FrameResult

PreviewMode = Literal["output", "side_by_side", "original"]
BACKGROUND = QColor(18, 20, 26)
CAPTION = QColor(230, 232, 240)
BANNER = QColor(190, 40, 40, 225)


def qimage_from_bgr(image_bgr: BgrImage) -> QImage:
    """Wrap an H×W×3 uint8 BGR array as a QImage without copying. The caller keeps the array alive while it is used."""
    if not image_bgr.flags["C_CONTIGUOUS"]:
        image_bgr = np.ascontiguousarray(image_bgr)
    height, width = image_bgr.shape[:2]
    return QImage(image_bgr.data, width, height, int(image_bgr.strides[0]), QImage.Format.Format_BGR888)


def fit_rect(image_width: int, image_height: int, area: QRectF) -> QRectF:
    """The largest rectangle of the image's aspect ratio centred in `area`."""
    if image_width <= 0 or image_height <= 0 or area.width() <= 0 or area.height() <= 0:
        return QRectF()
    scale = min(area.width() / image_width, area.height() / image_height)
    width, height = image_width * scale, image_height * scale
    return QRectF(area.center().x() - width / 2, area.center().y() - height / 2, width, height)


class PreviewWidget(QWidget):
    """Shows FrameResults. GUI thread only.

    Signals: open_video_requested when the user clicks the button offered with a "no camera" message.
    """

    open_video_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setMinimumSize(320, 240)
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._result: FrameResult | None = None
        self._mode: PreviewMode = "output"
        self._overlay = False
        self._draw_mesh = False
        self._draw_mask = False
        self._stats: OverlayStats | None = None
        self._message = "Starting…"
        self._banner = ""
        self._open_button = QPushButton("Use a video file instead…", self)
        self._open_button.setCursor(Qt.CursorShape.PointingHandCursor)
        self._open_button.clicked.connect(self.open_video_requested)
        self._open_button.hide()
        self.frames_painted = 0

    # --- state (GUI thread) ---

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(960, 720)

    @property
    def result(self) -> FrameResult | None:
        return self._result

    @property
    def mode(self) -> PreviewMode:
        return self._mode

    @property
    def overlay_enabled(self) -> bool:
        return self._overlay

    @property
    def message(self) -> str:
        return self._message

    @property
    def banner(self) -> str:
        return self._banner

    def set_banner(self, text: str) -> None:
        """A warning strip across the top of the picture (empty = none), e.g. that viewers see the real face."""
        if text != self._banner:
            self._banner = text
            self.update()

    def set_result(self, result: FrameResult | None) -> None:
        self._result = result
        self.update()

    def set_mode(self, mode: PreviewMode) -> None:
        self._mode = mode
        self.update()

    def set_overlay(self, enabled: bool) -> None:
        self._overlay = enabled
        self.update()

    def set_face_drawing(self, mesh: bool, mask: bool) -> None:
        self._draw_mesh, self._draw_mask = mesh, mask
        self.update()

    def set_stats(self, stats: OverlayStats | None) -> None:
        self._stats = stats
        if self._overlay:
            self.update()

    def set_message(self, text: str, offer_video_file: bool = False) -> None:
        """A message in place of the picture (empty = none); optionally with the "use a video file" button."""
        self._message = text
        self._open_button.setVisible(bool(text) and offer_video_file)
        self._place_button()
        self.update()

    # --- painting ---

    def resizeEvent(self, event: QResizeEvent) -> None:  # noqa: N802 - Qt API
        super().resizeEvent(event)
        self._place_button()

    def _place_button(self) -> None:
        self._open_button.adjustSize()
        size = self._open_button.sizeHint()
        self._open_button.move(int((self.width() - size.width()) / 2), int(self.height() / 2 + 48))

    def _panes(self) -> list[tuple[str, BgrImage]]:
        result = self._result
        if result is None:
            return []
        if self._mode == "original":
            return [("Original", result.source.image_bgr)]
        if self._mode == "side_by_side":
            return [("Original", result.source.image_bgr), ("Output", result.output_bgr)]
        return [("Output", result.output_bgr)]

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), BACKGROUND)
        panes = self._panes()
        area = QRectF(self.rect())
        if panes and not self._message:
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            for pane, (caption, image_bgr) in zip(self._pane_areas(panes, area), panes, strict=True):
                height, width = image_bgr.shape[:2]
                target = fit_rect(width, height, pane)
                painter.drawImage(target, qimage_from_bgr(image_bgr))  # the array outlives the call: no copy needed
                if self._overlay and self._result is not None:
                    widget_from_frame = QTransform.fromTranslate(target.left(), target.top())
                    widget_from_frame.scale(target.width() / width, target.height() / height)
                    paint_faces(painter, self._result.faces, widget_from_frame, self._draw_mesh, self._draw_mask)
                if len(panes) > 1:
                    self._paint_caption(painter, target, caption)
            self.frames_painted += 1
        if self._message:
            self._paint_message(painter, area)
        if self._banner:
            self._paint_banner(painter, area)
        if self._overlay and self._stats is not None and not self._message:
            paint_profile_overlay(painter, area.adjusted(0, 36 if self._banner else 0, 0, 0), self._stats)
        painter.end()

    @staticmethod
    def _pane_areas(panes: list[tuple[str, BgrImage]], area: QRectF, gap: float = 8.0) -> list[QRectF]:
        """One area per pane: side by side, or stacked when that shows the pictures clearly larger."""
        count = len(panes)
        if count == 1:
            return [area]
        height, width = panes[0][1].shape[:2]
        across_width = (area.width() - gap * (count - 1)) / count
        down_height = (area.height() - gap * (count - 1)) / count
        across_scale = min(across_width / width, area.height() / height)
        down_scale = min(area.width() / width, down_height / height)
        if across_scale * 1.15 >= down_scale:  # beside reads more naturally; stack only when clearly larger
            return [
                QRectF(area.left() + index * (across_width + gap), area.top(), across_width, area.height())
                for index in range(count)
            ]
        return [
            QRectF(area.left(), area.top() + index * (down_height + gap), area.width(), down_height)
            for index in range(count)
        ]

    def _paint_caption(self, painter: QPainter, target: QRectF, caption: str) -> None:
        painter.save()
        font = QFont(painter.font())
        font.setPixelSize(13)
        font.setBold(True)
        painter.setFont(font)
        box = QRectF(target.left() + 8, target.bottom() - 30, painter.fontMetrics().horizontalAdvance(caption) + 16, 22)
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(0, 0, 0, 150))
        painter.drawRoundedRect(box, 5, 5)
        painter.setPen(CAPTION)
        painter.drawText(box, Qt.AlignmentFlag.AlignCenter, caption)
        painter.restore()

    def _paint_banner(self, painter: QPainter, area: QRectF) -> None:
        painter.save()
        font = QFont(painter.font())
        font.setPixelSize(15)
        font.setBold(True)
        painter.setFont(font)
        height = painter.fontMetrics().height() + 14
        strip = QRectF(area.left(), area.top(), area.width(), height)
        painter.fillRect(strip, BANNER)
        painter.setPen(QColor(255, 255, 255))
        painter.drawText(strip, int(Qt.AlignmentFlag.AlignCenter), self._banner)
        painter.restore()

    def _paint_message(self, painter: QPainter, area: QRectF) -> None:
        painter.save()
        font = QFont(painter.font())
        font.setPixelSize(16)
        painter.setFont(font)
        painter.setPen(CAPTION)
        box = QRectF(area.left() + 40, area.top(), area.width() - 80, area.height() / 2 + 36)
        painter.drawText(
            box,
            int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom | Qt.TextFlag.TextWordWrap),
            self._message,
        )
        painter.restore()

    def frame_rect(self) -> QRectF:
        """Where the (first pane's) frame is drawn, in widget pixels; empty when there is no frame."""
        panes = self._panes()
        if not panes:
            return QRectF()
        height, width = panes[0][1].shape[:2]
        return fit_rect(width, height, self._pane_areas(panes, QRectF(self.rect()))[0])


__all__ = ["PreviewMode", "PreviewWidget", "fit_rect", "qimage_from_bgr"]
