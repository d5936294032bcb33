"""Entry point of the desktop app: `faceswap-live` / `faceswap-live gui` call run_app()."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path

from PySide6.QtCore import QTimer
from PySide6.QtGui import QColor, QIcon, QPalette
from PySide6.QtWidgets import QApplication

from faceswap_live import __version__
from faceswap_live.gui.main_window import MainWindow
from faceswap_live.gui.startup import check_qt_can_start

logger = logging.getLogger(__name__)

ICON_PATH = Path(__file__).resolve().parents[1] / "assets" / "icon.png"


def apply_dark_theme(app: QApplication) -> None:
    """A calm dark Fusion theme: the video is the brightest thing on screen."""
    app.setStyle("Fusion")
    palette = QPalette()
    colours = {
        QPalette.ColorRole.Window: QColor(30, 33, 40),
        QPalette.ColorRole.WindowText: QColor(226, 230, 238),
        QPalette.ColorRole.Base: QColor(22, 24, 30),
        QPalette.ColorRole.AlternateBase: QColor(36, 40, 48),
        QPalette.ColorRole.ToolTipBase: QColor(40, 44, 54),
        QPalette.ColorRole.ToolTipText: QColor(226, 230, 238),
        QPalette.ColorRole.Text: QColor(226, 230, 238),
        QPalette.ColorRole.Button: QColor(44, 48, 58),
        QPalette.ColorRole.ButtonText: QColor(226, 230, 238),
        QPalette.ColorRole.BrightText: QColor(255, 120, 120),
        QPalette.ColorRole.Highlight: QColor(52, 140, 200),
        QPalette.ColorRole.HighlightedText: QColor(255, 255, 255),
        QPalette.ColorRole.Link: QColor(100, 180, 255),
        QPalette.ColorRole.PlaceholderText: QColor(130, 136, 150),
    }
    for role, colour in colours.items():
        palette.setColor(role, colour)
    for role in (QPalette.ColorRole.Text, QPalette.ColorRole.ButtonText, QPalette.ColorRole.WindowText):
        palette.setColor(QPalette.ColorGroup.Disabled, role, QColor(110, 116, 128))
    app.setPalette(palette)
    app.setStyleSheet(
        "QGroupBox { font-weight: bold; border: 1px solid #3a3f4b; border-radius: 6px; margin-top: 14px; "
        "padding-top: 6px; }"
        "QGroupBox::title { subcontrol-origin: margin; left: 10px; padding: 0 4px; }"
        "QToolBar { border: none; spacing: 4px; padding: 2px 6px; }"
        "QToolButton:checked { background: #2f6f9c; border-radius: 4px; }"
        "QListWidget { border: 1px solid #3a3f4b; border-radius: 6px; }"
        "QListWidget::item:selected { background: #2f6f9c; border-radius: 6px; }"
    )


def create_application(argv: list[str] | None = None) -> QApplication:
    """The QApplication (existing one reused), named and themed.

    Raises FaceswapError naming the system packages to install when Qt's platform plugin cannot load.
    """
    app = QApplication.instance()
    if not isinstance(app, QApplication):
        # After every import (cv2 sets its Qt variables when imported), before Qt reads them.
        check_qt_can_start()
        app = QApplication(argv if argv is not None else sys.argv[:1])
    app.setApplicationName("faceswap-live")
    app.setApplicationDisplayName("faceswap-live")
    app.setApplicationVersion(__version__)
    app.setDesktopFileName("faceswap-live")
    if ICON_PATH.is_file():
        app.setWindowIcon(QIcon(str(ICON_PATH)))
    apply_dark_theme(app)
    return app


def run_app(config_path: Path | None = None, source: str | None = None, quit_after_frames: int = 0) -> int:
    """Open the window and run until it is closed. Returns the exit code (0 = closed normally).

    source: a camera or video file for this run only; quit_after_frames: close after showing that many processed frames
    (then report what was shown, for scripted checks of a real desktop).
    """
    app = create_application()
    window: MainWindow | None = None
    interrupted = False

    def close_on_signal(signal_number: int, frame: object) -> None:
        # Ctrl+C in the terminal, or the session ending (SIGTERM, SIGHUP): close like the window's close button, so a
        # recording is finished and settings are saved. A signal while the window is still being built ends the start.
        nonlocal interrupted
        interrupted = True
        if window is not None:
            window.close()

    # Installed before the window is built (which can take seconds): a Ctrl+C then is neither lost nor a traceback.
    for number in (signal.SIGINT, signal.SIGTERM, *([signal.SIGHUP] if hasattr(signal, "SIGHUP") else [])):
        signal.signal(number, close_on_signal)
    window = MainWindow(config_path=config_path, source=source, quit_after_frames=quit_after_frames)
    if interrupted:
        window.shutdown()
        return 130
    window.show()
    # Qt's event loop keeps Python from running signal handlers; a timer tick lets them run.
    tick = QTimer()
    tick.timeout.connect(lambda: None)
    tick.start(200)
    code = app.exec()
    stopped = window.shutdown()
    if quit_after_frames:
        geometry = window.geometry()
        print(
            f"Showed {window.feed.frames_shown} processed frames ({window.preview.frames_painted} painted) from "
            f"{window.run.source_description} in a "
            f"{geometry.width()}x{geometry.height()} window on the {app.platformName()} platform; "
            f"worker threads {'stopped' if stopped else 'still running'}.",
            flush=True,
        )
        if window.feed.frames_shown < quit_after_frames or not stopped:
            return 1
    return int(code)
