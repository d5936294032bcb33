"""The per-frame pipeline: (low-light boost →) landmarks → smoothing → alignment → swap → blend → output marking.

Used unchanged by the CLI, the GUI (through the runner), benchmarks and tests. Owned by one thread: construct, feed
and close it from the same thread. Config and target changes from other threads go through update_config() and
set_target(), which only store a reference that process() picks up at the start of the next frame.
"""

from __future__ import annotations

import dataclasses
import logging
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Protocol

from faceswap_live import __version__
from faceswap_live.config import AppConfig
from faceswap_live.errors import FaceswapError
from faceswap_live.profiling import time_stage
from faceswap_live.stages.align import align_face
from faceswap_live.stages.blend import blend_face
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.stages.low_light import LowLightBoost
from faceswap_live.stages.marking import OutputMarker
from faceswap_live.stages.smoothing import FaceTracker
from faceswap_live.stages.swap import SwapEngine
from faceswap_live.types import BgrImage, FaceLandmarks, Frame, FrameResult, SwappedFace, TargetFace

logger = logging.getLogger(__name__)

_NO_CHANGE = object()


class ModelLocator(Protocol):
    def fetch(self, name: str, *, accept_licence: bool = False) -> Path: ...


def create_swap_engine(config: AppConfig, store: ModelLocator | None = None) -> SwapEngine:
    """The engine config.swap.engine names. Raises ModelError when its model files are missing."""
    if config.swap.engine == "mesh":
        from faceswap_live.stages.swap_mesh import MeshFaceSwapper

        return MeshFaceSwapper()
    from faceswap_live.stages.swap_onnx import create_onnx_engine

    return create_onnx_engine(config, store)  # type: ignore[arg-type]


def check_engine_models(config: AppConfig, store: ModelLocator | None = None) -> None:
    """Raise ModelError when the engine config.swap.engine names lacks a model file (nothing is loaded)."""
    if config.swap.engine == "mesh":
        return
    from faceswap_live.stages.swap_onnx import check_onnx_models

    check_onnx_models(config, store)  # type: ignore[arg-type]


@dataclass
class _HeldSwap:
    """The last good swap of a track, re-used for a few frames when the face is briefly lost."""

    swapped: SwappedFace
    face: FaceLandmarks
    frames_missing: int = 0


class Pipeline:
    """Turns frames into FrameResults. See the module docstring for threading rules."""

    def __init__(
        self,
        config: AppConfig,
        landmark_model_path: Path,
        store: ModelLocator | None = None,
        *,
        engine_fallback: bool = False,
    ) -> None:
        """engine_fallback: when the configured engine cannot start, use the built-in one (engine_problem says why)
        instead of raising; the live app never leaves a dead preview, while a benchmark must not measure another
        engine than the one it names."""
        self._config = config
        self._pending_config: AppConfig | None = None
        self._pending_target: object = _NO_CHANGE
        self._store = store
        self._landmark_model_path = landmark_model_path
        self._detector = FaceLandmarkDetector(
            landmark_model_path, config.landmarks, mode="video", with_blendshapes=True
        )
        self._tracker = FaceTracker(config.smoothing)
        self._low_light = LowLightBoost(config.low_light)
        self.engine_problem: FaceswapError | None = None
        """Why the configured engine could not start (the built-in engine runs instead); None when it runs."""
        try:
            self._engine: SwapEngine = create_swap_engine(config, store)
        except FaceswapError as error:
            if config.swap.engine == "mesh" or not engine_fallback:
                self._detector.close()
                raise
            # Never a dead preview: swap with the built-in engine and say so (engine_name tells the truth).
            self.engine_problem = error
            self._config = config = dataclasses.replace(config, swap=dataclasses.replace(config.swap, engine="mesh"))
            self._engine = create_swap_engine(config, store)
        self._marker = OutputMarker(config.marking, __version__)
        self._target: TargetFace | None = None
        self._held: dict[int, _HeldSwap] = {}

    @property
    def engine(self) -> SwapEngine:
        return self._engine

    @property
    def config(self) -> AppConfig:
        """The settings in use: swap.engine is the engine really running, which may differ from the requested one."""
        return self._config

    @property
    def engine_name(self) -> str:
        """The engine really in use ("mesh" or "onnx")."""
        return self._config.swap.engine

    @property
    def target(self) -> TargetFace | None:
        return self._target

    def update_config(self, config: AppConfig) -> None:
        """Any thread: the new config takes effect at the next frame, all at once."""
        self._pending_config = config

    def set_target(self, target: TargetFace | None) -> None:
        """Any thread: the new target (None = no swap) takes effect at the next frame."""
        self._pending_target = target

    def _apply_pending(self) -> None:
        config, self._pending_config = self._pending_config, None
        engine_error: FaceswapError | None = None
        if config is not None and config != self._config:
            previous = self._config
            if config.swap.engine != previous.swap.engine or _engine_settings(config) != _engine_settings(previous):
                try:
                    self._replace_engine(create_swap_engine(config, self._store))
                    self.engine_problem = None
                except FaceswapError as error:
                    # Keep swapping with the engine in hand; the rest of the new settings still apply.
                    engine_error = self.engine_problem = error
                    swap = dataclasses.replace(config.swap, engine=previous.swap.engine)
                    config = dataclasses.replace(config, swap=swap, onnx=previous.onnx)
            self._config = config
            if config.landmarks != previous.landmarks:
                self._detector.close()
                self._detector = FaceLandmarkDetector(
                    self._landmark_model_path, config.landmarks, mode="video", with_blendshapes=True
                )
                self._tracker.reset()
            if config.smoothing != previous.smoothing:
                self._tracker.update_config(config.smoothing)
            if config.low_light != previous.low_light:
                self._low_light = LowLightBoost(config.low_light)
            if config.marking != previous.marking:
                self._marker = OutputMarker(config.marking, __version__)
        target, self._pending_target = self._pending_target, _NO_CHANGE
        if target is not _NO_CHANGE:
            self._target = target  # type: ignore[assignment]
            self._held.clear()
            if self._target is not None:
                self._engine.set_target(self._target)
        if engine_error is not None:
            raise engine_error

    def _replace_engine(self, engine: SwapEngine) -> None:
        self._engine.close()
        self._engine = engine
        self._held.clear()
        if self._target is not None:
            self._engine.set_target(self._target)

    def process(self, frame: Frame) -> FrameResult:
        """Swap the faces in one frame. Processing thread only."""
        self._apply_pending()
        config = self._config
        stage_ms: dict[str, float] = {}
        if config.low_light.enabled:
            with time_stage(stage_ms, "low_light"):
                frame = dataclasses.replace(frame, image_bgr=self._low_light.apply(frame.image_bgr))
        output = frame.image_bgr.copy()
        with time_stage(stage_ms, "landmarks"):
            detections = self._detector.detect(frame.image_bgr, int(frame.captured_at_s * 1000))
        with time_stage(stage_ms, "smooth"):
            faces = self._tracker.update(detections, frame.captured_at_s)
        selected = faces if config.swap.faces == "all" else faces[:1]
        swapped_any = False
        if config.swap.enabled and self._target is not None:
            seen_tracks = set()
            for face in selected:
                swapped = self._swap_one(frame.image_bgr, face, stage_ms)
                if swapped is None:
                    continue
                with time_stage(stage_ms, "blend"):
                    blend_face(output, swapped, face, config.swap)
                self._held[face.track_id] = _HeldSwap(swapped, face)
                seen_tracks.add(face.track_id)
                swapped_any = True
            swapped_any |= self._blend_held(output, seen_tracks, stage_ms)
        with time_stage(stage_ms, "mark"):
            output = self._marker.apply(output)
        return FrameResult(
            output_bgr=output,
            source=frame,
            faces=tuple(faces),
            stage_ms=stage_ms,
            finished_at_s=time.perf_counter(),
            swapped=swapped_any,
        )

    def _swap_one(self, image_bgr: BgrImage, face: FaceLandmarks, stage_ms: dict[str, float]) -> SwappedFace | None:
        aligned = None
        if self._engine.alignment is not None:
            with time_stage(stage_ms, "align"):
                spec = self._engine.alignment
                aligned = align_face(image_bgr, face.keypoints_px, spec.template, spec.size)
        with time_stage(stage_ms, "swap"):
            return self._engine.swap_face(image_bgr, face, aligned, self._config.swap)

    def _blend_held(self, output: BgrImage, seen_tracks: set[int], stage_ms: dict[str, float]) -> bool:
        """Keep showing a lost face's last swap for hold_frames frames (a hand crossing the face must not flash it)."""
        blended = False
        for track_id in list(self._held):
            if track_id in seen_tracks:
                continue
            held = self._held[track_id]
            held.frames_missing += 1
            if held.frames_missing > self._config.swap.hold_frames:
                del self._held[track_id]
                continue
            with time_stage(stage_ms, "blend"):
                blend_face(output, held.swapped, held.face, self._config.swap)
            blended = True
        return blended

    def close(self) -> None:
        self._engine.close()
        self._detector.close()


def _engine_settings(config: AppConfig) -> object:
    """The part of the config that requires building the engine again when it changes."""
    return config.onnx if config.swap.engine == "onnx" else None
