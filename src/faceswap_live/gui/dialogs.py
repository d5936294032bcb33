"""Dialogs: consent when adding a face, picking one face in a group photo, accepting a model licence, and confirming
that the "AI-modified" label should go.

All are opened non-blocking through DialogHost.open() (window-modal sheets): the preview keeps running behind them and
no nested event loop is started. Results come back through accepted/rejected/finished.
"""

from __future__ import annotations

from collections.abc import Sequence

from PySide6.QtCore import QPointF, QRectF, QSize, Qt, Signal
from PySide6.QtGui import QColor, QFont, QImage, QMouseEvent, QPainter, QPaintEvent, QPen, QPixmap
from PySide6.QtWidgets import (
    QCheckBox,
    QDialog,
    QDialogButtonBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QSizePolicy,
    QVBoxLayout,
    QWidget,
)

from faceswap_live.gui.preview import fit_rect, qimage_from_bgr
from faceswap_live.types import BgrImage, Box

HIGHLIGHT = QColor(80, 200, 255)
BOX_COLOUR = QColor(255, 255, 255, 200)


def pixmap_from_bgr(image_bgr: BgrImage, max_side: int | None = None) -> QPixmap:
    """A QPixmap copy of a BGR image, scaled so its longer side is at most max_side (None = full size)."""
    pixmap = QPixmap.fromImage(qimage_from_bgr(image_bgr).copy())
    if max_side is not None and max(pixmap.width(), pixmap.height()) > max_side:
        pixmap = pixmap.scaled(
            max_side, max_side, Qt.AspectRatioMode.KeepAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    return pixmap


class ConsentDialog(QDialog):
    """Asks the user to confirm they have the right to use this face; OK stays disabled until they tick the box.

    `name` is editable (default: the photo's file name). GUI thread only.
    """

    def __init__(self, face_bgr: BgrImage, default_name: str, statement: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Add a face: permission")
        self.setModal(True)
        picture = QLabel()
        picture.setPixmap(pixmap_from_bgr(face_bgr, 200))
        picture.setAlignment(Qt.AlignmentFlag.AlignCenter)
        picture.setMinimumSize(200, 200)
        self.name_edit = QLineEdit(default_name)
        self.name_edit.setPlaceholderText("Name shown in the gallery")
        text = QLabel(statement)
        text.setWordWrap(True)
        text.setMinimumWidth(340)
        self.confirm_box = QCheckBox("I confirm this")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Add face")
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        self.confirm_box.toggled.connect(self._update_ok)
        self.name_edit.textChanged.connect(self._update_ok)

        right = QVBoxLayout()
        right.addWidget(QLabel("Name"))
        right.addWidget(self.name_edit)
        right.addSpacing(8)
        right.addWidget(text)
        right.addWidget(self.confirm_box)
        right.addStretch(1)
        row = QHBoxLayout()
        row.addWidget(picture)
        row.addLayout(right, 1)
        layout = QVBoxLayout(self)
        layout.addLayout(row)
        layout.addWidget(self.buttons)
        self._update_ok()

    def _update_ok(self) -> None:
        ok = self.confirm_box.isChecked() and bool(self.name_edit.text().strip())
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(ok)

    @property
    def name(self) -> str:
        return self.name_edit.text().strip()

    def confirm_and_accept(self) -> None:
        """What a user does: tick the box and press "Add face" (used by keyboard-only flows and tests)."""
        self.confirm_box.setChecked(True)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).click()


class _FaceChooser(QWidget):
    """The photo with a numbered box per face; a click selects the face under the cursor."""

    chosen = Signal(int)
    activated = Signal(int)

    def __init__(self, photo_bgr: BgrImage, boxes: Sequence[Box]) -> None:
        super().__init__()
        self._image: QImage = qimage_from_bgr(photo_bgr).copy()
        self._boxes = list(boxes)
        self.selected = 0
        self.setMinimumSize(480, 360)
        self.setSizePolicy(QSizePolicy.Policy.Expanding, QSizePolicy.Policy.Expanding)
        self.setCursor(Qt.CursorShape.PointingHandCursor)

    def sizeHint(self) -> QSize:  # noqa: N802 - Qt API
        return QSize(800, 600)

    def _image_rect(self) -> QRectF:
        return fit_rect(self._image.width(), self._image.height(), QRectF(self.rect()))

    def _box_rect(self, box: Box) -> QRectF:
        target = self._image_rect()
        scale = target.width() / self._image.width()
        return QRectF(
            target.left() + box.x0 * scale, target.top() + box.y0 * scale, box.width * scale, box.height * scale
        )

    def face_centre(self, index: int) -> QPointF:
        """Widget position of a face's centre (where a user would click)."""
        return self._box_rect(self._boxes[index]).center()

    def face_at(self, position: QPointF) -> int | None:
        hits = [index for index, box in enumerate(self._boxes) if self._box_rect(box).contains(position)]
        # Nested boxes: the smallest is the one the user meant.
        return min(hits, key=lambda index: self._boxes[index].area) if hits else None

    def mousePressEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        index = self.face_at(event.position())
        if index is not None:
            self.selected = index
            self.chosen.emit(index)
            self.update()

    def mouseDoubleClickEvent(self, event: QMouseEvent) -> None:  # noqa: N802 - Qt API
        index = self.face_at(event.position())
        if index is not None:
            self.activated.emit(index)

    def paintEvent(self, event: QPaintEvent) -> None:  # noqa: N802 - Qt API
        painter = QPainter(self)
        painter.fillRect(self.rect(), QColor(18, 20, 26))
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.drawImage(self._image_rect(), self._image)
        font = QFont(painter.font())
        font.setPixelSize(14)
        font.setBold(True)
        painter.setFont(font)
        for index, box in enumerate(self._boxes):
            rect = self._box_rect(box)
            selected = index == self.selected
            painter.setPen(QPen(HIGHLIGHT if selected else BOX_COLOUR, 3 if selected else 1.5))
            painter.setBrush(Qt.BrushStyle.NoBrush)
            painter.drawRoundedRect(rect, 4, 4)
            badge = QRectF(rect.left(), rect.top() - 22, 24, 20)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(HIGHLIGHT if selected else QColor(0, 0, 0, 170))
            painter.drawRoundedRect(badge, 4, 4)
            painter.setPen(QColor(0, 0, 0) if selected else QColor(255, 255, 255))
            painter.drawText(badge, Qt.AlignmentFlag.AlignCenter, str(index + 1))
        painter.end()


class FacePickerDialog(QDialog):
    """Shows a photo with every face boxed; the user clicks the one they want. `selected_index` after accept."""

    def __init__(
        self, photo_bgr: BgrImage, boxes: Sequence[Box], photo_name: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle(f"Which face? — {photo_name}")
        self.setModal(True)
        self.chooser = _FaceChooser(photo_bgr, boxes)
        hint = QLabel(f"{len(boxes)} faces were found. Click the face you want, then press Use this face.")
        hint.setWordWrap(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Use this face")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        self.chooser.activated.connect(lambda _index: self.accept())
        layout = QVBoxLayout(self)
        layout.addWidget(hint)
        layout.addWidget(self.chooser, 1)
        layout.addWidget(buttons)
        self.resize(860, 700)

    @property
    def selected_index(self) -> int:
        return self.chooser.selected


class LicenceDialog(QDialog):
    """Shows a model's licence before it is downloaded; "Accept and download" accepts."""

    def __init__(
        self, model_description: str, licence: str, licence_url: str, size_text: str, parent: QWidget | None = None
    ) -> None:
        super().__init__(parent)
        self.setWindowTitle("Model licence")
        self.setModal(True)
        text = QLabel(
            f"<p><b>{model_description}</b> ({size_text}) is distributed under the licence "
            f"<b>{licence}</b>.</p>"
            f'<p>Read it at <a href="{licence_url}">{licence_url}</a> before you continue. '
            "Downloading means you accept its terms (for this model: non-commercial use only, where the licence "
            "says so).</p>"
        )
        text.setWordWrap(True)
        text.setOpenExternalLinks(True)
        text.setTextInteractionFlags(Qt.TextInteractionFlag.TextBrowserInteraction)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Accept and download")
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(buttons)
        self.setMinimumWidth(460)


class LabelOffDialog(QDialog):
    """Turning the "AI-modified" label off is deliberate: the user must tick a statement first."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Remove the AI-modified label?")
        self.setModal(True)
        text = QLabel(
            "The label tells the people who see this video that the face in it is computer-generated. "
            "Without it, viewers may take the swapped face for a real person. The invisible watermark stays."
        )
        text.setWordWrap(True)
        self.confirm_box = QCheckBox("My viewers know this video is modified; remove the visible label")
        self.buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setText("Remove label")
        self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled(False)
        self.buttons.button(QDialogButtonBox.StandardButton.Cancel).setDefault(True)
        self.confirm_box.toggled.connect(self.buttons.button(QDialogButtonBox.StandardButton.Ok).setEnabled)
        self.buttons.accepted.connect(self.accept)
        self.buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(text)
        layout.addWidget(self.confirm_box)
        layout.addWidget(self.buttons)
        self.setMinimumWidth(440)
