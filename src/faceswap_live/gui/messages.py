"""Messages for the person at the window: the wording of problems in the app's own terms, the bar that shows one above
the preview, and a log of every message shown (a dismissed one stays reachable from the status bar)."""

from __future__ import annotations

import re
import time
from dataclasses import dataclass

from PySide6.QtCore import Qt
from PySide6.QtWidgets import (
    QDialog,
    QDialogButtonBox,
    QFrame,
    QHBoxLayout,
    QLabel,
    QPlainTextEdit,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from faceswap_live.errors import ModelError
from faceswap_live.runtime.runner import EngineFallbackError

DOWNLOAD_HINT = "Use “Download model…” in the Engine box of the side panel to get it."
_CLI_FETCH = re.compile(r"[^\n]*faceswap-live models fetch[^\n]*")


def gui_wording(error: object) -> str:
    """The message as the window shows it: a missing model points to the Download button, not to a CLI command."""
    text = str(error).strip()
    cause = error.cause if isinstance(error, EngineFallbackError) else error
    if isinstance(cause, ModelError) and _CLI_FETCH.search(text):
        text = _CLI_FETCH.sub(DOWNLOAD_HINT, text, count=1)
        text = _CLI_FETCH.sub("", text).strip()
    return re.sub(r"\n{2,}", "\n", text)


@dataclass(frozen=True)
class LoggedMessage:
    shown_at: float
    text: str


class MessageLog:
    """Every distinct problem shown in this session, oldest first."""

    def __init__(self) -> None:
        self.messages: list[LoggedMessage] = []

    def add(self, text: str) -> bool:
        """Log text; False when the latest entry already says the same."""
        if self.messages and self.messages[-1].text == text:
            return False
        self.messages.append(LoggedMessage(time.time(), text))
        return True

    def as_text(self) -> str:
        return "\n\n".join(
            f"{time.strftime('%H:%M:%S', time.localtime(message.shown_at))}  {message.text}"
            for message in self.messages
        )


class MessageLogDialog(QDialog):
    """The message log, read-only and selectable (to copy into a bug report)."""

    def __init__(self, log: MessageLog, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Messages")
        self.resize(640, 360)
        self.text = QPlainTextEdit(log.as_text() or "No messages in this session.")
        self.text.setReadOnly(True)
        buttons = QDialogButtonBox(QDialogButtonBox.StandardButton.Close)
        buttons.rejected.connect(self.reject)
        layout = QVBoxLayout(self)
        layout.addWidget(self.text)
        layout.addWidget(buttons)


class ErrorBar(QFrame):
    """One plain-words problem at a time above the preview, with its fix; dismissable. Never a modal dialog."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setObjectName("errorBar")
        self.setStyleSheet(
            "#errorBar { background: #4a2a1c; border: 1px solid #a65a32; border-radius: 6px; }"
            "#errorBar QLabel { color: #ffe9dc; }"
        )
        self.label = QLabel()
        self.label.setWordWrap(True)
        self.label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        close = QToolButton()
        close.setText("✕")
        close.setAutoRaise(True)
        close.setToolTip("Dismiss")
        close.clicked.connect(self.dismiss)
        layout = QHBoxLayout(self)
        layout.setContentsMargins(10, 6, 6, 6)
        layout.addWidget(self.label, 1)
        layout.addWidget(close, 0, Qt.AlignmentFlag.AlignTop)
        self._dismissed: set[str] = set()
        self.hide()

    @property
    def message(self) -> str:
        return self.label.text() if self.isVisible() or not self.isHidden() else ""

    def show_message(self, text: str) -> None:
        """Show a problem unless it is already shown or the user dismissed this very message."""
        if text in self._dismissed or (not self.isHidden() and self.label.text() == text):
            return
        self.label.setText(text)
        self.show()

    def dismiss(self) -> None:
        self._dismissed.add(self.label.text())
        self.hide()


class MessagesButton(QToolButton):
    """ "Messages (n)" in the status bar, hidden until the first message; keeps the log it opens."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.log = MessageLog()
        self.setAutoRaise(True)
        self.setToolTip("Every message of this session, also the dismissed ones")
        self.hide()

    def add(self, text: str) -> None:
        if self.log.add(text):
            self.setText(f"Messages ({len(self.log.messages)})")
            self.show()
