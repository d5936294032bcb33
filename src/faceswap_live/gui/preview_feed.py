"""Feeds the preview: the runner's newest result at display rate, with a banner whenever viewers see the real face; four
times a second the profile for the overlay, the speed in the status bar and the engine really in use in the panel.

The runner's threads are polled (latest_result every ~16 ms): no Qt signal per frame. GUI thread only.
"""

from __future__ import annotations

import time

from PySide6.QtCore import QObject, Qt, QTimer, Signal
from PySide6.QtWidgets import QLabel

from faceswap_live.engines.registry import find_engine
from faceswap_live.gui.gallery_actions import GalleryActions
from faceswap_live.gui.gallery_widget import NO_TARGET
from faceswap_live.gui.overlay import OverlayStats
from faceswap_live.gui.preview import PreviewWidget
from faceswap_live.gui.run_controller import RunController
from faceswap_live.gui.settings_panel import SettingsPanel
from faceswap_live.runtime.runner import PASS_THROUGH, EngineFallbackError

PREVIEW_INTERVAL_MS = 16
STATS_INTERVAL_MS = 250
NO_FACE_BANNER_S = 1.0
"""After this long without a swapped face, the preview says that viewers see the real face."""
PASS_THROUGH_LABEL = "none: frames pass through unchanged"


class PreviewFeed(QObject):
    """quit_after_frames: emit enough_frames once this many processed frames have been shown (scripted checks)."""

    enough_frames = Signal()

    def __init__(
        self,
        run: RunController,
        faces: GalleryActions,
        preview: PreviewWidget,
        panel: SettingsPanel,
        source_label: QLabel,
        speed_label: QLabel,
        quit_after_frames: int = 0,
    ) -> None:
        super().__init__(preview)
        self._run, self._faces, self._preview, self._panel = run, faces, preview, panel
        self._source_label, self._speed_label = source_label, speed_label
        self._quit_after_frames = quit_after_frames
        self.frames_shown = 0
        self._last_result_id = 0
        self._last_swapped_at = time.monotonic()
        self._preview_timer = QTimer(self)
        self._preview_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._preview_timer.timeout.connect(self._poll_result)
        self._stats_timer = QTimer(self)
        self._stats_timer.timeout.connect(self.refresh_stats)
        run.source_opened.connect(self._source_opened)
        run.source_failed.connect(self._source_failed)
        run.error.connect(self._error)

    def start(self) -> None:
        self._preview_timer.start(PREVIEW_INTERVAL_MS)
        self._stats_timer.start(STATS_INTERVAL_MS)

    def stop(self) -> None:
        """The preview holds the frame it shows."""
        self._preview_timer.stop()
        self._stats_timer.stop()

    def _source_opened(self, description: str) -> None:
        self._preview.set_message("" if self._preview.result is not None else "Waiting for the first frame…")
        self._source_label.setText(f"Input: {description}")
        runner = self._run.runner
        if runner is not None and runner.source_format is not None:
            self._panel.show_source_format(*runner.source_format)

    def _source_failed(self, message: str) -> None:
        self._preview.set_result(None)
        self._preview.set_message(message, offer_video_file=True)
        self._source_label.setText("No input")

    def _error(self, error: object) -> None:
        if isinstance(error, EngineFallbackError):
            self._show_engine_in_use(error.engine_in_use)

    def _poll_result(self) -> None:
        runner = self._run.runner
        if runner is None:
            return
        result = runner.latest_result()
        if result is None or id(result) == self._last_result_id:
            return
        self._last_result_id = id(result)
        if self._preview.message:  # frames flow: "starting", "no camera" and the like are no longer true
            self._preview.set_message("")
        self._preview.set_result(result)
        self.update_banner()
        self.frames_shown += 1
        if self._quit_after_frames and self.frames_shown >= self._quit_after_frames:
            self._quit_after_frames = 0
            self.enough_frames.emit()

    def real_face_reason(self, swapped: bool, faces_found: bool) -> str:
        """Why viewers (or the user, in Original view) see the real face now; "" when they see a swapped one."""
        if self._preview.mode == "original":
            return "Original view: this preview shows your real camera picture"
        if self._run.passing_through:
            return "Viewers see your real face: the face pipeline is not running"
        if not self._run.config.swap.enabled:
            return "Viewers see your real face: the swap is off (Ctrl+Space)"
        if self._faces.current_id == NO_TARGET and not swapped:  # a person given their own face is swapped
            return "Viewers see your real face: “No swap” is chosen"
        if swapped:
            self._last_swapped_at = time.monotonic()
            return ""
        if time.monotonic() - self._last_swapped_at < NO_FACE_BANNER_S:
            return ""  # a blink or a hand in front of the face: not worth a warning
        return "Viewers see your real face: " + ("the face is not swapped yet" if faces_found else "no face found")

    def update_banner(self) -> None:
        """Say (or stop saying) on the preview that viewers see the real face, for the result shown."""
        result = self._preview.result
        swapped, faces_found = result is not None and result.swapped, result is not None and bool(result.faces)
        self._preview.set_banner(self.real_face_reason(swapped, faces_found))

    def refresh_stats(self) -> None:
        runner = self._run.runner
        if runner is None or not runner.running:
            return
        snapshot = runner.profile_snapshot()
        engine = runner.engine_in_use
        self._show_engine_in_use(engine)
        chosen = self._run.config.swap.engine
        stats = OverlayStats(
            snapshot=snapshot,
            dropped_frames=runner.dropped_frames,
            provider=runner.provider,
            engine=(engine if engine == chosen else f"{engine} (instead of {chosen})") if engine else "starting",
            source=runner.source_description,
        )
        self._preview.set_stats(stats)
        self._speed_label.setText(f"{snapshot.fps:.1f} fps · {snapshot.latency.p50_ms:.0f} ms latency")

    def _show_engine_in_use(self, engine: str) -> None:
        if not engine:
            self._panel.set_engine_in_use("Starting…", differs=False)
            return
        chosen = self._run.config.swap.engine
        label = PASS_THROUGH_LABEL if engine == PASS_THROUGH else find_engine(engine).short_label
        if engine == chosen:
            self._panel.set_engine_in_use(f"In use: {label}", differs=False)
        else:
            self._panel.set_engine_in_use(
                f"In use: {label} (the {find_engine(chosen).short_label} engine could not start, see Messages)",
                differs=True,
            )
