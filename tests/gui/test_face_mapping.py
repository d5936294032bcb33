"""Face mapping in the app: click a face in the preview, pick a gallery face for that person, or leave them as is."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from PySide6.QtCore import QPoint, Qt

from faceswap_live.config import AppConfig, CaptureConfig, save_config
from faceswap_live.gallery import CONSENT_STATEMENT, TargetGallery
from faceswap_live.gui.face_mapping import LEAVE_AS_IS, MIX_FACES
from faceswap_live.gui.main_window import MainWindow
from faceswap_live.types import FrameResult


def _latest(window: MainWindow) -> FrameResult | None:
    return window.runner.latest_result() if window.runner is not None else None


def _click_face_and_choose(qtbot: Any, window: MainWindow, choice: str) -> None:
    result = window.preview.result
    assert result is not None and result.faces
    box = result.faces[0].box
    area = window.preview.frame_rect()
    height, width = result.output_bgr.shape[:2]
    point = QPoint(
        round(area.left() + (box.x0 + box.x1) / 2 * area.width() / width),
        round(area.top() + (box.y0 + box.y1) / 2 * area.height() / height),
    )
    qtbot.mouseClick(window.preview, Qt.MouseButton.LeftButton, pos=point)
    menu = window.face_mapping.menu
    assert menu is not None and menu.isVisible()
    next(action for action in menu.actions() if action.text() == choice).trigger()
    menu.close()


def test_clicking_a_face_gives_that_person_a_gallery_face_and_takes_it_back(
    qtbot: Any, tmp_path: Path, landmark_model_path: Path, hopper_clip: Path, astronaut_path: Path
) -> None:
    config_path = tmp_path / "settings" / "config.toml"
    save_config(AppConfig(capture=CaptureConfig(source=str(hopper_clip))), config_path)
    TargetGallery(root=tmp_path / "targets").add(
        astronaut_path,
        "Astronaut",
        0,
        consent_confirmed=True,
        statement=CONSENT_STATEMENT,
        model_path=landmark_model_path,
    )
    window = MainWindow(
        config_path=config_path, gallery_root=tmp_path / "targets", landmark_model_path=landmark_model_path, cameras=[]
    )
    qtbot.addWidget(window)
    window.show()
    try:
        # No face chosen for everyone: the preview shows the person as they are.
        qtbot.waitUntil(lambda: window.preview.result is not None and bool(window.preview.result.faces), timeout=20_000)
        qtbot.waitUntil(lambda: bool(window.faces.mapping_choices()), timeout=20_000)  # the gallery face is loaded
        assert not window.preview.result.swapped

        _click_face_and_choose(qtbot, window, "Astronaut")
        qtbot.waitUntil(lambda: (r := _latest(window)) is not None and r.swapped, timeout=15_000)

        qtbot.waitUntil(lambda: window.preview.result is not None and window.preview.result.swapped, timeout=15_000)
        # That person is swapped although "No swap" is chosen for everyone: no real-face warning for them.
        qtbot.waitUntil(lambda: window.preview.banner == "", timeout=5_000)
        _click_face_and_choose(qtbot, window, LEAVE_AS_IS)
        qtbot.waitUntil(lambda: (r := _latest(window)) is not None and bool(r.faces) and not r.swapped, timeout=15_000)
        qtbot.waitUntil(lambda: "“No swap”" in window.preview.banner, timeout=5_000)
    finally:
        window.shutdown()


def test_a_person_can_get_a_mix_of_two_gallery_faces(
    qtbot: Any, tmp_path: Path, landmark_model_path: Path, hopper_clip: Path, astronaut_path: Path, hopper_path: Path
) -> None:
    config_path = tmp_path / "settings" / "config.toml"
    save_config(AppConfig(capture=CaptureConfig(source=str(hopper_clip))), config_path)
    gallery = TargetGallery(root=tmp_path / "targets")
    for photo, name in ((astronaut_path, "Astronaut"), (hopper_path, "Hopper")):
        gallery.add(photo, name, 0, consent_confirmed=True, statement=CONSENT_STATEMENT, model_path=landmark_model_path)
    window = MainWindow(
        config_path=config_path, gallery_root=tmp_path / "targets", landmark_model_path=landmark_model_path, cameras=[]
    )
    qtbot.addWidget(window)
    window.show()
    try:
        qtbot.waitUntil(lambda: window.preview.result is not None and bool(window.preview.result.faces), timeout=20_000)
        qtbot.waitUntil(lambda: len(window.faces.mapping_choices()) == 2, timeout=20_000)
        _click_face_and_choose(qtbot, window, MIX_FACES)
        dialog = window.face_mapping.mix_dialog
        assert dialog is not None and dialog.isVisible()
        first = window.faces.mapping_choices()[dialog.first.currentIndex()][1]
        dialog.slider.setValue(0)
        assert dialog.morph() is first  # 0 % of the second face: exactly the first
        dialog.slider.setValue(40)
        mixed = dialog.morph()
        assert mixed is not first and mixed.image_bgr.shape == first.image_bgr.shape
        dialog.accept()
        qtbot.waitUntil(lambda: (r := _latest(window)) is not None and r.swapped, timeout=15_000)
    finally:
        window.shutdown()
