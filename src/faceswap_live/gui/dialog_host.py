"""Every question the window asks: opens its dialogs window-modal without a nested event loop (the preview keeps
running behind them) and remembers the one open now; file choosers; the questions before the real face goes out or the
"AI-modified" label goes. GUI thread only.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape
from pathlib import Path

from PySide6.QtCore import Qt
from PySide6.QtWidgets import QDialog, QFileDialog, QMessageBox, QWidget

from faceswap_live.gui.dialogs import LabelOffDialog
from faceswap_live.gui.messages import MessageLog, MessageLogDialog

VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v);;All files (*)"
PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff);;All files (*)"


class DialogHost:
    """The dialogs of one window (their parent)."""

    def __init__(self, window: QWidget) -> None:
        self._window = window
        self.active: QDialog | None = None
        """The dialog open now (None when there is none)."""

    def open(self, dialog: QDialog) -> None:
        self.active = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.finished.connect(lambda _result: self._finished(dialog))
        dialog.open()

    def _finished(self, dialog: QDialog) -> None:
        if self.active is dialog:  # accepting one dialog may already have opened the next
            self.active = None

    def choose_video_file(self) -> str:
        """A video file to use as the camera ("" when the user cancels)."""
        path, _filter = QFileDialog.getOpenFileName(self._window, "Use a video file as the camera", "", VIDEO_FILTER)
        return path

    def choose_photos(self, title: str = "Add a face from a photo") -> list[Path]:
        paths, _filter = QFileDialog.getOpenFileNames(self._window, title, "", PHOTO_FILTER)
        return [Path(path) for path in paths]

    def choose_record_file(self, start: Path) -> Path | None:
        path, _filter = QFileDialog.getSaveFileName(self._window, "Record to", str(start), "MP4 video (*.mp4)")
        return Path(path) if path else None

    def confirm_label_off(self, remove_label: Callable[[], None]) -> None:
        """Turning the visible label off is deliberate: remove_label runs once the user has ticked the statement."""
        dialog = LabelOffDialog(self._window)
        dialog.accepted.connect(remove_label)
        self.open(dialog)

    def confirm_real_face(self, question: str, outputs: Sequence[str], proceed: Callable[[], None]) -> bool:
        """Ask before the real face goes out to the viewers of these outputs; True when asked (proceed runs if the user
        agrees), False when no output is on and there is nothing to ask."""
        if not outputs:
            return False
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Show your real face?",
            f"{question}\n\nViewers of the {' and the '.join(outputs)} will see your real face.",
            QMessageBox.StandardButton.Cancel,
            self._window,
        )
        box.addButton("Show my real face", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.accepted.connect(proceed)
        self.open(box)
        return True

    def show_messages(self, log: MessageLog) -> None:
        """Every message of this session, also those dismissed from the bar."""
        self.open(MessageLogDialog(log, self._window))

    def show_about(self, version: str, settings_file: Path, gallery_folder: Path) -> None:
        """What this is, its version (for a bug report), where it keeps the user's settings and faces, and how its
        output is marked."""
        html = (
            f"<p><b>faceswap-live {escape(version)}</b><br>Real-time face swap for webcams, streams and video calls."
            "</p><p>Every output with a swapped face carries a visible “AI-modified” label (unless you turn it off) "
            "and an invisible watermark; <code>faceswap-live verify FILE</code> finds it in a picture or video.</p>"
            f"<p>Settings: {escape(str(settings_file))}<br>Faces: {escape(str(gallery_folder))}</p>"
            "<p>Licence: Apache-2.0</p>"
        )
        close = QMessageBox.StandardButton.Close
        self.open(QMessageBox(QMessageBox.Icon.NoIcon, "About faceswap-live", html, close, self._window))

    def show_shortcuts(self, shortcuts: Sequence[tuple[str, str]]) -> None:
        rows = "".join(f"<tr><td><b>{keys}</b>&nbsp;&nbsp;</td><td>{what}</td></tr>" for keys, what in shortcuts)
        html = f"<table>{rows}</table>"
        close = QMessageBox.StandardButton.Close
        self.open(QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", html, close, self._window))
