"""The settings column on the offscreen platform: scrolling it with the mouse wheel never changes a setting; a video
file's own size and rate show under Size and Rate."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, QPointF, Qt
from PySide6.QtGui import QWheelEvent
from PySide6.QtWidgets import QApplication, QWidget

from faceswap_live.config import AppConfig, load_config
from faceswap_live.gui.settings_panel import SettingsPanel


def _wheel_down(widget: QWidget) -> None:
    """One notch of the wheel, turned towards the user, with the pointer over the middle of widget."""
    centre = QPointF(widget.width() / 2, widget.height() / 2)
    event = QWheelEvent(
        centre, QPointF(widget.mapToGlobal(centre.toPoint())), QPoint(0, 0), QPoint(0, -120),
        Qt.MouseButton.NoButton, Qt.KeyboardModifier.NoModifier, Qt.ScrollPhase.NoScrollPhase, False,
    )  # fmt: skip
    QApplication.sendEvent(widget, event)


def test_the_wheel_scrolls_past_a_setting_and_changes_it_only_once_it_is_clicked(qtbot: Any) -> None:
    panel = SettingsPanel(AppConfig(), cameras=[])
    qtbot.addWidget(panel)
    panel.resize(320, 300)  # shorter than the column, so it scrolls
    panel.show()
    qtbot.waitExposed(panel)
    emitted: list[AppConfig] = []
    panel.config_changed.connect(emitted.append)
    scroll = panel.verticalScrollBar()
    assert scroll.maximum() > 0
    for control in (panel.faces_combo, panel.fps_combo):
        before, top = control.currentIndex(), scroll.value()
        _wheel_down(control)
        assert control.currentIndex() == before and not emitted  # passed over: unchanged, nothing saved
        assert scroll.value() > top  # the column scrolled instead
    panel.faces_combo.setFocus(Qt.FocusReason.MouseFocusReason)  # as when clicked
    qtbot.waitUntil(panel.faces_combo.hasFocus)
    before = panel.faces_combo.currentIndex()
    _wheel_down(panel.faces_combo)
    assert panel.faces_combo.currentIndex() == before + 1 and emitted


def test_a_video_file_shows_its_own_size_and_the_camera_setting_is_kept(
    qtbot: Any, make_window: Any, small_clip: Path
) -> None:
    window = make_window(small_clip)  # 480 × 360; the settings ask a camera for 640 × 480
    panel = window.panel
    qtbot.waitUntil(lambda: panel.resolution_combo.currentText() == "480 × 360", timeout=15_000)
    assert panel.fps_combo.currentText() == "30 fps"
    assert not panel.resolution_combo.isEnabled() and panel.resolution_combo.count() == 1
    panel.smoothing.setValue(panel.smoothing.value() // 2)  # another setting changes, and all are saved
    window.state.save()
    saved = load_config(window.run.config_path).capture
    assert (saved.width, saved.height, saved.fps) == (640, 480, 30.0)  # the camera's request, not the file's size
