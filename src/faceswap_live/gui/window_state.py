"""What the window keeps between runs: the settings file, and beside it window-state.json (the chosen face, the view,
the overlay switches, the window's size and split, the recording file). Saved shortly after each change (debounced) and
once more on close. GUI thread only.
"""

from __future__ import annotations

import base64
import json
from pathlib import Path
from typing import Any, Protocol

from PySide6.QtCore import QByteArray, QObject, QTimer
from PySide6.QtGui import QAction, QGuiApplication
from PySide6.QtWidgets import QSplitter, QWidget

from faceswap_live.gui.gallery_actions import GalleryActions
from faceswap_live.gui.gallery_widget import NO_TARGET
from faceswap_live.gui.preview import PreviewMode, PreviewWidget
from faceswap_live.gui.run_controller import RunController
from faceswap_live.gui.window_actions import WindowActions


class SavedWindow(Protocol):
    """What WindowState reads and sets on the main window (a Protocol, so this module does not import it)."""

    run: RunController
    faces: GalleryActions
    preview: PreviewWidget
    menu_actions: WindowActions
    overlay_action: QAction
    mesh_action: QAction
    mask_action: QAction
    main_splitter: QSplitter

    def saveGeometry(self) -> QByteArray: ...  # noqa: N802 (Qt's name)
    def restoreGeometry(self, geometry: QByteArray | bytes | bytearray | memoryview) -> bool: ...  # noqa: N802
    def set_preview_mode(self, mode: PreviewMode) -> None: ...
    def set_overlay(self, enabled: bool) -> None: ...
    def show_error(self, error: object) -> None: ...


SAVE_DELAY_MS = 600


def fit_to_screen(window: QWidget) -> None:
    """1440×880 where it fits; on a smaller screen (1280×800 laptops) the whole window stays visible."""
    screen = window.screen() or QGuiApplication.primaryScreen()
    available = screen.availableGeometry() if screen is not None else None
    width, height = 1440, 880
    if available is not None:
        width, height = min(width, available.width()), min(height, available.height() - 30)  # title bar
    window.resize(width, height)


class WindowState(QObject):
    """Saves and restores one window's settings and state; a file that cannot be written is reported, once."""

    def __init__(self, window: SavedWindow, path: Path) -> None:
        super().__init__(window if isinstance(window, QObject) else None)  # dies with the window
        self._window, self.path = window, path
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self.save)
        self._stopped = False

    def schedule_save(self) -> None:
        if not self._stopped:
            self._timer.start(SAVE_DELAY_MS)

    def save_and_stop(self) -> None:
        """Save now and no more (the window closes)."""
        self._stopped = True
        self._timer.stop()
        self.save()

    def save(self) -> None:
        """Write the settings TOML and the window state now."""
        window = self._window
        record_path = window.run.outputs.record_path
        state = {
            "target": window.faces.current_id,
            "preview_mode": window.preview.mode,
            "overlay": window.overlay_action.isChecked(),
            "mesh": window.mesh_action.isChecked(),
            "mask": window.mask_action.isChecked(),
            "geometry": base64.b64encode(bytes(window.saveGeometry().data())).decode("ascii"),
            "splitter": base64.b64encode(bytes(window.main_splitter.saveState().data())).decode("ascii"),
            "record_path": str(record_path) if record_path is not None else "",
        }
        try:
            window.run.save_config()
            self.path.write_text(json.dumps(state, indent=2), encoding="utf-8")
        except OSError as error:
            folder = window.run.config_path.parent
            window.show_error(f"Settings could not be saved to {folder}: {error.strerror or error}.")

    def _read(self) -> dict[str, Any]:
        try:
            state = json.loads(self.path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def restore(self) -> None:
        """Bring back the saved state (a missing or broken file: the defaults)."""
        window, state = self._window, self._read()
        window.faces.current_id = str(state.get("target", NO_TARGET))
        if state.get("record_path"):
            window.run.outputs.record_path = Path(str(state["record_path"]))
        window.run.outputs.refresh()
        mode = state.get("preview_mode", "output")
        if mode in window.menu_actions.views:
            window.set_preview_mode(mode)
        window.mesh_action.setChecked(bool(state.get("mesh", False)))
        window.mask_action.setChecked(bool(state.get("mask", False)))
        window.set_overlay(bool(state.get("overlay", False)))
        for key, restore in (("geometry", window.restoreGeometry), ("splitter", window.main_splitter.restoreState)):
            if isinstance(state.get(key), str):
                restore(QByteArray(base64.b64decode(state[key])))
