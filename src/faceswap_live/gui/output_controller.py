"""Owns the stream and the recording while the app runs: opens them as sinks of the runner, reports their state in
words (address and viewers; file, elapsed time and size) and notices when one failed.

No frame passes through here: the runner sends frames to the sinks from its processing thread. GUI thread only.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from faceswap_live.config import AppConfig
from faceswap_live.errors import FaceswapError
from faceswap_live.outputs.mjpeg_stream import MjpegStreamSink
from faceswap_live.outputs.recorder import RecordingSink
from faceswap_live.runtime.runner import PipelineRunner


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


class OutputController:
    """Stream and recording of one window. The runner is set once it exists (outputs wait for it)."""

    def __init__(self) -> None:
        self._runner: PipelineRunner | None = None
        self.stream: MjpegStreamSink | None = None
        self._recording: _Recording | None = None

    def set_runner(self, runner: PipelineRunner) -> None:
        """Outputs opened before the runner existed start receiving frames now."""
        self._runner = runner
        for sink in (self.stream, self.recording):
            if sink is not None and sink not in runner.sinks:
                runner.add_sink(sink)

    @property
    def recording(self) -> RecordingSink | None:
        return self._recording.sink if self._recording is not None else None

    def _attach(self, sink: Any) -> None:
        if self._runner is not None:
            self._runner.add_sink(sink)

    def _detach(self, sink: Any) -> None:
        if self._runner is not None and sink in self._runner.sinks:
            self._runner.remove_sink(sink)
        else:
            sink.close()

    # --- stream ---

    def start_stream(self, config: AppConfig) -> MjpegStreamSink:
        """Serve the output on config.output's host and port. Raises OutputError (port in use, unknown host)."""
        self.stop_stream()
        output = config.output
        self.stream = MjpegStreamSink(output.stream_host, output.stream_port, output.stream_quality)
        self._attach(self.stream)
        return self.stream

    def stop_stream(self) -> None:
        sink, self.stream = self.stream, None
        if sink is not None:
            self._detach(sink)

    def stream_state(self) -> str:
        if self.stream is None:
            return "Off"
        viewers = self.stream.clients
        return f"On: {self.stream.url} · {viewers} viewer{'' if viewers == 1 else 's'}"

    # --- recording ---

    def start_recording(self, path: Path, config: AppConfig) -> RecordingSink:
        """Record the output to path (H.264 MP4), sized like the input. Raises OutputError when it cannot."""
        self.stop_recording()
        capture = config.capture
        sink = RecordingSink(path, capture.fps, capture.width, capture.height)
        self._recording = _Recording(sink, time.monotonic())
        self._attach(sink)
        return sink

    def stop_recording(self) -> RecordingSink | None:
        recording, self._recording = self._recording, None
        if recording is None:
            return None
        self._detach(recording.sink)
        return recording.sink

    def recording_state(self) -> str:
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

    def failures(self) -> list[tuple[str, FaceswapError | None]]:
        """Outputs that stopped on their own since the last call ("stream" / "recording", the error if known).

        An output the runner removed (it raised) or one that recorded an error of its own is closed here.
        """
        failed: list[tuple[str, FaceswapError | None]] = []
        runner_sinks = self._runner.sinks if self._runner is not None and self._runner.running else None
        if self.stream is not None and runner_sinks is not None and self.stream not in runner_sinks:
            self.stream = None
            failed.append(("stream", None))
        recording = self._recording
        if recording is not None:
            error = recording.sink.error
            removed = runner_sinks is not None and recording.sink not in runner_sinks
            if error is not None or removed:
                self.stop_recording()
                failed.append(("recording", error))
        return failed

    def active(self) -> list[str]:
        """The outputs that viewers may be watching now, in words."""
        return [
            name for name, on in (("stream", self.stream is not None), ("recording", self._recording is not None)) if on
        ]

    def close(self) -> None:
        self.stop_stream()
        self.stop_recording()
