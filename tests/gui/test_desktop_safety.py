"""The desktop app never leaves a dead preview and a streamer always knows what viewers see (offscreen Qt, a video
file standing in for the webcam, public-domain faces, real outputs where they are software).

What a user would notice: choosing the neural engine without its model and restarting still shows moving frames, with
the built-in engine named as the one in use and the way to the Download button; an output that breaks is switched off
and reported while the preview goes on; switching the source while the engine loads never starts a second processing
thread; removing the live face (or choosing No swap) while streaming asks first; a red banner says whenever viewers see
the real face.
"""

from __future__ import annotations

import threading
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from faceswap_live.gui.main_window import MainWindow
from faceswap_live.gui.messages import MessageLogDialog
from faceswap_live.models.store import ModelStore
from faceswap_live.types import FrameResult


def _latest(window: MainWindow) -> FrameResult | None:
    return window.runner.latest_result() if window.runner is not None else None


def _wait_for_new_frames(qtbot: Any, window: MainWindow, count: int = 5) -> None:
    start = window.feed.frames_shown
    qtbot.waitUntil(lambda: window.feed.frames_shown >= start + count, timeout=15_000)


def _add_live_face(qtbot: Any, window: MainWindow, photo: Path) -> str:
    """A face in the gallery (consent given; the consent dialog has its own test) and swapped to."""
    entry = window.faces.gallery.add(photo, photo.stem, 0, consent_confirmed=True)
    window.faces.refresh()
    with qtbot.waitSignal(window.target_ready, timeout=20_000):
        window.faces.select_target(str(entry.id))
    qtbot.waitUntil(lambda: (result := _latest(window)) is not None and result.swapped, timeout=15_000)
    return str(entry.id)


def test_the_neural_engine_without_its_model_still_previews_after_a_restart(
    qtbot: Any, make_window: Any, hopper_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # an empty model folder: no neural model
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    window = make_window(hopper_clip, engine="onnx")  # as saved by the previous run
    _wait_for_new_frames(qtbot, window, 10)
    assert window.preview.message == ""  # not "Waiting for the first frame…"
    qtbot.waitUntil(lambda: "Built-in" in window.panel.engine_in_use.text(), timeout=5_000)
    assert "could not start" in window.panel.engine_in_use.text()
    assert window.runner is not None and window.runner.engine_in_use == "mesh"
    message = window.error_bar.label.text()
    assert "Download model…" in message and "faceswap-live models fetch" not in message
    window.set_overlay(True)
    qtbot.waitUntil(lambda: window.preview._stats is not None, timeout=5_000)
    assert window.preview._stats is not None and window.preview._stats.engine == "mesh (instead of onnx)"

    # Back to the built-in engine: the preview goes on, nothing says "instead of" any more.
    window.panel.engine_combo.setCurrentIndex(window.panel.engine_combo.findData("mesh"))
    window.panel.engine_combo.activated.emit(window.panel.engine_combo.currentIndex())
    _wait_for_new_frames(qtbot, window, 5)
    qtbot.waitUntil(lambda: window.panel.engine_in_use.text() == "In use: Built-in", timeout=5_000)

    # The dismissed message stays reachable.
    window.error_bar.dismiss()
    assert window.messages_button.isVisible()
    window.messages_button.click()
    assert isinstance(window.active_dialog, MessageLogDialog)
    assert "Download model…" in window.active_dialog.text.toPlainText()


class _BrokenSink:
    """An output that breaks after a few frames (as a full disk or a vanished device would)."""

    name = "test output"

    def __init__(self) -> None:
        self.frames = 0
        self.closed = False

    def send(self, result: FrameResult) -> None:
        self.frames += 1
        if self.frames > 3:
            raise OSError(28, "No space left on device")

    def close(self) -> None:
        self.closed = True


def test_a_failing_output_is_closed_and_reported_while_the_stream_and_preview_go_on(
    qtbot: Any, make_window: Any, hopper_clip: Path
) -> None:
    window = make_window(hopper_clip, stream=True, stream_port=0)
    _wait_for_new_frames(qtbot, window)
    assert window.panel.output_panel.stream.isChecked()
    stream = window.run.outputs.stream
    assert stream is not None
    broken = _BrokenSink()
    window.runner.add_sink(broken)  # type: ignore[union-attr]
    qtbot.waitUntil(lambda: broken.closed, timeout=5_000)
    qtbot.waitUntil(lambda: "test output output failed" in window.error_bar.label.text(), timeout=5_000)
    assert "No space left on device" in window.error_bar.label.text()
    _wait_for_new_frames(qtbot, window, 10)
    # The stream still serves fresh frames over HTTP, and the preview still moves.
    snapshot_url = stream.url.replace("stream.mjpg", "snapshot.jpg")
    first = urllib.request.urlopen(snapshot_url, timeout=5).read()
    _wait_for_new_frames(qtbot, window, 5)
    second = urllib.request.urlopen(snapshot_url, timeout=5).read()
    assert first[:2] == b"\xff\xd8" and first != second
    assert broken.frames == 4 and "On: http://127.0.0.1:" in window.panel.output_panel.stream_state.text()


class _SlowModelStore(ModelStore):
    """The real model store on a slow disk: finding that the neural model is missing lasts until `loaded` is set."""

    def __init__(self, **options: Any) -> None:
        super().__init__(**options)
        self.loaded = threading.Event()

    def fetch(self, name: str, *, accept_licence: bool = False, progress: Any = None) -> Path:
        if name != "face_landmarker":
            self.loaded.wait(timeout=10)
        return super().fetch(name, accept_licence=accept_licence, progress=progress)


def test_switching_the_source_while_the_engine_loads_keeps_one_processing_thread(
    qtbot: Any,
    make_window: Any,
    hopper_clip: Path,
    astronaut_clip: Path,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path / "data"))  # an empty model folder: no neural model
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    store = _SlowModelStore(show_progress=False)
    window = make_window(hopper_clip, engine="onnx", model_store=store)
    counts = []
    for source in (astronaut_clip, hopper_clip, astronaut_clip):  # the engine is still loading
        window.run.use_source(str(source))
        counts.append(window.runner.processing_threads_alive)  # type: ignore[union-attr]
        counts.append([thread.name for thread in threading.enumerate()].count("faceswap-processing"))
    store.loaded.set()
    _wait_for_new_frames(qtbot, window, 10)
    assert window.runner is not None and "astronaut.mp4" in window.runner.source_description
    counts.append([thread.name for thread in threading.enumerate()].count("faceswap-processing"))
    assert counts == [1] * 7


def test_removing_the_live_face_while_streaming_asks_first(
    qtbot: Any, make_window: Any, hopper_clip: Path, astronaut_path: Path
) -> None:
    from PySide6.QtWidgets import QMessageBox

    window = make_window(hopper_clip, stream=True, stream_port=0)
    entry_id = _add_live_face(qtbot, window, astronaut_path)

    window.faces.remove_target(entry_id)  # the right-click "Remove"
    box = window.active_dialog
    assert isinstance(box, QMessageBox) and "stream" in box.text()
    assert entry_id in window.gallery_widget.ids()
    _wait_for_new_frames(qtbot, window)
    assert (result := _latest(window)) is not None and result.swapped  # still masked while the question is open
    box.reject()
    assert entry_id in window.gallery_widget.ids()

    window.faces.select_target("")  # "No swap" also asks
    box = window.active_dialog
    assert isinstance(box, QMessageBox)
    box.reject()
    assert window.faces.current_id == entry_id

    window.faces.remove_target(entry_id)
    box = window.active_dialog
    assert isinstance(box, QMessageBox)
    show = next(button for button in box.buttons() if box.buttonRole(button) == QMessageBox.ButtonRole.AcceptRole)
    show.click()
    assert entry_id not in window.gallery_widget.ids()
    qtbot.waitUntil(lambda: "real face" in window.preview.banner, timeout=5_000)

    # Without an output on, nothing to ask: the removal is immediate.
    window.run.outputs.set_stream(False)
    other = _add_live_face(qtbot, window, astronaut_path)
    window.faces.remove_target(other)
    assert other not in window.gallery_widget.ids()


def test_a_banner_says_whenever_viewers_see_the_real_face(
    qtbot: Any, make_window: Any, hopper_clip: Path, astronaut_path: Path, empty_room_clip: Path
) -> None:
    window = make_window(hopper_clip)
    _wait_for_new_frames(qtbot, window)
    assert "“No swap”" in window.preview.banner  # no face chosen yet
    _add_live_face(qtbot, window, astronaut_path)
    qtbot.waitUntil(lambda: window.preview.banner == "", timeout=5_000)

    window.swap_action.trigger()  # Ctrl+Space: swap off
    qtbot.waitUntil(lambda: "swap is off" in window.preview.banner, timeout=5_000)
    window.swap_action.trigger()
    qtbot.waitUntil(lambda: window.preview.banner == "", timeout=5_000)

    window.set_preview_mode("original")
    assert "Original view" in window.preview.banner
    window.set_preview_mode("output")
    qtbot.waitUntil(lambda: window.preview.banner == "", timeout=5_000)

    # The face leaves the picture: after a moment, the banner says so.
    window.run.use_source(str(empty_room_clip))
    qtbot.waitUntil(lambda: "no face found" in window.preview.banner, timeout=10_000)
    # The banner is painted across the top of the picture.
    image = window.preview.grab().toImage()
    colour = image.pixelColor(image.width() // 2, 4)
    assert colour.red() > 150 and colour.green() < 80


def test_newcomer_guidance_and_a_window_that_fits_a_small_screen(
    qtbot: Any, make_window: Any, hopper_clip: Path
) -> None:
    window = make_window(hopper_clip)
    assert window.gallery_hint.isVisible() and "Add face" in window.gallery_hint.text()
    combo = window.panel.source_combo
    assert combo.itemText(0) == "No camera found"
    assert window.panel.faces_combo.currentText() == "One face (the largest)"
    assert not window.panel.resolution_combo.isEnabled() and not window.panel.fps_combo.isEnabled()
    assert window.gallery_widget.minimumHeight() >= 2 * 100
    hint = window.minimumSizeHint()
    assert hint.width() <= 1280 and hint.height() <= 770, hint
    window.resize(1280, 770)
    qtbot.wait(50)
    panel = window.panel
    right_edge = panel.mapTo(window, panel.rect().topRight()).x()
    assert right_edge <= window.width()


def test_output_settings_apply_and_are_remembered(
    qtbot: Any, make_window: Any, hopper_clip: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("HOME", str(tmp_path / "home"))  # recordings go to ~/Videos (or ~) by default
    (tmp_path / "home").mkdir()
    window = make_window(hopper_clip)
    _wait_for_new_frames(qtbot, window)
    outputs = window.panel.output_panel
    assert not outputs.stream_warning.isVisible()
    outputs.stream_port.setValue(18765)
    outputs.stream_port.editingFinished.emit()
    outputs.stream_network.click()  # other computers may watch: the warning says what that means
    assert outputs.stream_warning.isVisible() and "network" in outputs.stream_warning.text()
    outputs.virtual_camera_size.setCurrentIndex(outputs.virtual_camera_size.findText("1280 × 720"))
    outputs.virtual_camera_size.activated.emit(outputs.virtual_camera_size.currentIndex())
    outputs.stream.click()
    qtbot.waitUntil(lambda: window.run.outputs.stream is not None, timeout=5_000)
    assert window.run.outputs.stream.port == 18765 and window.run.outputs.stream.host == "0.0.0.0"  # type: ignore[union-attr]
    assert "On: http://" in outputs.stream_state.text()
    outputs.record_button.click()
    assert window.run.outputs.recording is not None and "Stop" in outputs.record_button.text()
    recording = window.run.outputs.recording
    qtbot.waitUntil(lambda: "00:01" in outputs.record_state.text(), timeout=10_000)
    assert "kB" in outputs.record_state.text() or "MB" in outputs.record_state.text()
    outputs.record_button.click()
    assert recording.path.is_file() and recording.path.parent == tmp_path / "home"
    assert window.run.outputs.recording is None
    window.close()

    again = make_window(hopper_clip)
    outputs = again.panel.output_panel
    assert outputs.stream.isChecked() and outputs.stream_port.value() == 18765 and outputs.stream_network.isChecked()
    assert outputs.virtual_camera_size.currentText() == "1280 × 720"
    assert outputs.record_file.text() == recording.path.name and "Start" in outputs.record_button.text()
