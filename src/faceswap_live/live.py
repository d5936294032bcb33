"""Headless live session: camera (or a video) → face swap → virtual camera / stream / recording, until told to stop.

Used by `faceswap-live live`. Reports go through a callback (the CLI prints them); stopping is an Event the caller sets
(the CLI sets it from its SIGINT/SIGTERM handler), so this module never exits the process or touches signals.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from pathlib import Path

from faceswap_live.config import AppConfig
from faceswap_live.engines.base import ModelLocator
from faceswap_live.engines.registry import check_engine_models
from faceswap_live.errors import FaceswapError, OutputError
from faceswap_live.outputs.base import OutputSink
from faceswap_live.outputs.factory import open_sinks
from faceswap_live.runtime.runner import PipelineRunner
from faceswap_live.types import TargetFace

logger = logging.getLogger(__name__)

STATUS_INTERVAL_S = 5.0


def format_latency(latency_ms: float, fps: float) -> str:
    """The line users read to set their audio delay, e.g. "Latency 84 ms at 24.9 fps (set audio delay: 84 ms)"."""
    return f"Latency {latency_ms:.0f} ms at {fps:.1f} fps (set audio delay: {latency_ms:.0f} ms)"


def run_live(
    config: AppConfig,
    landmark_model_path: Path,
    target: TargetFace,
    stop: threading.Event,
    report: Callable[[str], None],
    store: ModelLocator | None = None,
    status_interval_s: float = STATUS_INTERVAL_S,
    duration_s: float | None = None,
) -> int:
    """Run until `stop` is set, duration_s seconds have passed (None = no limit) or a non-looping input ends.

    Returns an exit code: 0 = clean stop.

    Opens the outputs in config.output; one that cannot open raises its error (after closing the others): a stream
    URL that would show another program's stream, or a recording that would not be made, must not look like success.
    Every status_interval_s reports the median capture→output latency (the audio delay to set) and any output that
    failed; when every output has failed the session stops. Returns 1 when an output failed on the way, else 0.
    Raises CameraError when the source cannot be opened, ModelError when the chosen engine's model is missing.
    """
    wanted = [config.output.virtual_camera, config.output.stream, bool(config.output.record_path)]
    if not any(wanted):
        raise FaceswapError("Choose at least one output: --virtual-camera, --stream or --record FILE.")
    # The runner keeps going on the built-in engine when the chosen one cannot start (the app's preview must not
    # die); a command that names an engine must instead stop with the reason.
    check_engine_models(config, store)
    sinks = open_sinks(config)
    errors_seen: set[str] = set()

    def on_error(error: FaceswapError) -> None:
        report(f"warning: {error}")

    runner = PipelineRunner(config, landmark_model_path, sinks=sinks, store=store, on_error=on_error)
    runner.set_target(target)
    try:
        runner.start()
    except FaceswapError:
        for sink in sinks:
            sink.close()
        raise
    report(f"Input: {runner.source_description}")
    for sink in sinks:
        report(sink.status())
    report("Press Ctrl-C to stop.")
    deadline = None if duration_s is None else time.monotonic() + duration_s
    try:
        while not stop.wait(_next_wait(status_interval_s, deadline)):
            if deadline is not None and time.monotonic() >= deadline:
                report(f"Stopping after {duration_s:g} s.")
                break
            if runner.finished:
                report("The input has ended.")
                break
            snapshot = runner.profile_snapshot()
            if snapshot.fps > 0:
                report(format_latency(snapshot.latency.p50_ms, snapshot.fps))
            _report_sink_errors(sinks, errors_seen, report)
            if all(getattr(sink, "error", None) is not None for sink in sinks):
                report("error: every output has failed; stopping.")
                break
    finally:
        runner.stop()
    _report_sink_errors(sinks, errors_seen, report)
    for sink in sinks:
        if sink.name == "recording":
            report(sink.status())
    return 1 if any(getattr(sink, "error", None) is not None for sink in sinks) else 0


def _next_wait(status_interval_s: float, deadline: float | None) -> float:
    """Seconds until the next status report or the deadline, whichever comes first."""
    if deadline is None:
        return status_interval_s
    return max(0.0, min(status_interval_s, deadline - time.monotonic()))


def _report_sink_errors(sinks: list[OutputSink], seen: set[str], report: Callable[[str], None]) -> None:
    for sink in sinks:
        error = getattr(sink, "error", None)
        if isinstance(error, (OutputError, FaceswapError)) and str(error) not in seen:
            seen.add(str(error))
            report(f"warning: {error}")
