"""`faceswap-live bench`: per-stage p50/p95 ms, throughput and capture→output latency on a video file.

Two runs on the same clip: an offline pass through the Pipeline (how fast processing can go), and a live pass
through the PipelineRunner with the file paced like a camera (what a user sees: fps delivered, latency, drops).
"""

from __future__ import annotations

import dataclasses
import platform
import time
from dataclasses import dataclass, field
from pathlib import Path

from faceswap_live.config import AppConfig, CaptureConfig
from faceswap_live.engines.base import ModelLocator
from faceswap_live.offline import process_frames, read_video_frames
from faceswap_live.profiling import StageSummary
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.runtime.runner import PipelineRunner
from faceswap_live.types import TargetFace


@dataclass(frozen=True)
class BenchReport:
    input: str
    target: str
    engine: str
    provider: str
    resolution: str
    frames: int
    faces_found_share: float
    stages: dict[str, StageSummary]
    processing: StageSummary
    throughput_fps: float
    live_fps: float = 0.0
    live_latency: StageSummary = field(default_factory=lambda: StageSummary(0.0, 0.0))
    live_dropped_frames: int = 0
    live_source_fps: float = 0.0
    machine: str = field(default_factory=lambda: f"{platform.machine()}, {platform.processor() or 'cpu'}")

    def to_dict(self) -> dict[str, object]:
        return dataclasses.asdict(self)


def run_bench(
    config: AppConfig,
    landmark_model_path: Path,
    target: TargetFace,
    input_path: Path,
    max_frames: int = 300,
    live_seconds: float = 10.0,
    store: ModelLocator | None = None,
) -> BenchReport:
    """Measure the pipeline on `input_path`. The first 10 frames are warm-up and not counted."""
    frames, fps = read_video_frames(input_path, max_frames)
    height, width = frames[0].shape[:2]
    pipeline = Pipeline(config, landmark_model_path, store=store)
    stage_values: dict[str, list[float]] = {}
    totals: list[float] = []
    with_face = 0
    warmup = min(10, len(frames) // 5)
    try:
        pipeline.set_target(target)
        started = 0.0
        for index, result in enumerate(process_frames(pipeline, frames, fps)):
            if index == warmup:
                started = time.perf_counter()
            if index < warmup:
                continue
            for stage, ms in result.stage_ms.items():
                stage_values.setdefault(stage, []).append(ms)
            totals.append(sum(result.stage_ms.values()))
            with_face += bool(result.faces)
        elapsed = time.perf_counter() - started
        provider = pipeline.engine.provider
    finally:
        pipeline.close()
    counted = max(1, len(frames) - warmup)
    report = BenchReport(
        input=input_path.name,
        target=target.name,
        engine=config.swap.engine,
        provider=provider,
        resolution=f"{width}x{height}",
        frames=counted,
        faces_found_share=round(with_face / counted, 3),
        stages={stage: StageSummary.of(values) for stage, values in stage_values.items()},
        processing=StageSummary.of(totals),
        throughput_fps=round(counted / elapsed, 1) if elapsed > 0 else 0.0,
    )
    if live_seconds <= 0:
        return report
    return _add_live_run(report, config, landmark_model_path, target, input_path, live_seconds, store)


def _add_live_run(
    report: BenchReport,
    config: AppConfig,
    landmark_model_path: Path,
    target: TargetFace,
    input_path: Path,
    live_seconds: float,
    store: ModelLocator | None,
) -> BenchReport:
    live_config = dataclasses.replace(config, capture=CaptureConfig(source=str(input_path), loop=True, pace=True))
    runner = PipelineRunner(live_config, landmark_model_path, store=store)
    runner.set_target(target)
    runner.start()
    try:
        time.sleep(min(2.0, live_seconds / 4))  # warm-up: model load and first frames
        warm_frames = runner.profile_snapshot().frames
        warm_dropped = runner.dropped_frames
        time.sleep(live_seconds)
        snapshot = runner.profile_snapshot()
        dropped = runner.dropped_frames - warm_dropped
        measured_frames = snapshot.frames - warm_frames
    finally:
        runner.stop()
    return dataclasses.replace(
        report,
        live_fps=round(snapshot.fps, 1),
        live_latency=snapshot.latency,
        live_dropped_frames=dropped,
        live_source_fps=round((measured_frames + dropped) / live_seconds, 1),
    )


def format_report(report: BenchReport) -> str:
    """Human-readable table."""
    lines = [
        f"{report.input}  {report.resolution}  engine={report.engine} ({report.provider})  "
        f"frames={report.frames}  face found in {report.faces_found_share:.0%}",
        f"target: {report.target}",
        f"{'stage':<14}{'p50 ms':>9}{'p95 ms':>9}",
    ]
    for stage, values in report.stages.items():
        lines.append(f"{stage:<14}{values.p50_ms:>9.2f}{values.p95_ms:>9.2f}")
    lines.append(f"{'total':<14}{report.processing.p50_ms:>9.2f}{report.processing.p95_ms:>9.2f}")
    lines.append(f"offline throughput: {report.throughput_fps:.1f} fps")
    if report.live_fps:
        lines.append(
            f"live (paced at source rate {report.live_source_fps:.1f} fps): {report.live_fps:.1f} fps out, "
            f"capture→output latency p50 {report.live_latency.p50_ms:.1f} ms, p95 {report.live_latency.p95_ms:.1f} ms, "
            f"{report.live_dropped_frames} frames dropped"
        )
    return "\n".join(lines)
