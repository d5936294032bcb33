"""Runs capture and processing on their own threads and hands results to outputs and the preview.

capture thread ──► LatestSlot ──► processing thread ──► latest result (preview polls it) + output sinks

Threads stop through an Event and are joined with a timeout; nothing is ever killed. Errors from either thread are
reported through `on_error` (called from that thread) and the app keeps going: a dead camera is reopened.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Protocol

from faceswap_live.config import AppConfig
from faceswap_live.engine.pipeline import ModelLocator, Pipeline
from faceswap_live.engine.slot import LatestSlot
from faceswap_live.errors import CameraError, FaceswapError
from faceswap_live.profiling import ProfileSnapshot, RollingProfile, time_stage
from faceswap_live.stages.capture import FrameSource, open_frame_source
from faceswap_live.types import Frame, FrameResult, TargetFace

logger = logging.getLogger(__name__)

RECONNECT_INTERVAL_S = 1.0


class ResultSink(Protocol):
    """What the runner needs of an output (virtual camera, stream, recorder): a send that never blocks."""

    name: str

    def send(self, result: FrameResult) -> None: ...

    def close(self) -> None: ...


class PipelineRunner:
    """Owns the two threads. Public methods are for the controlling (GUI/CLI) thread.

    on_error receives FaceswapErrors from the worker threads (call them once per distinct problem in the UI).
    """

    def __init__(
        self,
        config: AppConfig,
        landmark_model_path: Path,
        *,
        sinks: Sequence[ResultSink] = (),
        store: ModelLocator | None = None,
        on_error: Callable[[FaceswapError], None] | None = None,
        open_source: Callable[[AppConfig], FrameSource] = lambda config: open_frame_source(config.capture),
    ) -> None:
        self._config = config
        self._landmark_model_path = landmark_model_path
        self._sinks = list(sinks)
        self._store = store
        self._on_error = on_error or (lambda error: logger.error("%s", error))
        self._last_error_message = ""
        self._open_source = open_source
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []
        self._source: FrameSource | None = None
        self._pipeline: Pipeline | None = None
        self._target: TargetFace | None = None
        self._target_version = 0  # bumped on every set_target; the processing thread applies what it has not seen
        self._latest: FrameResult | None = None
        self._profile = RollingProfile()
        self._profile_lock = threading.Lock()
        self._source_ended = threading.Event()
        self.source_description = ""

    # --- control (GUI / CLI thread) ---

    def start(self) -> None:
        """Open the source (raises CameraError now, so the caller can show it) and start both threads."""
        if self._threads:
            return
        self._stop.clear()
        self._source_ended.clear()
        self._source = self._open_source(self._config)
        self.source_description = self._source.description
        self._threads = [
            threading.Thread(target=self._capture_loop, name="faceswap-capture", daemon=True),
            threading.Thread(target=self._processing_loop, name="faceswap-processing", daemon=True),
        ]
        for thread in self._threads:
            thread.start()

    def stop(self, timeout_s: float = 2.0) -> bool:
        """Stop and join both threads; close the sinks. True if everything stopped within the timeout."""
        stopped = self._stop_threads(timeout_s)
        for sink in self._sinks:
            try:
                sink.close()
            except Exception:  # a failing sink must not keep the others open
                logger.exception("Closing output %s failed", sink.name)
        return stopped

    def _stop_threads(self, timeout_s: float) -> bool:
        self._stop.set()
        self._slot.close()
        deadline = time.monotonic() + timeout_s
        stopped = True
        for thread in self._threads:
            thread.join(max(0.0, deadline - time.monotonic()))
            stopped &= not thread.is_alive()
        self._threads = []
        self._slot = LatestSlot()
        if not stopped:
            logger.warning("Worker threads did not stop within %.1f s", timeout_s)
        return stopped

    @property
    def running(self) -> bool:
        return any(thread.is_alive() for thread in self._threads)

    @property
    def finished(self) -> bool:
        """True when a non-looping file source has ended and its last frame has been processed."""
        return self._source_ended.is_set() and not self.running

    def wait_until_finished(self, timeout_s: float | None = None) -> bool:
        """Block until a finite source is fully processed (for headless file runs)."""
        if len(self._threads) < 2:
            return True
        self._threads[1].join(timeout_s)
        return not self._threads[1].is_alive()

    def update_config(self, config: AppConfig) -> None:
        """Apply new settings from the next frame on. A changed capture source reopens the camera."""
        previous, self._config = self._config, config
        if self._pipeline is not None:
            self._pipeline.update_config(config)
        if config.capture != previous.capture and self._threads:
            self._stop_threads(timeout_s=2.0)
            self.start()

    def set_target(self, target: TargetFace | None) -> None:
        """Switch the target face at the next frame (None: pass-through)."""
        self._target = target
        self._target_version += 1

    def set_face_target(self, track_id: int, target: TargetFace | None) -> None:
        """Give the person on this track their own target (None: their own face), from the next frame."""
        if self._pipeline is not None:
            self._pipeline.set_face_target(track_id, target)

    def clear_face_targets(self) -> None:
        """Everyone gets the main target again."""
        if self._pipeline is not None:
            self._pipeline.clear_face_targets()

    def add_sink(self, sink: ResultSink) -> None:
        self._sinks = [*self._sinks, sink]

    def remove_sink(self, sink: ResultSink) -> None:
        self._sinks = [existing for existing in self._sinks if existing is not sink]
        sink.close()

    def latest_result(self) -> FrameResult | None:
        """The newest processed frame (any thread; the preview polls this at display rate)."""
        return self._latest

    def profile_snapshot(self) -> ProfileSnapshot:
        with self._profile_lock:
            return self._profile.snapshot()

    @property
    def dropped_frames(self) -> int:
        return self._slot.dropped

    @property
    def provider(self) -> str:
        return self._pipeline.engine.provider if self._pipeline is not None else ""

    # --- worker threads ---

    def _report(self, error: FaceswapError) -> None:
        """Pass an error on once: a problem that repeats every frame must not flood the user."""
        if str(error) != self._last_error_message:
            self._last_error_message = str(error)
            self._on_error(error)

    def _capture_loop(self) -> None:
        index = 0
        slot = self._slot
        while not self._stop.is_set():
            source = self._source
            try:
                if source is None:
                    source = self._reopen_source()
                    if source is None:
                        continue
                image = source.read()
            except CameraError as error:
                self._report(error)
                self._close_source()
                continue
            if image is None:  # a file that does not loop has ended
                self._source_ended.set()
                slot.close()
                break
            self._last_error_message = ""  # frames flow again: a new failure is news
            slot.put(Frame(image_bgr=image, index=index, captured_at_s=time.perf_counter()))
            index += 1
        self._close_source()

    def _reopen_source(self) -> FrameSource | None:
        """Wait a moment and try the source again (a replugged camera comes back on its own)."""
        if self._stop.wait(RECONNECT_INTERVAL_S):
            return None
        try:
            self._source = self._open_source(self._config)
            logger.info("Reconnected to %s", self._source.description)
        except CameraError:
            return None
        return self._source

    def _close_source(self) -> None:
        source, self._source = self._source, None
        if source is not None:
            source.close()

    def _processing_loop(self) -> None:
        slot = self._slot
        try:
            pipeline = Pipeline(self._config, self._landmark_model_path, store=self._store)
        except FaceswapError as error:
            self._report(error)
            return
        except Exception as error:  # a bug must reach the user as a message, not kill the thread silently
            logger.exception("Starting the pipeline failed")
            self._report(FaceswapError(f"The face pipeline could not start: {error}"))
            return
        self._pipeline = pipeline
        applied_target_version = -1
        try:
            while not self._stop.is_set():
                if applied_target_version != self._target_version:
                    applied_target_version = self._target_version
                    pipeline.set_target(self._target)
                wait_ms: dict[str, float] = {}
                with time_stage(wait_ms, "capture_wait"):
                    frame = slot.take(timeout_s=0.1)
                if frame is None:
                    if self._source_ended.is_set():
                        break
                    continue
                try:
                    result = pipeline.process(frame)
                except FaceswapError as error:
                    self._report(error)
                    continue
                except Exception as error:  # keep the preview alive; report the first of a kind
                    logger.exception("Processing a frame failed")
                    self._report(FaceswapError(f"Processing a frame failed: {error}"))
                    continue
                result.stage_ms.update(wait_ms)
                with time_stage(result.stage_ms, "output"):
                    for sink in self._sinks:
                        sink.send(result)
                self._latest = result
                with self._profile_lock:
                    self._profile.add(result.stage_ms, result.latency_ms, result.finished_at_s)
        finally:
            self._pipeline = None
            pipeline.close()
