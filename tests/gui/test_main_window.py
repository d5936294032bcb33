"""The desktop app on the offscreen platform, with a video file standing in for the webcam (public-domain faces).

What a user would notice: frames flow into the preview, a face added from a photo (after the consent dialog) is
swapped in, switching faces never stalls the preview, the swap switch and settings act on the next frames, the
profiling overlay shows in the preview but never in what outputs receive, problems appear once in the window, and
closing stops every worker thread within a second.
"""

from __future__ import annotations

import dataclasses
import threading
import time
from pathlib import Path
from typing import Any, ClassVar

import cv2
import numpy as np
import pytest
import pyvirtualcam
from PySide6.QtWidgets import QMessageBox

from faceswap_live import __version__
from faceswap_live.config import load_config
from faceswap_live.gui.dialogs import ConsentDialog, FacePickerDialog, LabelOffDialog
from faceswap_live.gui.main_window import MainWindow
from faceswap_live.types import FrameResult


def _latest(window: MainWindow) -> FrameResult | None:
    return window.runner.latest_result() if window.runner is not None else None


def _wait_for_frames(qtbot: Any, window: MainWindow, count: int = 3) -> None:
    seen: set[int] = set()

    def enough() -> bool:
        result = _latest(window)
        if result is not None:
            seen.add(result.source.index)
        return len(seen) >= count

    qtbot.waitUntil(enough, timeout=15_000)


def _face_difference(result: FrameResult) -> float:
    """Mean absolute difference between output and camera image inside the face box (0 = untouched face)."""
    box = result.faces[0].box
    region = (slice(max(0, box.y0), box.y1), slice(max(0, box.x0), box.x1))
    return float(np.abs(result.output_bgr[region].astype(np.int16) - result.source.image_bgr[region]).mean())


def _wait_for_result(qtbot: Any, window: MainWindow, condition: Any, after_index: int = -1) -> FrameResult:
    holder: list[FrameResult] = []

    def check() -> bool:
        result = _latest(window)
        if result is not None and result.source.index > after_index and result.faces and condition(result):
            holder.append(result)
            return True
        return False

    qtbot.waitUntil(check, timeout=15_000)
    return holder[-1]


def _add_face(qtbot: Any, window: MainWindow, photo: Path, pick_index: int | None = None) -> str:
    """Add a face the way a user does: photo → (pick a face) → consent dialog → ticked and confirmed."""
    before = set(window.gallery_widget.ids())
    window.faces.add_target_from_file(photo)
    if pick_index is not None:
        qtbot.waitUntil(lambda: isinstance(window.active_dialog, FacePickerDialog), timeout=20_000)
        picker = window.active_dialog
        assert isinstance(picker, FacePickerDialog)
        chooser = picker.chooser
        qtbot.mouseClick(chooser, _left_button(), pos=chooser.face_centre(pick_index).toPoint())
        assert picker.selected_index == pick_index
        picker.accept()
    qtbot.waitUntil(lambda: isinstance(window.active_dialog, ConsentDialog), timeout=20_000)
    dialog = window.active_dialog
    assert isinstance(dialog, ConsentDialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()  # nothing is added without ticking the confirmation
    dialog.confirm_and_accept()
    qtbot.waitUntil(lambda: len(set(window.gallery_widget.ids()) - before) == 1, timeout=20_000)
    (new_id,) = set(window.gallery_widget.ids()) - before
    return new_id


def _left_button() -> Any:
    from PySide6.QtCore import Qt

    return Qt.MouseButton.LeftButton


def test_add_faces_switch_without_stalling_and_toggle_swap(
    qtbot: Any, make_window: Any, hopper_clip: Path, clip_frames: int, astronaut_path: Path, hopper_path: Path
) -> None:
    pytest.importorskip("faceswap_live.gallery")
    window = make_window(hopper_clip)
    _wait_for_frames(qtbot, window)
    first = _latest(window)
    assert first is not None and not first.swapped  # no target yet: pass-through
    untouched = _face_difference(first)  # the invisible watermark alone

    astronaut_id = _add_face(qtbot, window, astronaut_path)
    on_astronaut = _wait_for_result(qtbot, window, lambda result: result.swapped)
    astronaut_change = _face_difference(on_astronaut)
    assert astronaut_change > 12  # a different person's face is on the user

    hopper_id = _add_face(qtbot, window, hopper_path)
    assert window.gallery_widget.ids() == ["", astronaut_id, hopper_id]
    # The smiling astronaut photo's note shows on its gallery item and when it is picked; Hopper's neutral one has
    # none.
    tips = {
        item_id: window.gallery_widget.item(row).toolTip() for row, item_id in enumerate(window.gallery_widget.ids())
    }
    assert "\nthis photo smiles: a neutral photo" in tips[astronaut_id]
    assert "photo" not in tips[hopper_id]

    # Switching between loaded faces is instant and the preview keeps receiving new frames meanwhile.
    window.faces.select_target(astronaut_id)
    assert "This photo smiles: a neutral photo" in window.target_state.text()
    assert "more photos of the same person help too" in window.target_state.text()
    # Frames already on their way when the face was switched may still carry Hopper (she was picked on adding her):
    # only results after the first one that follows the switch are the astronaut's.
    switched_at = _latest(window).source.index  # type: ignore[union-attr]
    settled_at = _wait_for_result(qtbot, window, lambda result: True, after_index=switched_at).source.index
    astronaut_outputs: dict[int, np.ndarray] = {}

    def collect_astronaut() -> bool:
        result = _latest(window)
        if result is not None and result.swapped and result.source.index > settled_at:
            astronaut_outputs[result.source.index % clip_frames] = result.output_bgr
        return len(astronaut_outputs) >= 8

    qtbot.waitUntil(collect_astronaut, timeout=15_000)
    frames_before = window.preview.frames_painted
    window.faces.select_target(hopper_id)
    assert window.target_state.text().startswith("Swapping to")  # loaded already: no waiting
    started_index = _latest(window).source.index  # type: ignore[union-attr]
    # One frame may already be in processing with the old face (and under load the camera may have moved several
    # frames on meanwhile): every result after the first new one has the new face.
    first_after = _wait_for_result(qtbot, window, lambda result: True, after_index=started_index)
    on_hopper = _wait_for_result(
        qtbot,
        window,
        lambda result: result.swapped and result.source.index % clip_frames in astronaut_outputs,
        after_index=first_after.source.index,
    )
    qtbot.waitUntil(lambda: window.preview.frames_painted > frames_before + 5, timeout=5_000)
    # The same camera frame now carries a different face.
    same_frame_on_astronaut = astronaut_outputs[on_hopper.source.index % clip_frames]
    box = on_hopper.faces[0].box
    region = (slice(max(0, box.y0), box.y1), slice(max(0, box.x0), box.x1))
    assert np.abs(on_hopper.output_bgr[region].astype(np.int16) - same_frame_on_astronaut[region]).mean() > 8

    # Ctrl+Space turns the swap off: the user's own face, untouched, from the next frames on.
    window.swap_action.trigger()
    off = _wait_for_result(qtbot, window, lambda result: not result.swapped)
    # Only the invisible watermark (a few grey levels) remains on the user's own face, as before any face was chosen.
    assert _face_difference(off) < min(4.0, untouched + 0.5) < astronaut_change / 3
    assert "the swap is off" in window.target_state.text()  # the side panel does not claim it swaps
    window.swap_action.trigger()
    _wait_for_result(qtbot, window, lambda result: result.swapped, after_index=off.source.index)
    assert window.target_state.text().startswith("Swapping to")

    # The gallery and the chosen face come back after a restart.
    window.close()
    again = make_window(hopper_clip)
    assert again.gallery_widget.ids() == ["", astronaut_id, hopper_id]
    _wait_for_result(qtbot, again, lambda result: result.swapped)
    assert again.faces.current_id == hopper_id


def test_more_photos_of_a_face_are_drawn_when_they_match_the_users_expression(
    qtbot: Any,
    make_window: Any,
    monkeypatch: pytest.MonkeyPatch,
    astronaut_clip: Path,
    clip_frames: int,
    hopper_path: Path,
    astronaut_path: Path,
) -> None:
    """The camera shows the smiling astronaut; the gallery face is Grace Hopper (neutral). Adding the smiling photo as
    another photo of "her" (the gallery's "Add more photos of…") makes the smiling texture the one drawn, at once,
    and the gallery item says how many photos the face has."""
    window = make_window(astronaut_clip)
    _wait_for_frames(qtbot, window)
    hopper_id = _add_face(qtbot, window, hopper_path)
    before = _wait_for_result(qtbot, window, lambda result: result.swapped)
    # The face's right-click menu: "Add more photos of Hopper…", then the file dialog (answered here) hands on the
    # chosen photo.
    titles: list[str] = []
    monkeypatch.setattr(window.dialogs, "choose_photos", lambda title: titles.append(title) or [astronaut_path])
    item = window.gallery_widget.item(window.gallery_widget.ids().index(hopper_id))
    (add_more,) = [
        action
        for action in window.gallery_widget.menu_for(item).actions()
        if action.text().startswith("Add more photos of")
    ]
    add_more.trigger()
    assert titles == ["More photos of hopper (the same person)"]
    loaded = window.faces.loaded_targets
    qtbot.waitUntil(lambda: len(getattr(loaded.get(hopper_id), "more_photos", ())) == 1, timeout=20_000)
    row = window.gallery_widget.ids().index(hopper_id)
    assert "2 photos" in window.gallery_widget.item(row).toolTip()
    after = _wait_for_result(
        qtbot,
        window,
        lambda result: result.swapped and result.source.index % clip_frames == before.source.index % clip_frames,
        after_index=before.source.index + 10,
    )
    box = after.faces[0].box
    region = (slice(max(0, box.y0), box.y1), slice(max(0, box.x0), box.x1))
    # The same camera frame, now drawn from the smiling photo: a different face texture.
    assert np.abs(after.output_bgr[region].astype(np.int16) - before.output_bgr[region]).mean() > 8
    # The menu now also offers to go back to the first photo only, which takes the other photo away again.
    item = window.gallery_widget.item(window.gallery_widget.ids().index(hopper_id))
    (first_only,) = [
        action
        for action in window.gallery_widget.menu_for(item).actions()
        if action.text() == "Use only the first photo of hopper"
    ]
    first_only.trigger()
    qtbot.waitUntil(lambda: getattr(loaded.get(hopper_id), "more_photos", None) == (), timeout=20_000)
    assert "photos" not in window.gallery_widget.item(window.gallery_widget.ids().index(hopper_id)).toolTip()


def test_a_group_photo_lets_the_user_click_the_face(
    qtbot: Any,
    make_window: Any,
    hopper_clip: Path,
    tmp_path: Path,
    astronaut_bgr: np.ndarray,
    hopper_bgr: np.ndarray,
    landmark_model_path: Path,
) -> None:
    from faceswap_live.inputs.target_photo import find_faces_in_photo

    pytest.importorskip("faceswap_live.gallery")
    height = 512
    left = cv2.resize(astronaut_bgr, (height * astronaut_bgr.shape[1] // astronaut_bgr.shape[0], height))
    right = cv2.resize(hopper_bgr, (height * hopper_bgr.shape[1] // hopper_bgr.shape[0], height))
    pair = tmp_path / "pair.png"
    cv2.imwrite(str(pair), np.hstack([left, right]))
    window = make_window(hopper_clip)
    _wait_for_frames(qtbot, window)
    entry_id = _add_face(qtbot, window, pair, pick_index=1)
    _wait_for_result(qtbot, window, lambda result: result.swapped)
    entry = window.faces.gallery.get(entry_id)
    assert entry is not None and entry.face_index == 1  # the face the user clicked, not the largest
    clicked = find_faces_in_photo(cv2.imread(str(pair)), landmark_model_path)[1].box
    crop = window.faces.loaded_targets[entry_id].image_bgr  # the target the swap uses is cut around that face
    found = cv2.minMaxLoc(cv2.matchTemplate(cv2.imread(str(pair)), crop, cv2.TM_SQDIFF_NORMED))[2]
    centre_x, centre_y = found[0] + crop.shape[1] / 2, found[1] + crop.shape[0] / 2
    assert clicked.x0 <= centre_x <= clicked.x1 and clicked.y0 <= centre_y <= clicked.y1


def test_settings_apply_on_the_next_frames_and_persist(qtbot: Any, make_window: Any, hopper_clip: Path) -> None:
    window = make_window(hopper_clip)
    _wait_for_frames(qtbot, window)
    panel = window.panel
    panel.swap_enabled.click()
    assert window.runner is not None
    qtbot.waitUntil(lambda: not window.swap_action.isChecked())
    panel.feather.setValue(20)
    panel.poisson.click()
    panel.smoothing.setValue(0)
    config = window.config
    assert (config.swap.enabled, config.swap.mask_feather, config.swap.blend_mode) == (False, 0.2, "poisson")
    assert not config.smoothing.enabled
    # Saved shortly after the change (debounced), and shown again by a new window.
    saved_path = window.run.config_path
    qtbot.waitUntil(lambda: load_config(saved_path) == window.config, timeout=5_000)
    window.close()
    again = make_window(hopper_clip)
    assert not again.panel.swap_enabled.isChecked() and again.panel.poisson.isChecked()
    assert again.panel.feather.value() == 20 and again.panel.smoothing.value() == 0


def test_overlay_is_painted_in_the_preview_only(qtbot: Any, make_window: Any, hopper_clip: Path) -> None:
    window = make_window(hopper_clip)
    _wait_for_frames(qtbot, window, count=10)
    window.feed.refresh_stats()
    window.feed.stop()  # hold one frame still to compare the preview with and without the overlay
    result = _latest(window)
    assert result is not None
    output_before = result.output_bgr.copy()
    window.preview.set_result(result)
    plain = window.preview.grab().toImage()
    window.overlay_action.trigger()  # F3
    window.mesh_action.trigger()
    assert window.preview.overlay_enabled
    with_overlay = window.preview.grab().toImage()
    assert plain != with_overlay
    assert np.array_equal(result.output_bgr, output_before)  # the frame the outputs got is untouched
    window.overlay_action.trigger()
    assert window.preview.grab().toImage() == plain


class _RecordingVirtualCamera:
    """Stands in for the virtual camera driver (hardware seam): keeps what a call app would receive."""

    instances: ClassVar[list[_RecordingVirtualCamera]] = []

    def __init__(self, *, width: int, height: int, fps: float, fourcc: int, device: str | None, **_: Any) -> None:
        self.width, self.height, self.fourcc = width, height, fourcc
        self.frames: list[np.ndarray] = []
        self.lock = threading.Lock()
        _RecordingVirtualCamera.instances.append(self)

    def send(self, frame: np.ndarray) -> None:
        with self.lock:
            self.frames.append(frame.reshape(self.height, self.width, -1).copy())

    def close(self) -> None:
        pass

    def device(self) -> str:
        return "/dev/video-test"

    def native_fourcc(self) -> int:
        return self.fourcc


class _CollectingSink:
    name = "collector"

    def __init__(self) -> None:
        self.outputs: list[np.ndarray] = []

    def send(self, result: FrameResult) -> None:
        self.outputs.append(result.output_bgr)

    def close(self) -> None:
        pass


def test_virtual_camera_gets_frames_without_the_overlay(qtbot: Any, make_window: Any, hopper_clip: Path) -> None:
    pyvirtualcam.register_backend("gui-test-recording", _RecordingVirtualCamera)
    _RecordingVirtualCamera.instances.clear()
    try:
        window = make_window(hopper_clip, virtual_camera_backend="gui-test-recording")
        _wait_for_frames(qtbot, window)
        collector = _CollectingSink()
        window.runner.add_sink(collector)  # type: ignore[union-attr]
        window.set_overlay(True)
        window.virtual_camera_action.trigger()  # Ctrl+Shift+V
        assert window.panel.virtual_camera.isChecked()
        assert "/dev/video-test" in window.panel.virtual_camera_state.text()
        qtbot.waitUntil(lambda: len(_RecordingVirtualCamera.instances[0].frames) > 20, timeout=10_000)
        camera = _RecordingVirtualCamera.instances[0]
        with camera.lock:
            received = camera.frames[-5:]
        outputs = list(collector.outputs)
        for frame in received:  # every frame a call app sees is exactly a pipeline output: no overlay in it
            assert any(np.array_equal(frame[..., :3], output) for output in outputs)
        window.virtual_camera_action.trigger()
        assert not window.panel.virtual_camera.isChecked() and not window.config.output.virtual_camera
    finally:
        pyvirtualcam.camera.BACKENDS.pop("gui-test-recording", None)


def test_problems_show_once_and_the_app_keeps_going(
    qtbot: Any, make_window: Any, hopper_clip: Path, tmp_path: Path
) -> None:
    window = make_window(tmp_path / "no-camera-here.mp4")
    # No camera: a plain message in the preview and a one-click way to a video file instead.
    assert "neither a camera number nor an existing file" in window.preview.message
    assert window.preview._open_button.isVisible()
    window.run.use_source(str(hopper_clip))
    _wait_for_frames(qtbot, window)
    assert window.preview.message == ""

    # No virtual camera driver: explained once above the preview; the switch stays off; frames keep flowing.
    window.run.apply_config(
        dataclasses.replace(
            window.config, output=dataclasses.replace(window.config.output, virtual_camera_backend="no-such-backend")
        )
    )
    window.run.outputs.set_virtual_camera(True)
    window.run.outputs.set_virtual_camera(True)
    assert "virtual camera" in window.error_bar.label.text().lower()
    assert window.error_bar.isVisible() and not window.panel.virtual_camera.isChecked()
    index = _latest(window).source.index  # type: ignore[union-attr]
    _wait_for_result(qtbot, window, lambda result: True, after_index=index)
    window.error_bar.dismiss()
    window.run.outputs.set_virtual_camera(True)
    assert not window.error_bar.isVisible()  # a dismissed problem does not come back in this session


def test_turning_the_ai_label_off_needs_confirmation(qtbot: Any, make_window: Any, hopper_clip: Path) -> None:
    window = make_window(hopper_clip)
    assert window.panel.ai_label.isVisible()  # the switch is there
    assert window.panel.ai_label.isChecked()  # on by default
    window.panel.ai_label.click()
    assert window.panel.ai_label.isChecked()  # still on until confirmed
    dialog = window.active_dialog
    assert isinstance(dialog, LabelOffDialog)
    ok = dialog.buttons.button(dialog.buttons.StandardButton.Ok)
    assert not ok.isEnabled()
    dialog.confirm_box.setChecked(True)
    ok.click()
    assert not window.panel.ai_label.isChecked()
    assert window.config.marking.label_enabled is False  # and the switch turns the label off


def test_closing_stops_every_worker_thread_within_a_second(qtbot: Any, make_window: Any, hopper_clip: Path) -> None:
    window = make_window(hopper_clip)
    _wait_for_frames(qtbot, window)
    started = time.monotonic()
    window.close()
    deadline = started + 1.0
    while time.monotonic() < deadline and any(t.name.startswith("faceswap-") for t in threading.enumerate()):
        time.sleep(0.01)
    assert not [t.name for t in threading.enumerate() if t.name.startswith("faceswap-")]
    assert time.monotonic() - started < 1.0


def test_help_about_names_the_version_and_where_settings_and_faces_are_kept(
    make_window: Any, hopper_clip: Path
) -> None:
    window = make_window(hopper_clip)
    window.menu_actions.about.trigger()
    about = window.dialogs.active
    assert isinstance(about, QMessageBox) and about.isVisible()
    text = about.text()
    assert f"faceswap-live {__version__}" in text
    assert str(window.run.config_path) in text and str(window.faces.gallery.root) in text
    assert "AI-modified" in text and "verify" in text
    about.close()
