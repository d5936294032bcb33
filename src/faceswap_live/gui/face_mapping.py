"""Face mapping in the app: click a person's face in the preview to give them a gallery face, or leave them as is.

The choice follows that person's track in the pipeline, also when they leave and come back (the tracker knows them
again by their looks). Thin: it finds the clicked face in the newest result and hands the choice to the runner.
"""

from __future__ import annotations

from collections.abc import Callable

from PySide6.QtCore import QEvent, QObject, QPoint, QPointF, Qt
from PySide6.QtGui import QAction, QMouseEvent
from PySide6.QtWidgets import QComboBox, QDialog, QDialogButtonBox, QFormLayout, QLabel, QMenu, QSlider, QWidget

from faceswap_live.engines.morph import morph_faces
from faceswap_live.gui.preview import PreviewWidget
from faceswap_live.types import FaceLandmarks, TargetFace

LEAVE_AS_IS = "Leave as is"
SAME_AS_EVERYONE = "Same as everyone"
MIX_FACES = "Mix two faces…"

FaceChoices = Callable[[], list[tuple[str, TargetFace]]]
"""The gallery faces ready to use, by name."""
AssignFace = Callable[[int, TargetFace | None], None]
"""Give the person on a track a target (None: their own face)."""


class FaceMapping(QObject):
    """Watches clicks on the preview; a click on a face opens a menu of gallery faces for that person."""

    def __init__(
        self, preview: PreviewWidget, choices: FaceChoices, assign: AssignFace, reset: Callable[[], None]
    ) -> None:
        super().__init__(preview)
        self._preview, self._choices, self._assign, self._reset = preview, choices, assign, reset
        self.menu: QMenu | None = None
        """The menu open now (kept so it stays alive while shown)."""
        self.mix_dialog: MixDialog | None = None
        preview.installEventFilter(self)

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if watched is self._preview and event.type() == QEvent.Type.MouseButtonPress:
            assert isinstance(event, QMouseEvent)
            if event.button() == Qt.MouseButton.LeftButton:
                face = self.face_at(event.position())
                if face is not None:
                    self.open_menu(face, event.position().toPoint())
                    return True
        return False

    def face_at(self, position: QPointF) -> FaceLandmarks | None:
        """The face under a point of the preview widget, from the frame shown; None if the point is on no face."""
        result = self._preview.result
        area = self._preview.frame_rect()
        if result is None or area.isEmpty():
            return None
        height, width = result.output_bgr.shape[:2]
        x = (position.x() - area.left()) * width / area.width()
        y = (position.y() - area.top()) * height / area.height()
        for face in result.faces:
            if face.box.x0 <= x < face.box.x1 and face.box.y0 <= y < face.box.y1:
                return face
        return None

    def open_menu(self, face: FaceLandmarks, at: QPoint) -> QMenu:
        """The menu for one person: each gallery face, leave as is, or back to the face everyone gets."""
        menu = QMenu(self._preview)
        header = QAction("Face for this person:", menu)
        header.setEnabled(False)
        menu.addAction(header)
        for name, target in self._choices():
            action = QAction(name, menu)
            action.triggered.connect(lambda _checked=False, t=target: self._assign(face.track_id, t))
            menu.addAction(action)
        choices = self._choices()
        if len(choices) >= 2:
            mix = QAction(MIX_FACES, menu)
            mix.triggered.connect(lambda _checked=False: self.open_mix_dialog(face.track_id))
            menu.addAction(mix)
        menu.addSeparator()
        leave = QAction(LEAVE_AS_IS, menu)
        leave.triggered.connect(lambda _checked=False: self._assign(face.track_id, None))
        menu.addAction(leave)
        everyone = QAction(SAME_AS_EVERYONE, menu)
        everyone.triggered.connect(lambda _checked=False: self._reset())
        menu.addAction(everyone)
        self.menu = menu
        menu.popup(self._preview.mapToGlobal(at))
        return menu

    def open_mix_dialog(self, track_id: int) -> MixDialog:
        """A morph of two gallery faces for this person; applied when the dialog is confirmed."""
        dialog = MixDialog(self._choices(), self._preview)
        dialog.accepted.connect(lambda: self._assign(track_id, dialog.morph()))
        self.mix_dialog = dialog
        dialog.open()
        return dialog


class MixDialog(QDialog):
    """Two gallery faces and a slider: 0 % is the first face exactly, 100 % the second, between a morph of both."""

    def __init__(self, choices: list[tuple[str, TargetFace]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Mix two faces")
        self._targets = [target for _, target in choices]
        self.first, self.second = QComboBox(), QComboBox()
        for name, _ in choices:
            self.first.addItem(name)
            self.second.addItem(name)
        self.second.setCurrentIndex(1)
        self.slider = QSlider(Qt.Orientation.Horizontal)
        self.slider.setRange(0, 100)
        self.slider.setValue(50)
        share = QLabel()
        self.slider.valueChanged.connect(lambda value: share.setText(f"{value} % of the second face"))
        share.setText(f"{self.slider.value()} % of the second face")
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Ok | QDialogButtonBox.StandardButton.Cancel)
        buttons.accepted.connect(self.accept)
        buttons.rejected.connect(self.reject)
        layout = QFormLayout(self)
        layout.addRow("First face", self.first)
        layout.addRow("Second face", self.second)
        layout.addRow("Mix", self.slider)
        layout.addRow("", share)
        layout.addRow(buttons)

    def morph(self) -> TargetFace:
        """The chosen mix as one target face (engines.morph)."""
        weight = self.slider.value() / 100
        first, second = self._targets[self.first.currentIndex()], self._targets[self.second.currentIndex()]
        return morph_faces([first, second], [1.0 - weight, weight])
