"""Runs capture and processing on their own threads and hands results to outputs and the preview.

capture thread ──► LatestSlot ──► processing thread ──► latest result (preview polls it) + output sinks

Threads stop through an Event and are joined with a timeout; nothing is ever killed. Errors from either thread are
reported through `on_error` (called from that thread), once per problem, and the app keeps going: a dead camera is
reopened, an engine that cannot start is replaced by the built-in one, a pipeline that cannot start passes frames
through unchanged, and an output that fails is closed while the others go on. There is never more than one processing
thread: switching the source restarts only the capture thread.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import Future
from pathlib import Path
from typing import Protocol, TypeVar

from faceswap_live.config import AppConfig
from faceswap_live.engines.base import ModelLocator
from faceswap_live.errors import CameraError, FaceswapError
from faceswap_live.inputs.capture import FrameSource, open_frame_source
from faceswap_live.profiling import ProfileSnapshot, RollingProfile, time_stage
from faceswap_live.runtime.pipeline import FoundFaces, Pipeline
from faceswap_live.runtime.slot import LatestSlot
from faceswap_live.types import Frame, FrameResult, TargetFace

logger = logging.getLogger(__name__)

ArgumentT = TypeVar("ArgumentT")
ResultT = TypeVar("ResultT")

RECONNECT_INTERVAL_S = 1.0
REPORT_AGAIN_AFTER_OK_S = 2.0
"""A problem is news again once its thread has worked for this long without it."""
PROCESSING_JOIN_S = 30.0
"""How long start() waits for a stopping processing thread (it may be loading a model) before starting anew."""
PASS_THROUGH = "none"
"""engine_in_use while the pipeline could not start and frames pass through unchanged."""


class EngineFallbackError(FaceswapError):
    """The requested engine could not start; another one (engine_in_use) runs instead. cause says why."""

    def __init__(self, requested: str, engine_in_use: str, cause: FaceswapError) -> None:
        instead = "frames pass through unchanged" if engine_in_use == PASS_THROUGH else "using the built-in engine"
        super().__init__(f"The {requested} engine could not start ({instead}): {cause}")
        self.requested = requested
        self.engine_in_use = engine_in_use
        self.cause = cause


class OutputFailedError(FaceswapError):
    """An output raised while sending a frame; the runner closed it and removed it."""

    def __init__(self, sink_name: str, cause: BaseException) -> None:
        super().__init__(f"The {sink_name} output failed and was closed (the others go on): {cause}")
        self.sink_name = sink_name
        self.cause = cause


class _OncePerProblem:
    """Reports each problem of a channel (capture, pipeline, frame, an output) once.

    A channel's problem is news again only after that channel has worked for REPORT_AGAIN_AFTER_OK_S: a thread that
    alternates between failing and working must not flood the user, and one thread's success never resets another's.
    """

    def __init__(self, on_error: Callable[[FaceswapError], None]) -> None:
        self._on_error = on_error
        self._reported: dict[str, set[str]] = {}
        self._ok_since: dict[str, float] = {}
        self._lock = threading.Lock()

    def report(self, channel: str, error: FaceswapError) -> None:
        with self._lock:
            self._ok_since.pop(channel, None)
            seen = self._reported.setdefault(channel, set())
            if str(error) in seen:
                return
            seen.add(str(error))
        self._on_error(error)

    def ok(self, channel: str) -> None:
        """The channel worked this time (cheap: called every frame)."""
        if channel not in self._reported:
            return
        now = time.monotonic()
        with self._lock:
            since = self._ok_since.setdefault(channel, now)
            if now - since >= REPORT_AGAIN_AFTER_OK_S:
                self._reported.pop(channel, None)
                self._ok_since.pop(channel, None)


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
        self._sinks_lock = threading.Lock()  # the GUI adds and removes outputs while the processing thread drops one
        self._store = store
        self._reporter = _OncePerProblem(on_error or (lambda error: logger.error("%s", error)))
        self._open_source = open_source
        self._slot: LatestSlot[Frame] = LatestSlot()
        self._stop = threading.Event()
        self._capture_stop = threading.Event()
        self._capture_thread: threading.Thread | None = None
        self._processing_thread: threading.Thread | None = None
        self._processing_threads: list[threading.Thread] = []  # every one started, to prove there is one at a time
        self._source: FrameSource | None = None
        self._pipeline: Pipeline | None = None
        self._target: TargetFace | None = None
        self._config_version = 0  # bumped on every update_config; a pass-through pipeline then tries to load again
        self._target_version = 0  # bumped on every set_target; the processing thread applies what it has not seen
        self._latest: FrameResult | None = None
        self._profile = RollingProfile()
        self._profile_lock = threading.Lock()
        self._source_ended = threading.Event()
        self._engine_in_use = ""
        self.source_description = ""
        self.source_format: tuple[int, int, float] | None = None
        """The open source's (width, height, fps): a file's own, or what a camera really gave."""

    # --- control (GUI / CLI thread) ---

    def start(self) -> None:
        """Open the source (raises CameraError now, so the caller can show it) and start both threads."""
        if self.running:
            return
        previous = self._processing_thread
        if previous is not None and previous.is_alive():  # still stopping (loading a model): never run two
            previous.join(PROCESSING_JOIN_S)
            if previous.is_alive():
                raise FaceswapError("The previous face pipeline is still stopping; try again in a moment.")
        self._stop = threading.Event()  # a fresh one: an old thread still winding down keeps its own, set
        self._source_ended.clear()
        self._slot = LatestSlot()
        self._start_capture()
        self._processing_thread = threading.Thread(
            target=self._processing_loop, args=(self._stop,), name="faceswap-processing", daemon=True
        )
        self._processing_threads.append(self._processing_thread)
        self._processing_thread.start()

    def _start_capture(self) -> None:
        """Open the configured source and start a capture thread on it (the processing thread is left alone)."""
        self._source = self._open_source(self._config)
        self.source_description = self._source.description
        self.source_format = (self._source.width, self._source.height, self._source.fps)
        if self._slot.closed:  # a file that ended closed it
            self._slot = LatestSlot()
        self._source_ended.clear()
        self._capture_stop = threading.Event()
        self._capture_thread = threading.Thread(
            target=self._capture_loop, args=(self._capture_stop,), name="faceswap-capture", daemon=True
        )
        self._capture_thread.start()

    def _stop_capture(self, timeout_s: float) -> bool:
        self._capture_stop.set()
        thread, self._capture_thread = self._capture_thread, None
        if thread is None:
            return True
        thread.join(timeout_s)
        return not thread.is_alive()

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
        stopped = self._stop_capture(timeout_s)
        processing = self._processing_thread
        if processing is not None:
            processing.join(max(0.0, deadline - time.monotonic()))
            stopped &= not processing.is_alive()
        if not stopped:
            logger.warning("Worker threads did not stop within %.1f s", timeout_s)
        return stopped

    @property
    def running(self) -> bool:
        """True while the processing thread runs and has not been asked to stop."""
        thread = self._processing_thread
        return thread is not None and thread.is_alive() and not self._stop.is_set()

    @property
    def processing_threads_alive(self) -> int:
        """How many processing threads of this runner are alive (never more than one)."""
        self._processing_threads = [thread for thread in self._processing_threads if thread.is_alive()]
        return len(self._processing_threads)

    @property
    def finished(self) -> bool:
        """True when a non-looping file source has ended and its last frame has been processed."""
        thread = self._processing_thread
        return self._source_ended.is_set() and not (thread is not None and thread.is_alive())

    def wait_until_finished(self, timeout_s: float | None = None) -> bool:
        """Block until a finite source is fully processed (for headless file runs)."""
        thread = self._processing_thread
        if thread is None:
            return True
        thread.join(timeout_s)
        return not thread.is_alive()

    def update_config(self, config: AppConfig) -> None:
        """Apply new settings from the next frame on. A changed capture source reopens the camera."""
        previous, self._config = self._config, config
        self._config_version += 1
        if self._pipeline is not None:
            self._pipeline.update_config(config)
        if config.capture != previous.capture and self.running:
            # Only the capture thread restarts: the processing thread (maybe still loading) carries on.
            self._stop_capture(timeout_s=2.0)
            self._close_source()
            self._start_capture()

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
        with self._sinks_lock:
            self._sinks = [*self._sinks, sink]

    def remove_sink(self, sink: ResultSink) -> None:
        self._drop_sink(sink)
        sink.close()

    def _drop_sink(self, sink: ResultSink) -> None:
        with self._sinks_lock:
            self._sinks = [existing for existing in self._sinks if existing is not sink]

    @property
    def sinks(self) -> tuple[ResultSink, ...]:
        """The outputs receiving frames now (a failed one is removed by the runner)."""
        return tuple(self._sinks)

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

    @property
    def engine_in_use(self) -> str:
        """The engine really swapping ("mesh", "onnx"), PASS_THROUGH when the pipeline could not start, "" before."""
        return self._engine_in_use

    # --- worker threads ---

    def _capture_loop(self, stop: threading.Event) -> None:
        index = 0
        slot = self._slot
        while not (stop.is_set() or self._stop.is_set()):
            source = self._source
            try:
                if source is None:
                    source = self._reopen_source(stop)
                    if source is None:
                        continue
                image = source.read()
            except CameraError as error:
                self._reporter.report("capture", error)
                self._close_source()
                continue
            except Exception as error:  # a decoder bug: report it with its cause and try the source again
                logger.exception("Reading a frame failed")
                self._reporter.report("capture", CameraError(f"Reading from the camera failed: {error}"))
                self._close_source()
                continue
            if image is None:  # a file that does not loop has ended
                self._source_ended.set()
                slot.close()
                break
            self._reporter.ok("capture")
            slot.put(Frame(image_bgr=image, index=index, captured_at_s=time.perf_counter()))
            index += 1
        if stop.is_set() or self._stop.is_set():
            self._close_source()

    def _reopen_source(self, stop: threading.Event) -> FrameSource | None:
        """Wait a moment and try the source again (a replugged camera comes back on its own)."""
        if stop.wait(RECONNECT_INTERVAL_S) or self._stop.is_set():
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

    def _load_pipeline(self) -> Pipeline | None:
        """The pipeline for the current config, or None (frames then pass through) when even that fails."""
        requested = self._config.swap.engine
        try:
            pipeline = Pipeline(
                self._config,
                self._landmark_model_path,
                store=self._store,
                engine_fallback=True,
                prepare_targets_ahead=True,
            )
        except FaceswapError as error:
            self._reporter.report("pipeline", EngineFallbackError(requested, PASS_THROUGH, error))
            return None
        except Exception as error:  # a bug must reach the user as a message, not kill the thread silently
            logger.exception("Starting the pipeline failed")
            cause = FaceswapError(f"The face pipeline could not start: {error}")
            self._reporter.report("pipeline", EngineFallbackError(requested, PASS_THROUGH, cause))
            return None
        if pipeline.engine_problem is not None:
            self._reporter.report(
                "pipeline", EngineFallbackError(requested, pipeline.engine_name, pipeline.engine_problem)
            )
        return pipeline

    def _processing_loop(self, stop: threading.Event) -> None:
        loaded_config_version = self._config_version
        pipeline = self._load_pipeline()
        self._pipeline = pipeline
        self._engine_in_use = pipeline.engine_name if pipeline is not None else PASS_THROUGH
        applied_target_version = -1
        # The next frame's landmark search, started while this frame is swapped when the camera has already
        # delivered it (a camera faster than the swap); never waited for otherwise, so latency does not grow.
        ahead: Future[FoundFaces] | None = None
        wait_ms: dict[str, float] = {}
        try:
            while not stop.is_set():
                if pipeline is None and loaded_config_version != self._config_version:  # new settings: try again
                    loaded_config_version = self._config_version
                    pipeline = self._pipeline = self._load_pipeline()
                    self._engine_in_use = pipeline.engine_name if pipeline is not None else PASS_THROUGH
                if pipeline is not None and applied_target_version != self._target_version:
                    applied_target_version = self._target_version
                    pipeline.set_target(self._target)
                if ahead is None:
                    wait_ms = {}
                    with time_stage(wait_ms, "capture_wait"):
                        frame = self._slot.take(timeout_s=0.1)
                    if frame is None:
                        if self._source_ended.is_set() and self._slot.closed:
                            break
                        continue
                    if pipeline is None:  # pass-through: the preview and outputs keep moving, unchanged
                        passed = FrameResult(frame.image_bgr.copy(), frame, (), wait_ms, time.perf_counter(), False)
                        self._deliver(passed)
                        continue
                    ahead = self._guarded(pipeline, pipeline.find_faces_ahead, frame)
                if pipeline is None or ahead is None:
                    continue
                found = self._guarded(pipeline, Future.result, ahead)
                newer = self._slot.take(timeout_s=0.0)
                ahead = None if newer is None else self._guarded(pipeline, pipeline.find_faces_ahead, newer)
                result = None if found is None else self._guarded(pipeline, pipeline.swap_found, found)
                if result is not None:
                    self._engine_in_use = pipeline.engine_name
                    self._reporter.ok("frame")
                    result.stage_ms.update(wait_ms)
                    self._deliver(result)
                wait_ms = {"capture_wait": 0.0}  # a newer frame was already waiting
        finally:
            self._pipeline = None
            if pipeline is not None:
                pipeline.close()

    def _deliver(self, result: FrameResult) -> None:
        with time_stage(result.stage_ms, "output"):
            self._send(result)
        self._latest = result
        with self._profile_lock:
            self._profile.add(result.stage_ms, result.latency_ms, result.finished_at_s)

    def _guarded(self, pipeline: Pipeline, step: Callable[[ArgumentT], ResultT], argument: ArgumentT) -> ResultT | None:
        """step(argument) (one of the pipeline's steps for a frame), or None when it failed: the failure is reported and
        the frame skipped, the preview goes on."""
        try:
            return step(argument)
        except FaceswapError as error:
            self._engine_in_use = pipeline.engine_name
            if error is pipeline.engine_problem:  # a newly chosen engine could not start: the previous one goes on
                error = EngineFallbackError(self._config.swap.engine, pipeline.engine_name, error)
            self._reporter.report("frame", error)
            return None
        except Exception as error:  # keep the preview alive; report the first of a kind
            logger.exception("Processing a frame failed")
            self._reporter.report("frame", FaceswapError(f"Processing a frame failed: {error}"))
            return None

    def _send(self, result: FrameResult) -> None:
        for sink in self._sinks:
            try:
                sink.send(result)
            except Exception as error:  # close the failing output; the preview and the other outputs go on
                logger.exception("Output %s failed", sink.name)
                self._drop_sink(sink)
                try:
                    sink.close()
                except Exception:
                    logger.exception("Closing output %s failed", sink.name)
                self._reporter.report(f"sink:{sink.name}", OutputFailedError(sink.name, error))
