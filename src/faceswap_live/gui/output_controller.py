"""Owns the outputs while the app runs: the virtual camera, the MJPEG stream and the recording. Opens them as sinks of
the runner, reports their state in words (device; address and viewers; file, elapsed time and size) for the settings
panel, and switches off one that failed, saying why once.

No frame passes through here: the runner sends frames to the sinks from its processing thread. GUI thread only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, Signal

from faceswap_live.config import AppConfig, OutputConfig
from faceswap_live.errors import FaceswapError, VirtualCameraError
from faceswap_live.outputs.mjpeg_stream import MjpegStreamSink
from faceswap_live.outputs.recorder import RecordingSink
from faceswap_live.runtime.runner import PipelineRunner, ResultSink

if TYPE_CHECKING:
    from faceswap_live.outputs.virtual_camera import VirtualCameraSink

HEALTH_INTERVAL_MS = 250


def format_size(size_bytes: int) -> str:
    if size_bytes >= 1_000_000_000:
        return f"{size_bytes / 1e9:.2f} GB"
    if size_bytes >= 1_000_000:
        return f"{size_bytes / 1e6:.1f} MB"
    return f"{size_bytes / 1e3:.0f} kB"


def format_elapsed(seconds: float) -> str:
    whole = int(seconds)
    return (
        f"{whole // 3600}:{whole // 60 % 60:02d}:{whole % 60:02d}"
        if whole >= 3600
        else f"{whole // 60:02d}:{whole % 60:02d}"
    )


@dataclass
class _Recording:
    sink: RecordingSink
    started_at_s: float


class OutputController(QObject):
    """The outputs of one window. The runner is set once it exists (outputs opened before wait for it)."""

    error = Signal(object)
    """A problem to show the user (a FaceswapError)."""
    switched = Signal(str, bool)
    """An output's saved switch in [output] should change: ("virtual_camera" | "stream", on)."""
    virtual_camera_shown = Signal(bool, str)
    """The virtual camera's switch (on) and state in words."""
    stream_shown = Signal(str)
    """The stream's state in words."""
    recording_shown = Signal(bool, str, str)
    """Whether it records, the state in words, and the file it records (or will record) to."""
    recording_saved = Signal(str)
    """A recording was finished: where it is, in words."""
    record_path_changed = Signal()

    def __init__(self, config: AppConfig, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._config = config
        self._runner: PipelineRunner | None = None
        self.virtual_camera: VirtualCameraSink | None = None
        self.stream: MjpegStreamSink | None = None
        self._recording: _Recording | None = None
        self.record_path: Path | None = None
        """The file chosen for the next recording (or the last one), remembered across runs."""
        self._health_timer = QTimer(self)
        self._health_timer.timeout.connect(self._check_health)

    def set_runner(self, runner: PipelineRunner) -> None:
        """Outputs opened before the runner existed start receiving frames now."""
        self._runner = runner
        for sink in (self.virtual_camera, self.stream, self.recording):
            if sink is not None and sink not in runner.sinks:
                runner.add_sink(sink)
        self._health_timer.start(HEALTH_INTERVAL_MS)

    def apply_config(self, config: AppConfig) -> None:
        """New settings: a stream whose port or host changed, or a virtual camera whose device or size changed, opens
        anew."""
        previous, self._config = self._config.output, config
        output = config.output
        if self.stream is not None and (previous.stream_port, previous.stream_host) != (
            output.stream_port,
            output.stream_host,
        ):
            self._stop_stream()
            self.set_stream(True)
        if self.virtual_camera is not None and _virtual_camera_changed(previous, output):
            self._close_virtual_camera()
            self.set_virtual_camera(True)

    @property
    def recording(self) -> RecordingSink | None:
        return self._recording.sink if self._recording is not None else None

    def _attach(self, sink: ResultSink) -> None:
        if self._runner is not None:
            self._runner.add_sink(sink)

    def _detach(self, sink: ResultSink) -> None:
        if self._runner is not None and sink in self._runner.sinks:
            self._runner.remove_sink(sink)  # also closes it
        else:
            sink.close()

    # --- virtual camera ---

    def set_virtual_camera(self, enabled: bool) -> None:
        """Open or close the virtual camera; a missing driver is explained once and the switch stays off."""
        if enabled and self.virtual_camera is None:
            from faceswap_live.outputs.virtual_camera import VirtualCameraSink  # pyvirtualcam loads only when asked for

            capture, output = self._config.capture, self._config.output
            try:
                sink = VirtualCameraSink(
                    output.virtual_camera_width or capture.width,
                    output.virtual_camera_height or capture.height,
                    capture.fps,
                    backend=output.virtual_camera_backend or None,
                    device=output.virtual_camera_device or None,
                )
            except VirtualCameraError as error:
                self.error.emit(error)
                self.virtual_camera_shown.emit(False, "Not available (see the message above the preview).")
                return
            self.virtual_camera = sink
            self._attach(sink)
            self.virtual_camera_shown.emit(True, sink.status())
        elif not enabled:
            self._close_virtual_camera()
        if self._config.output.virtual_camera != enabled:
            self.switched.emit("virtual_camera", enabled)

    def _close_virtual_camera(self) -> None:
        sink, self.virtual_camera = self.virtual_camera, None
        if sink is not None:
            self._detach(sink)
        self.virtual_camera_shown.emit(False, "Off")

    # --- stream ---

    def set_stream(self, enabled: bool) -> None:
        """Start or stop the MJPEG stream on the configured port and host; a busy port is explained, switch off."""
        if enabled and self.stream is None:
            output = self._config.output
            try:
                self.stream = MjpegStreamSink(output.stream_host, output.stream_port, output.stream_quality)
            except FaceswapError as error:
                self.error.emit(error)
                enabled = False
            else:
                self._attach(self.stream)
        elif not enabled:
            self._stop_stream()
        if self._config.output.stream != enabled:
            self.switched.emit("stream", enabled)
        self.refresh()

    def _stop_stream(self) -> None:
        sink, self.stream = self.stream, None
        if sink is not None:
            self._detach(sink)

    def _stream_state(self) -> str:
        if self.stream is None:
            return "Off"
        viewers = self.stream.clients
        return f"On: {self.stream.url} · {viewers} viewer{'' if viewers == 1 else 's'}"

    # --- recording ---

    def default_record_path(self) -> Path:
        folder = self.record_path.parent if self.record_path is not None else Path.home() / "Videos"
        if not folder.is_dir():
            folder = Path.home()
        return folder / time.strftime("faceswap-live-%Y%m%d-%H%M%S.mp4")

    def set_record_path(self, path: Path) -> None:
        """Record to this file next time (an MP4)."""
        self.record_path = path.with_suffix(".mp4")
        self.refresh()
        self.record_path_changed.emit()

    def set_recording(self, enabled: bool) -> None:
        """Start recording the output to the chosen file (a new time-stamped name each time by default), or stop.

        H.264 MP4 sized like the input; a file that cannot be written is explained and nothing starts."""
        if enabled and self._recording is None:
            path = self.record_path if self.record_path is not None and not self.record_path.exists() else None
            path = path or self.default_record_path()
            capture = self._config.capture
            try:
                sink = RecordingSink(path, capture.fps, capture.width, capture.height)
            except FaceswapError as error:
                self.error.emit(error)
            else:
                self._recording = _Recording(sink, time.monotonic())
                self._attach(sink)
                self.record_path = path
        elif not enabled:
            stopped = self._stop_recording()
            if stopped is not None:
                self.recording_saved.emit(f"Saved the recording to {stopped.path}")
        self.refresh()
        self.record_path_changed.emit()

    def _stop_recording(self) -> RecordingSink | None:
        recording, self._recording = self._recording, None
        if recording is None:
            return None
        self._detach(recording.sink)
        return recording.sink

    def _recording_state(self) -> str:
        recording = self._recording
        if recording is None:
            return "Not recording"
        sink = recording.sink
        path = sink.path if sink.finished else sink.part_path
        try:
            size = path.stat().st_size
        except OSError:
            size = 0
        return f"● Recording {format_elapsed(time.monotonic() - recording.started_at_s)} · {format_size(size)}"

    # --- health ---

    def _check_health(self) -> None:
        """While frames flow: close an output that stopped on its own (the runner removed it after it raised, or it
        recorded an error of its own) and show the others' state."""
        runner = self._runner
        if runner is None or not runner.running:
            return
        sink = self.virtual_camera
        if sink is not None:
            if sink.error is not None:
                self.error.emit(sink.error)
                self._close_virtual_camera()
            elif sink not in runner.sinks:  # the runner closed it after it raised (reported already)
                self._close_virtual_camera()
            else:
                self.virtual_camera_shown.emit(True, sink.status())
        self.refresh()

    def refresh(self) -> None:
        """Show the stream's and the recording's state; an output that failed is switched off in the panel."""
        runner_sinks = self._runner.sinks if self._runner is not None and self._runner.running else None
        if self.stream is not None and runner_sinks is not None and self.stream not in runner_sinks:
            self.stream = None
            if self._config.output.stream:
                self.switched.emit("stream", False)
        recording = self._recording
        if recording is not None:
            error, removed = recording.sink.error, runner_sinks is not None and recording.sink not in runner_sinks
            if error is not None or removed:
                self._stop_recording()
                if error is not None:
                    self.error.emit(error)
        recording_sink = self.recording
        shown_path = recording_sink.path if recording_sink is not None else self.record_path
        self.stream_shown.emit(self._stream_state())
        self.recording_shown.emit(recording_sink is not None, self._recording_state(), str(shown_path or ""))

    def live_outputs(self) -> list[str]:
        """The outputs on now (what viewers may be watching), in words."""
        outputs = {"virtual camera": self.virtual_camera, "stream": self.stream, "recording": self._recording}
        return [name for name, output in outputs.items() if output is not None]

    def close(self) -> None:
        """Stop every output (closing twice is harmless: the runner, when stopped, has closed the ones it held)."""
        self._health_timer.stop()
        self._stop_stream()
        self._stop_recording()
        self._close_virtual_camera()


def _virtual_camera_changed(previous: OutputConfig, output: OutputConfig) -> bool:
    """Whether the virtual camera must open anew for these settings (another device or size)."""
    return (previous.virtual_camera_device, previous.virtual_camera_width, previous.virtual_camera_height) != (
        output.virtual_camera_device,
        output.virtual_camera_width,
        output.virtual_camera_height,
    )
