"""The controller behind the window: owns the settings in use, the pipeline runner and (through OutputController) the
outputs. The window's widgets talk to it through plain methods; it answers through signals and never touches a widget.

Threads: GUI thread only. The runner's errors arrive from its worker threads through a queued signal.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal

from faceswap_live.config import AppConfig, load_config, replace, save_config
from faceswap_live.errors import ConfigError, FaceswapError
from faceswap_live.gui.model_controller import LazyModelStore
from faceswap_live.gui.output_controller import OutputController
from faceswap_live.inputs.capture import FrameSource, open_frame_source
from faceswap_live.models.store import ModelStore
from faceswap_live.runtime.runner import PASS_THROUGH, OutputFailedError, PipelineRunner
from faceswap_live.types import TargetFace

CLOSE_TIMEOUT_S = 0.9


class _ErrorBridge(QObject):
    """Carries errors from worker threads to the GUI thread (queued signal)."""

    raised = Signal(object)


def read_config(config_path: Path) -> tuple[AppConfig, str]:
    """The saved settings, or the defaults and the problem in words when the file cannot be used."""
    try:
        return load_config(config_path), ""
    except ConfigError as error:
        return AppConfig(), f"{error} Using the default settings for now."


class RunController(QObject):
    """Settings, runner and outputs of one window.

    config: the saved settings; source: a camera or video file for this run only (the saved setting is kept);
    open_source: how the runner opens config.capture.
    """

    error = Signal(object)
    """A problem to show the user (a FaceswapError or words)."""
    config_applied = Signal(object, object)
    """New settings are in use: (previous AppConfig, new AppConfig)."""
    source_opened = Signal(str)
    """The input runs: its description."""
    source_failed = Signal(str)
    """The input cannot open: why, in words."""

    def __init__(
        self,
        config_path: Path,
        config: AppConfig,
        source: str | None = None,
        open_source: Callable[[AppConfig], FrameSource] | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self.config_path = config_path
        self._saved_source = config.capture.source
        self._source_override = source
        if source is not None:
            config = dataclasses.replace(config, capture=replace(config.capture, source=str(source)))
        self._config = config
        self._open_source = open_source or (lambda config: open_frame_source(config.capture))
        self._runner: PipelineRunner | None = None
        self._target: TargetFace | None = None
        self._closing = False
        self._bridge = _ErrorBridge(self)
        self._bridge.raised.connect(self._runner_error)
        self.outputs = OutputController(config, self)
        self.outputs.error.connect(self.error)
        self.outputs.switched.connect(self._output_switched)

    @property
    def config(self) -> AppConfig:
        return self._config

    @property
    def runner(self) -> PipelineRunner | None:
        return self._runner

    @property
    def source_description(self) -> str:
        return self._runner.source_description if self._runner is not None else ""

    @property
    def engine_in_use(self) -> str:
        """The swap engine running now ("" while starting, PASS_THROUGH when the face pipeline is not running)."""
        return self._runner.engine_in_use if self._runner is not None else ""

    @property
    def passing_through(self) -> bool:
        return self.engine_in_use == PASS_THROUGH

    # --- runner ---

    def start_runner(self, landmark_model_path: Path, store: ModelStore | LazyModelStore) -> None:
        """Start the pipeline on the configured source, with the outputs the settings switch on."""
        if self._closing:
            return
        if self._runner is None:
            self._runner = PipelineRunner(
                self._config,
                landmark_model_path,
                store=store,
                on_error=self._bridge.raised.emit,
                open_source=self._open_source,
            )
        self._runner.set_target(self._target)
        self.outputs.set_runner(self._runner)
        self._start_source()
        if self._config.output.virtual_camera and self.outputs.virtual_camera is None:
            self.outputs.set_virtual_camera(True)
        if self._config.output.stream and self.outputs.stream is None:
            self.outputs.set_stream(True)

    def _start_source(self) -> None:
        """(Re)start the runner on the configured source; a source that cannot open becomes a message, not a crash."""
        runner = self._runner
        if runner is None:
            return
        try:
            runner.update_config(self._config)
            if not runner.running:
                runner.start()
        except FaceswapError as error:  # the camera cannot open (or the old pipeline is still stopping)
            if runner.running:
                runner.stop(timeout_s=CLOSE_TIMEOUT_S)
            self.source_failed.emit(str(error))
            return
        self.source_opened.emit(runner.source_description)

    def _runner_error(self, error: object) -> None:
        self.error.emit(error)
        if isinstance(error, OutputFailedError):
            self.outputs.refresh()

    def retry_engine(self) -> None:
        """The chosen engine's model is there now: try that engine again if another one stands in for it."""
        if self._runner is not None and self._runner.engine_in_use not in ("", self._config.swap.engine):
            self._runner.update_config(self._config)

    def shutdown(self) -> bool:
        """Stop the runner's threads (within about a second) and the outputs. True when every thread stopped."""
        self._closing = True
        stopped = True
        if self._runner is not None:
            stopped = self._runner.stop(timeout_s=CLOSE_TIMEOUT_S)  # also closes the output sinks
        self.outputs.close()
        return stopped

    # --- targets ---

    def set_target(self, target: TargetFace | None) -> None:
        """The face everyone in view gets (None: their own)."""
        self._target = target
        if self._runner is not None:
            self._runner.set_target(target)

    def set_face_target(self, track_id: int, target: TargetFace | None) -> None:
        """The face the person on this track gets (None: their own), whatever everyone else gets."""
        if self._runner is not None:
            self._runner.set_face_target(track_id, target)

    def clear_face_targets(self) -> None:
        if self._runner is not None:
            self._runner.clear_face_targets()

    # --- settings ---

    def apply_config(self, config: AppConfig) -> None:
        """Use new settings from the next frame on (the input reopens when it changed)."""
        previous, self._config = self._config, config
        if self._runner is not None:
            if config.capture != previous.capture or not self._runner.running:
                self._start_source()
            else:
                self._runner.update_config(config)
        self.config_applied.emit(previous, config)
        self.outputs.apply_config(config)

    def use_source(self, source: str) -> None:
        """Switch the input to a camera ("0", "/dev/video2") or a file path."""
        self.apply_config(dataclasses.replace(self._config, capture=replace(self._config.capture, source=str(source))))

    def set_swap_enabled(self, enabled: bool) -> None:
        if enabled != self._config.swap.enabled:
            self.apply_config(dataclasses.replace(self._config, swap=replace(self._config.swap, enabled=enabled)))

    def _output_switched(self, name: str, on: bool) -> None:
        output = self._config.output
        output = replace(output, virtual_camera=on) if name == "virtual_camera" else replace(output, stream=on)
        self.apply_config(dataclasses.replace(self._config, output=output))

    def save_config(self) -> None:
        """Write the settings file (the saved source stays when this run uses another one). Raises OSError."""
        config = self._config
        if self._source_override is not None and config.capture.source == self._source_override:
            config = dataclasses.replace(config, capture=replace(config.capture, source=self._saved_source))
        save_config(config, self.config_path)
