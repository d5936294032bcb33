"""The side panel: source, engine (with model state), swap controls, output. Turns widget changes into new configs.

The panel never applies anything itself: every change emits config_changed(AppConfig) with a complete new frozen
config; the main window hands it to the runner and saves it. Actions that need more than a config (picking a file,
opening the virtual camera, confirming the label removal, downloading a model) are emitted as requests.
"""

from __future__ import annotations

import dataclasses
import math
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, Qt, Signal
from PySide6.QtWidgets import (
    QAbstractSlider,
    QAbstractSpinBox,
    QApplication,
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QLabel,
    QProgressBar,
    QPushButton,
    QScrollArea,
    QSlider,
    QVBoxLayout,
    QWidget,
)

from faceswap_live.config import AppConfig, OutputConfig, replace
from faceswap_live.engines.registry import ENGINE_CHOICES as ENGINES
from faceswap_live.gui.output_panel import OutputPanel, find_data

RESOLUTIONS = ((640, 480), (1280, 720), (1920, 1080))
FRAME_RATES = (15.0, 24.0, 30.0, 60.0)
VIDEO_FILE_ITEM = "__video_file__"
NO_CAMERA_ITEM = "__no_camera__"
MAX_FACES = 8
FILE_SIZE_TOOLTIP = "A video file plays at its own size and frame rate"
# Smoothing strength s in [0, 1] maps to the One Euro minimum cut-off: 3 Hz (light) down to 0.3 Hz (steady).
SMOOTHING_LIGHT_HZ = 3.0
SMOOTHING_STEADY_HZ = 0.3


def smoothing_strength(min_cutoff_hz: float) -> float:
    """Slider position (0–1) for a One Euro minimum cut-off."""
    ratio = math.log(SMOOTHING_LIGHT_HZ / min_cutoff_hz) / math.log(SMOOTHING_LIGHT_HZ / SMOOTHING_STEADY_HZ)
    return min(1.0, max(0.0, ratio))


def min_cutoff_for_strength(strength: float) -> float:
    """One Euro minimum cut-off (Hz) for a slider position (0–1)."""
    return float(SMOOTHING_LIGHT_HZ * (SMOOTHING_STEADY_HZ / SMOOTHING_LIGHT_HZ) ** strength)


def _slider(maximum: int, tooltip: str) -> QSlider:
    slider = QSlider(Qt.Orientation.Horizontal)
    slider.setRange(0, maximum)
    slider.setToolTip(tooltip)
    return slider


class _WheelScrollsPast(QObject):
    """Event filter: a wheel turned over a control that has not been clicked (no focus) scrolls `scroll_bar`."""

    def __init__(self, scroll_bar: QWidget, parent: QObject) -> None:
        super().__init__(parent)
        self._scroll_bar = scroll_bar

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:  # noqa: N802 - Qt API
        if event.type() == QEvent.Type.Wheel and isinstance(watched, QWidget) and not watched.hasFocus():
            QApplication.sendEvent(self._scroll_bar, event)
            return True
        return False


class SettingsPanel(QScrollArea):
    """Scrollable settings column. GUI thread only."""

    config_changed = Signal(object)
    video_file_requested = Signal()
    model_download_requested = Signal()
    virtual_camera_requested = Signal(bool)
    stream_requested = Signal(bool)
    recording_requested = Signal(bool)
    record_file_requested = Signal()
    label_off_requested = Signal()

    def __init__(self, config: AppConfig, cameras: list[tuple[str, str]], parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWidgetResizable(True)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self._config = config
        self._cameras = cameras
        self._loading = False
        self._file_format: tuple[int, int, float] | None = None
        content = QWidget()
        column = QVBoxLayout(content)
        column.setContentsMargins(8, 8, 8, 8)
        column.addWidget(self._build_source())
        column.addWidget(self._build_engine())
        column.addWidget(self._build_swap())
        column.addWidget(self._build_output())
        column.addStretch(1)
        self.setWidget(content)
        self.setMinimumWidth(300)
        # The mouse wheel scrolls the column: over a list, slider or number it would change a setting the pointer
        # merely passed on the way down (and save it). Such a control takes the wheel once it has been clicked.
        self._wheel_guard = _WheelScrollsPast(self.verticalScrollBar(), self)
        for control in (
            *content.findChildren(QComboBox),
            *content.findChildren(QAbstractSlider),
            *content.findChildren(QAbstractSpinBox),
        ):
            control.setFocusPolicy(Qt.FocusPolicy.StrongFocus)
            control.installEventFilter(self._wheel_guard)
        self.set_config(config)

    # --- building ---

    def _build_source(self) -> QGroupBox:
        box = QGroupBox("Source")
        form = QFormLayout(box)
        self.source_combo = QComboBox()
        self.source_combo.setToolTip("Camera, or a video file that plays like a camera")
        self.resolution_combo = QComboBox()
        self.fps_combo = QComboBox()
        self.low_light = QCheckBox("Brighten a dark camera (low light)")
        self.low_light.setToolTip(
            "Lifts a dim picture before the face is found and swapped; a bright one is left alone"
        )
        form.addRow("Input", self.source_combo)
        form.addRow("Size", self.resolution_combo)
        form.addRow("Rate", self.fps_combo)
        form.addRow(self.low_light)
        self.source_combo.activated.connect(self._source_activated)
        self.resolution_combo.activated.connect(self._emit)
        self.fps_combo.activated.connect(self._emit)
        self.low_light.toggled.connect(self._emit)
        return box

    def _build_engine(self) -> QGroupBox:
        box = QGroupBox("Engine")
        layout = QVBoxLayout(box)
        self.engine_combo = QComboBox()
        for value, label in ENGINES:
            self.engine_combo.addItem(label, value)
        self.model_state = QLabel("")
        self.model_state.setWordWrap(True)
        self.model_state.setTextFormat(Qt.TextFormat.RichText)
        self.model_progress = QProgressBar()
        self.model_progress.hide()
        self.download_button = QPushButton("Download model…")
        self.download_button.hide()
        self.download_button.clicked.connect(self.model_download_requested)
        self.engine_in_use = QLabel("")
        self.engine_in_use.setWordWrap(True)
        layout.addWidget(self.engine_combo)
        layout.addWidget(self.engine_in_use)
        layout.addWidget(self.model_state)
        layout.addWidget(self.model_progress)
        layout.addWidget(self.download_button)
        self.engine_combo.activated.connect(self._emit)
        return box

    def _build_swap(self) -> QGroupBox:
        box = QGroupBox("Swap")
        form = QFormLayout(box)
        self.swap_enabled = QCheckBox("Swap face  (Ctrl+Space)")
        self.faces_combo = QComboBox()
        self.faces_combo.setToolTip("Which faces to swap (more faces cost time per frame)")
        self.faces_combo.addItem("One face (the largest)", ("largest", 1))
        for count in range(2, MAX_FACES + 1):
            self.faces_combo.addItem(f"Up to {count} faces", ("all", count))
        self.feather = _slider(50, "Width of the soft edge around the face")
        self.smoothing = _slider(100, "Steadier landmarks (right) or quicker response (left); 0 = off")
        self.colour_match = QCheckBox("Match skin colour")
        self.colour_match.setToolTip(
            "The swapped face takes your skin tone and your room's light and shade;"
            " the photo's own shadows are taken out"
        )
        self.mouth_from_user = QCheckBox("Keep my mouth")
        self.mouth_from_user.setToolTip("Your real mouth and teeth show through when you speak")
        self.eyes_from_user = QCheckBox("Keep my eyes")
        self.poisson = QCheckBox("Poisson blend (smoother seams, slower)")
        form.addRow(self.swap_enabled)
        form.addRow("Faces", self.faces_combo)
        form.addRow("Edge", self.feather)
        form.addRow("Steady", self.smoothing)
        form.addRow(self.colour_match)
        form.addRow(self.mouth_from_user)
        form.addRow(self.eyes_from_user)
        form.addRow(self.poisson)
        for checkbox in (self.swap_enabled, self.colour_match, self.mouth_from_user, self.eyes_from_user, self.poisson):
            checkbox.toggled.connect(self._emit)
        self.faces_combo.activated.connect(self._emit)
        # Sliders apply when released (or moved by keyboard), not on every pixel of a drag.
        for slider in (self.feather, self.smoothing):
            slider.sliderReleased.connect(self._emit)
            slider.valueChanged.connect(lambda _value, s=slider: None if s.isSliderDown() else self._emit())
        return box

    def _build_output(self) -> OutputPanel:
        self.output_panel = OutputPanel()
        self.virtual_camera = self.output_panel.virtual_camera
        self.virtual_camera_state = self.output_panel.virtual_camera_state
        self.ai_label = self.output_panel.ai_label
        self.output_panel.settings_changed.connect(self._output_changed)
        self.output_panel.virtual_camera_requested.connect(self.virtual_camera_requested)
        self.output_panel.stream_requested.connect(self.stream_requested)
        self.output_panel.recording_requested.connect(self.recording_requested)
        self.output_panel.record_file_requested.connect(self.record_file_requested)
        self.output_panel.label_off_requested.connect(self.label_off_requested)
        self.output_panel.label_on_requested.connect(lambda: self.set_label(True))
        return self.output_panel

    # --- config ⇄ widgets ---

    @property
    def config(self) -> AppConfig:
        return self._config

    def set_cameras(self, cameras: list[tuple[str, str]]) -> None:
        self._cameras = cameras
        self.set_config(self._config)

    def set_config(self, config: AppConfig) -> None:
        """Show `config` in the widgets without emitting config_changed."""
        if config.capture.source != self._config.capture.source:
            self._file_format = None  # until the new input opens
        self._config = config
        self._loading = True
        try:
            self._fill_sources(config.capture.source)
            self._show_capture_format()
            self._select_data(self.engine_combo, config.swap.engine)
            swap = config.swap
            self.swap_enabled.setChecked(swap.enabled)
            faces = ("largest", 1) if swap.faces == "largest" or config.landmarks.max_faces == 1 else None
            self._select_data(self.faces_combo, faces or ("all", config.landmarks.max_faces))
            self.low_light.setChecked(config.low_light.enabled)
            self.feather.setValue(round(swap.mask_feather * 100))
            smoothing = config.smoothing
            self.smoothing.setValue(
                round(smoothing_strength(smoothing.min_cutoff_hz) * 100) if smoothing.enabled else 0
            )
            self.colour_match.setChecked(swap.colour_match)
            self.mouth_from_user.setChecked(swap.mouth_from_user)
            self.eyes_from_user.setChecked(swap.eyes_from_user)
            self.poisson.setChecked(swap.blend_mode == "poisson")
            self.output_panel.set_output(config.output)
            self.ai_label.setChecked(config.marking.label_enabled)
        finally:
            self._loading = False

    def show_source_format(self, width: int, height: int, fps: float) -> None:
        """The input that opened plays at this size and rate: shown (greyed) under Size and Rate while it is a file."""
        self._set_file_format((width, height, fps))

    def _set_file_format(self, file_format: tuple[int, int, float] | None) -> None:
        """Size and Rate shown again with this file format (None: not known until the input opens), silently."""
        self._file_format = file_format
        self._loading = True
        try:
            self._show_capture_format()
        finally:
            self._loading = False

    def _show_capture_format(self) -> None:
        """Size and Rate: for a camera, the choices with the configured one selected; for a file, its own format
        (once it has opened), greyed: a file plays as it is."""
        capture = self._config.capture
        is_file = self._is_file(capture.source)
        self.resolution_combo.clear()
        self.fps_combo.clear()
        if is_file:
            width, height, fps = self._file_format or (capture.width, capture.height, capture.fps)
            self.resolution_combo.addItem(f"{width} × {height}", (width, height))
            self.fps_combo.addItem(f"{fps:.4g} fps", fps)
        else:
            for size in RESOLUTIONS:
                self.resolution_combo.addItem(f"{size[0]} × {size[1]}", size)
            for rate in FRAME_RATES:
                self.fps_combo.addItem(f"{rate:g} fps", rate)
            self._select_data(self.resolution_combo, (capture.width, capture.height), add_label=True)
            self._select_data(self.fps_combo, capture.fps, add_label=True)
        for combo in (self.resolution_combo, self.fps_combo):
            combo.setEnabled(not is_file)
            combo.setToolTip(FILE_SIZE_TOOLTIP if is_file else "")

    def _fill_sources(self, current: str) -> None:
        self.source_combo.clear()
        for value, label in self._cameras:
            self.source_combo.addItem(label, value)
        if not self._cameras:
            self.source_combo.addItem("No camera found", NO_CAMERA_ITEM)
            model = self.source_combo.model()
            item = model.item(0) if hasattr(model, "item") else None
            if item is not None:
                item.setEnabled(False)
        if self._is_file(current):
            self.source_combo.addItem(f"File: {Path(current).name}", current)
        elif self.source_combo.findData(current) < 0:
            self.source_combo.addItem(f"Camera {current}", current)
        self.source_combo.insertSeparator(self.source_combo.count())
        self.source_combo.addItem("Video file…", VIDEO_FILE_ITEM)
        self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(current)))

    @staticmethod
    def _is_file(source: str) -> bool:
        return not source.isdigit() and not source.startswith("/dev/")

    @staticmethod
    def _select_data(combo: QComboBox, value: object, add_label: bool = False) -> None:
        index = find_data(combo, value)
        if index < 0 and add_label:
            label = f"{value[0]} × {value[1]}" if isinstance(value, tuple) else f"{value:g} fps"
            combo.addItem(label, value)
            index = combo.count() - 1
        combo.setCurrentIndex(max(0, index))

    def build_config(self) -> AppConfig:
        """A new config from the widgets (the current one where a widget has no say)."""
        config = self._config
        source = self.source_combo.currentData()
        if source in (VIDEO_FILE_ITEM, NO_CAMERA_ITEM) or source is None:
            source = config.capture.source
        capture = replace(config.capture, source=str(source))
        if self.resolution_combo.isEnabled():  # greyed, they show a file's own format, not the camera's request
            width, height = self.resolution_combo.currentData()
            capture = replace(capture, width=width, height=height, fps=self.fps_combo.currentData())
        strength = self.smoothing.value() / 100
        smoothing = replace(
            config.smoothing,
            enabled=strength > 0,
            min_cutoff_hz=min_cutoff_for_strength(strength) if strength > 0 else config.smoothing.min_cutoff_hz,
        )
        faces, max_faces = self.faces_combo.currentData()
        swap = replace(
            config.swap,
            enabled=self.swap_enabled.isChecked(),
            engine=self.engine_combo.currentData(),
            faces=faces,
            mask_feather=self.feather.value() / 100,
            colour_match=self.colour_match.isChecked(),
            mouth_from_user=self.mouth_from_user.isChecked(),
            eyes_from_user=self.eyes_from_user.isChecked(),
            blend_mode="poisson" if self.poisson.isChecked() else "alpha",
        )
        landmarks = replace(config.landmarks, max_faces=max_faces)
        low_light = replace(config.low_light, enabled=self.low_light.isChecked())
        return dataclasses.replace(
            config, capture=capture, smoothing=smoothing, swap=swap, landmarks=landmarks, low_light=low_light
        )

    def _emit(self, *_args: object) -> None:
        if self._loading:
            return
        new = self.build_config()
        if new != self._config:
            source_changed = new.capture.source != self._config.capture.source
            self._config = new
            if source_changed:  # a camera's choices, or a file's format once it opens
                self._set_file_format(None)
            self.config_changed.emit(new)

    def _source_activated(self, _index: int) -> None:
        if self.source_combo.currentData() == VIDEO_FILE_ITEM:
            self._loading = True
            self.source_combo.setCurrentIndex(max(0, self.source_combo.findData(self._config.capture.source)))
            self._loading = False
            self.video_file_requested.emit()
            return
        self._emit()

    def _output_changed(self, output: OutputConfig) -> None:
        new = dataclasses.replace(self._config, output=output)
        if new != self._config:
            self._config = new
            self.config_changed.emit(new)

    def set_label(self, visible: bool) -> None:
        """Switch the visible AI label in the config (after confirmation when turning it off) and emit."""
        new = dataclasses.replace(self._config, marking=replace(self._config.marking, label_enabled=visible))
        self.set_config(new)
        self.config_changed.emit(new)

    def set_model_state(self, html: str, progress: tuple[int, int] | None = None, can_download: bool = False) -> None:
        """Show a model's state; progress = (bytes done, total) while downloading."""
        self.model_state.setText(html)
        self.model_progress.setVisible(progress is not None)
        if progress is not None:
            done, total = progress
            self.model_progress.setRange(0, max(1, total // 1024) if total else 0)
            self.model_progress.setValue(done // 1024)
        self.download_button.setVisible(can_download)

    def set_virtual_camera_state(self, text: str) -> None:
        self.output_panel.set_virtual_camera_state(text)

    def show_virtual_camera(self, on: bool, state: str) -> None:
        """The virtual camera's switch and its state in words."""
        self.set_virtual_camera_state(state)
        self.virtual_camera.setChecked(on)

    def set_engine_in_use(self, text: str, differs: bool) -> None:
        """Say which engine really runs; highlighted when it is not the one chosen above."""
        self.engine_in_use.setText(text)
        self.engine_in_use.setStyleSheet("color: #ff9b5e; font-weight: bold;" if differs else "color: #a8b0c0;")
