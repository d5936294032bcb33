"""The Output box of the side panel: virtual camera (device, size), MJPEG stream (port, who may watch), recording
(file, start/stop, elapsed time and size) and the visible AI label.

Like the rest of the panel it only shows state and emits requests; the window and its OutputController act on them.
"""

from __future__ import annotations

from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtWidgets import (
    QCheckBox,
    QComboBox,
    QFormLayout,
    QGroupBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QPushButton,
    QSpinBox,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from faceswap_live.config import OutputConfig, replace

VIRTUAL_CAMERA_SIZES = (
    (0, 0, "Same as the input"),
    (640, 480, "640 × 480"),
    (1280, 720, "1280 × 720"),
    (1920, 1080, "1920 × 1080"),
)
LOOPBACK_HOST = "127.0.0.1"
NETWORK_HOST = "0.0.0.0"
NETWORK_WARNING = "Anyone on your network who knows the address can watch this stream."


def find_data(combo: QComboBox, value: object) -> int:
    """Index of the item whose data equals value, or -1. QComboBox.findData compares Python tuples by identity."""
    return next((index for index in range(combo.count()) if combo.itemData(index) == value), -1)


def _state_label() -> QLabel:
    label = QLabel("Off")
    label.setWordWrap(True)
    label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
    label.setStyleSheet("color: #a8b0c0;")
    return label


class OutputPanel(QGroupBox):
    """GUI thread only. Emits settings through settings_changed(OutputConfig) and switches through *_requested."""

    settings_changed = Signal(object)
    virtual_camera_requested = Signal(bool)
    stream_requested = Signal(bool)
    recording_requested = Signal(bool)
    record_file_requested = Signal()
    label_off_requested = Signal()
    label_on_requested = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__("Output", parent)
        self._output = OutputConfig()
        self._loading = False
        self._recording = False
        layout = QVBoxLayout(self)

        self.virtual_camera = QCheckBox("Virtual camera  (Ctrl+Shift+V)")
        self.virtual_camera_device = QLineEdit()
        self.virtual_camera_device.setPlaceholderText("automatic")
        self.virtual_camera_device.setToolTip('Device, e.g. /dev/video10 or "OBS Virtual Camera"; empty = automatic')
        self.virtual_camera_size = QComboBox()
        for width, height, text in VIRTUAL_CAMERA_SIZES:
            self.virtual_camera_size.addItem(text, (width, height))
        self.virtual_camera_state = _state_label()
        camera_form = QFormLayout()
        camera_form.addRow("Device", self.virtual_camera_device)
        camera_form.addRow("Size", self.virtual_camera_size)
        layout.addWidget(self.virtual_camera)
        layout.addLayout(camera_form)
        layout.addWidget(self.virtual_camera_state)

        self.stream = QCheckBox("Stream to a browser or OBS (MJPEG)")
        self.stream_port = QSpinBox()
        self.stream_port.setRange(1024, 65535)
        self.stream_port.setToolTip("The port the stream listens on")
        self.stream_network = QCheckBox("Other computers may watch")
        self.stream_network.setToolTip(NETWORK_WARNING)
        self.stream_warning = QLabel(f"⚠ {NETWORK_WARNING}")
        self.stream_warning.setWordWrap(True)
        self.stream_warning.setStyleSheet("color: #ffb36b;")
        self.stream_state = _state_label()
        port_row = QHBoxLayout()
        port_row.addWidget(QLabel("Port"))
        port_row.addWidget(self.stream_port)
        port_row.addStretch(1)
        layout.addWidget(self.stream)
        layout.addLayout(port_row)
        layout.addWidget(self.stream_network)
        layout.addWidget(self.stream_warning)
        layout.addWidget(self.stream_state)

        self.record_button = QPushButton("● Start recording")
        self.record_file = QLineEdit()
        self.record_file.setReadOnly(True)
        self.record_file.setToolTip("The file the next recording goes to")
        self.record_browse = QToolButton()
        self.record_browse.setText("…")
        self.record_browse.setToolTip("Choose the recording's file name")
        self.record_state = _state_label()
        file_row = QHBoxLayout()
        file_row.addWidget(self.record_file, 1)
        file_row.addWidget(self.record_browse)
        layout.addWidget(self.record_button)
        layout.addLayout(file_row)
        layout.addWidget(self.record_state)

        self.ai_label = QCheckBox('"AI-modified" label on the output')
        self.ai_label.setToolTip("Tells viewers the face is computer-generated. Turning it off asks first.")
        layout.addWidget(self.ai_label)

        self.virtual_camera.clicked.connect(self._virtual_camera_clicked)
        self.stream.clicked.connect(self._stream_clicked)
        self.record_button.clicked.connect(lambda: self.recording_requested.emit(not self._recording))
        self.record_browse.clicked.connect(self.record_file_requested)
        self.ai_label.clicked.connect(self._label_clicked)
        self.virtual_camera_device.editingFinished.connect(self._emit)
        self.virtual_camera_size.activated.connect(self._emit)
        self.stream_port.editingFinished.connect(self._emit)
        self.stream_network.clicked.connect(self._emit)

    # --- showing state ---

    def set_output(self, output: OutputConfig) -> None:
        """Show these settings without emitting anything."""
        self._output = output
        self._loading = True
        try:
            self.virtual_camera.setChecked(output.virtual_camera)
            self.virtual_camera_device.setText(output.virtual_camera_device)
            size = (output.virtual_camera_width, output.virtual_camera_height)
            index = find_data(self.virtual_camera_size, size)
            if index < 0:
                self.virtual_camera_size.addItem(f"{size[0]} × {size[1]}", size)
                index = self.virtual_camera_size.count() - 1
            self.virtual_camera_size.setCurrentIndex(index)
            self.stream.setChecked(output.stream)
            self.stream_port.setValue(output.stream_port or 8765)
            network = output.stream_host not in ("127.0.0.1", "localhost", "::1")
            self.stream_network.setChecked(network)
            self.stream_warning.setVisible(network)
        finally:
            self._loading = False

    def set_virtual_camera_state(self, text: str) -> None:
        self.virtual_camera_state.setText(text)

    def set_stream_state(self, text: str) -> None:
        self.stream_state.setText(text)

    def set_recording(self, recording: bool, state: str, file_name: str) -> None:
        self._recording = recording
        self.record_button.setText("■ Stop recording" if recording else "● Start recording")
        self.record_browse.setEnabled(not recording)
        self.record_file.setText(Path(file_name).name if file_name else "")
        self.record_file.setToolTip(file_name or "The file the next recording goes to")
        self.record_state.setText(state)

    def build_output(self) -> OutputConfig:
        width, height = self.virtual_camera_size.currentData()
        return replace(
            self._output,
            virtual_camera_device=self.virtual_camera_device.text().strip(),
            virtual_camera_width=width,
            virtual_camera_height=height,
            stream_port=self.stream_port.value(),
            stream_host=NETWORK_HOST if self.stream_network.isChecked() else LOOPBACK_HOST,
        )

    # --- user actions ---

    def _emit(self, *_args: object) -> None:
        if self._loading:
            return
        self.stream_warning.setVisible(self.stream_network.isChecked())
        new = self.build_output()
        if new != self._output:
            self._output = new
            self.settings_changed.emit(new)

    def _virtual_camera_clicked(self, checked: bool) -> None:
        blocked = self.virtual_camera.blockSignals(True)
        self.virtual_camera.setChecked(self._output.virtual_camera)  # the window decides once it has tried
        self.virtual_camera.blockSignals(blocked)
        self.virtual_camera_requested.emit(checked)

    def _stream_clicked(self, checked: bool) -> None:
        self.stream.setChecked(self._output.stream)
        self.stream_requested.emit(checked)

    def _label_clicked(self, checked: bool) -> None:
        if checked:
            self.label_on_requested.emit()
            return
        self.ai_label.setChecked(True)  # stays on until the user confirms in the dialog
        self.label_off_requested.emit()
