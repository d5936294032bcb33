"""Stage timers and rolling statistics (p50/p95 ms, fps) for the profiling overlay, logs and benchmarks."""

from __future__ import annotations

import time
from collections import deque
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass

import numpy as np


@contextmanager
def time_stage(stage_ms: dict[str, float], stage: str) -> Iterator[None]:
    """Add the wall time of the `with` body to stage_ms[stage] (milliseconds)."""
    start = time.perf_counter()
    try:
        yield
    finally:
        stage_ms[stage] = stage_ms.get(stage, 0.0) + (time.perf_counter() - start) * 1000.0


@dataclass(frozen=True)
class StageSummary:
    p50_ms: float
    p95_ms: float

    @staticmethod
    def of(values_ms: Iterable[float]) -> StageSummary:
        """Median and 95th percentile, rounded to 0.01 ms; zeros for no values."""
        array = np.fromiter(values_ms, dtype=np.float64)
        if array.size == 0:
            return StageSummary(0.0, 0.0)
        return StageSummary(round(float(np.percentile(array, 50)), 2), round(float(np.percentile(array, 95)), 2))


@dataclass(frozen=True)
class ProfileSnapshot:
    """A copy of the rolling statistics, safe to hand to another thread."""

    stages: dict[str, StageSummary]
    fps: float
    latency: StageSummary
    frames: int


class RollingProfile:
    """Keeps the last `window` frames' stage times and latencies. Written by one thread; snapshot() copies."""

    def __init__(self, window: int = 120) -> None:
        self._stage_ms: dict[str, deque[float]] = {}
        self._latency_ms: deque[float] = deque(maxlen=window)
        self._finished_at_s: deque[float] = deque(maxlen=window)
        self._window = window
        self.frames = 0

    def add(self, stage_ms: dict[str, float], latency_ms: float, finished_at_s: float) -> None:
        for stage, ms in stage_ms.items():
            self._stage_ms.setdefault(stage, deque(maxlen=self._window)).append(ms)
        self._latency_ms.append(latency_ms)
        self._finished_at_s.append(finished_at_s)
        self.frames += 1

    def snapshot(self) -> ProfileSnapshot:
        times = list(self._finished_at_s)
        fps = (len(times) - 1) / (times[-1] - times[0]) if len(times) >= 2 and times[-1] > times[0] else 0.0
        return ProfileSnapshot(
            stages={stage: StageSummary.of(list(values)) for stage, values in self._stage_ms.items()},
            fps=fps,
            latency=StageSummary.of(list(self._latency_ms)),
            frames=self.frames,
        )
