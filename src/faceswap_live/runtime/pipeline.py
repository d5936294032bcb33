"""The per-frame pipeline: (low-light boost →) landmarks → smoothing → alignment → swap → blend → output marking.

Used unchanged by the CLI, the GUI (through the runner), benchmarks and tests. Owned by one thread: construct, feed
and close it from the same thread. Config and target changes from other threads go through update_config() and
set_target()/map_faces(), which only store a reference that process() picks up at the start of the next frame. With
prepare_targets_ahead (the live app), a change from one target face to another (or from the user's own face, when
chosen) is prepared on a helper thread while what is drawn now goes on, and takes over at the first frame after it is
ready: picking a face in the gallery never freezes the preview (the built-in engine takes a quarter to half a second
per photo).
The landmarks of the next frame may be searched for on a helper thread while this frame is swapped
(find_faces_ahead, then swap_found; process_all for a stream that is already there): the same results, and on two
cores about 1.5 times the frames per second, since MediaPipe runs without Python's lock.

Faces: a swapped face is only ever drawn on a face detected in this frame (a held swap only on a detection that
overlaps it and got no swap of its own), so a swap never floats where nobody is. Each tracked person may have their
own target face (map_faces, set_face_target); the engine for a target is built once and kept while it is in use.
"""

from __future__ import annotations

import dataclasses
import logging
import queue
import time
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from concurrent.futures import wait as futures_wait
from dataclasses import dataclass
from pathlib import Path
from typing import Literal

from faceswap_live import __version__
from faceswap_live.config import AppConfig
from faceswap_live.engines.base import ModelLocator, SwapEngine
from faceswap_live.engines.registry import BUILT_IN_ENGINE, create_swap_engine
from faceswap_live.errors import FaceswapError
from faceswap_live.profiling import time_stage
from faceswap_live.stages.align import align_face
from faceswap_live.stages.blend import blend_face
from faceswap_live.stages.landmarks import DetectedFace, FaceLandmarkDetector
from faceswap_live.stages.low_light import LowLightBoost
from faceswap_live.stages.marking import OutputMarker
from faceswap_live.stages.smoothing import MIN_FACE_ASPECT, FaceTracker, face_aspect, skin_share
from faceswap_live.types import BgrImage, FaceLandmarks, Frame, FrameResult, SwappedFace, TargetFace

logger = logging.getLogger(__name__)

_NO_CHANGE = object()


@dataclass
class _HeldSwap:
    """The last good swap of a track, re-used for a few frames when the face is briefly lost."""

    swapped: SwappedFace
    face: FaceLandmarks
    frames_missing: int = 0


HELD_MIN_OVERLAP = 0.5
"""A held swap is drawn only on a detection whose box overlaps the held face's box at least this much (IoU)."""

MAP_FACES_WAIT_FRAMES = 30
"""map_faces waits up to this many frames for as many faces as targets (a person found a few frames late)."""

FaceOrder = Literal["left-to-right"]
FoundFaces = tuple[Frame, list[DetectedFace], dict[str, float]]
"""A frame (low-light boosted if on), the faces the landmarker found in it, and the stage times so far."""
LEAVE_AS_IS = None
"""A person's mapped target meaning: leave this person's own face."""


class Pipeline:
    """Turns frames into FrameResults. See the module docstring for threading rules."""

    def __init__(
        self,
        config: AppConfig,
        landmark_model_path: Path,
        store: ModelLocator | None = None,
        *,
        engine_fallback: bool = False,
        prepare_targets_ahead: bool = False,
    ) -> None:
        """engine_fallback: when the configured engine cannot start, use the built-in one (engine_problem says why)
        instead of raising; the live app never leaves a dead preview, while a benchmark must not measure another
        engine than the one it names. prepare_targets_ahead: see the module docstring (off, every frame after
        set_target is drawn with the new target, as offline runs and their tests need)."""
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
            if config.swap.engine == BUILT_IN_ENGINE or not engine_fallback:
                self._detector.close()
                raise
            # Never a dead preview: swap with the built-in engine and say so (engine_name tells the truth).
            self.engine_problem = error
            self._config = config = dataclasses.replace(
                config, swap=dataclasses.replace(config.swap, engine=BUILT_IN_ENGINE)
            )
            self._engine = create_swap_engine(config, store)
        self._marker = OutputMarker(config.marking, __version__)
        self._target: TargetFace | None = None
        self._held: dict[int, _HeldSwap] = {}
        self._pending_faces: queue.SimpleQueue[tuple[int | None, TargetFace | None]] = queue.SimpleQueue()
        self._pending_order: tuple[list[TargetFace], FaceOrder] | None = None
        self._face_targets: dict[int, TargetFace | None] = {}
        """Per track id: that person's own target (None: leave as is); tracks not in it get the main target."""
        self._unmapped_target_default = True
        self._order_wait_frames = 0
        self._extra_engines: dict[int, tuple[TargetFace, SwapEngine]] = {}
        self._large_enough: dict[int, bool] = {}
        self._helper: ThreadPoolExecutor | None = None
        self._in_flight: Future[FoundFaces] | None = None
        self._prepare_ahead = prepare_targets_ahead
        self._preparer: ThreadPoolExecutor | None = None
        self._preparing: tuple[SwapEngine, TargetFace, Future[Callable[[], None]]] | None = None
        """The engine a target is being prepared for, the target, and its preparation (prepare_targets_ahead)."""
        self._own_face_chosen = False
        """set_target(None) is in use: the user chose their own face (not merely none given yet)."""

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

    def set_face_target(self, track_id: int, target: TargetFace | None) -> None:
        """Any thread: from the next frame, the person on this track gets `target` (None: their own face)."""
        self._pending_faces.put((track_id, target))

    def clear_face_targets(self) -> None:
        """Any thread: every person gets the main target again."""
        self._pending_faces.put((None, None))

    def map_faces(self, targets: list[TargetFace], order: FaceOrder = "left-to-right") -> None:
        """Any thread: at the first frame with a face per target, give the people in it these targets in this order.

        left-to-right: the leftmost face gets targets[0], the next targets[1], and so on; people beyond the list,
        and people who arrive later, keep their own faces. Each assignment follows the person's track, also after
        they leave and come back (the tracker recognises them by their looks).
        """
        self._pending_order = (list(targets), order)
        self._order_wait_frames = 0

    @property
    def face_targets(self) -> dict[int, TargetFace | None]:
        """The people (track ids) with a target of their own. Processing thread only."""
        return dict(self._face_targets)

    def _apply_pending(self) -> None:
        config, self._pending_config = self._pending_config, None
        engine_error: FaceswapError | None = None
        if config is not None and config != self._config:
            previous = self._config
            if config.swap.engine != previous.swap.engine or _engine_settings(config) != _engine_settings(previous):
                self._close_extra_engines()
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
            if self._preparing is not None:
                self._preparing[2].cancel()  # a face picked and replaced at once is not prepared after all
                self._preparing = None
            if target is not None and self._prepare_ahead and (self._target is not None or self._own_face_chosen):
                # From one face to another, or from the user's own face chosen (No swap): what is drawn now goes on
                # until the new face is ready. (At the start the frames wait instead: drawing the user's own face
                # meanwhile would show it to the viewers.)
                if self._preparer is None:
                    self._preparer = ThreadPoolExecutor(max_workers=1, thread_name_prefix="target")
                preparation = self._preparer.submit(self._engine.prepare_target, target)  # type: ignore[arg-type]
                self._preparing = (self._engine, target, preparation)  # type: ignore[assignment]
            else:
                self._use_target(target)  # type: ignore[arg-type]
        if self._preparing is not None and self._preparing[2].done():
            engine, prepared_target, preparation = self._preparing
            self._preparing = None
            if engine is not self._engine:  # the engine was built again meanwhile
                self._use_target(prepared_target)
            elif (failure := preparation.exception()) is not None:
                # Unusable (a TargetFaceError, as from set_target): the face in use stays; raised below.
                engine_error = engine_error or failure  # type: ignore[assignment]
            else:
                self._own_face_chosen = False
                self._target = prepared_target
                self._held.clear()
                preparation.result()()
        while not self._pending_faces.empty():
            track_id, face_target = self._pending_faces.get_nowait()
            self._held.clear()
            if track_id is None:
                self._face_targets.clear()
                self._unmapped_target_default = True
                self._pending_order = None
            else:
                self._face_targets[track_id] = face_target
        if engine_error is not None:
            raise engine_error

    def _use_target(self, target: TargetFace | None) -> None:
        self._own_face_chosen = target is None
        self._target = target
        self._held.clear()
        if target is not None:
            self._engine.set_target(target)

    def _replace_engine(self, engine: SwapEngine) -> None:
        self._engine.close()
        self._engine = engine
        self._held.clear()
        if self._target is not None:
            self._engine.set_target(self._target)

    def _close_extra_engines(self) -> None:
        for _, engine in self._extra_engines.values():
            engine.close()
        self._extra_engines.clear()

    def _apply_face_order(self, faces: list[FaceLandmarks]) -> None:
        """Hand out map_faces' targets once everyone is in view (or MAP_FACES_WAIT_FRAMES frames have passed)."""
        if self._pending_order is None:
            return
        self._unmapped_target_default = False  # a mapping given by order: people not in it keep their faces
        targets, _ = self._pending_order
        self._order_wait_frames += 1
        if not faces or (len(faces) < len(targets) and self._order_wait_frames < MAP_FACES_WAIT_FRAMES):
            return
        self._pending_order = None
        self._held.clear()
        self._face_targets.clear()
        by_position = sorted(faces, key=lambda face: (face.box.x0 + face.box.x1) / 2)
        for face, target in zip(by_position, targets, strict=False):
            self._face_targets[face.track_id] = target

    def _target_for(self, track_id: int) -> TargetFace | None:
        if track_id in self._face_targets:
            return self._face_targets[track_id]
        return self._target if self._unmapped_target_default else LEAVE_AS_IS

    def _engine_for(self, target: TargetFace) -> SwapEngine:
        """The engine holding this target: the main engine for the main target, else one built once per target."""
        if target is self._target:
            return self._engine
        cached = self._extra_engines.get(id(target))
        if cached is None:
            engine = create_swap_engine(self._config, self._store)
            engine.set_target(target)
            cached = self._extra_engines[id(target)] = (target, engine)
        return cached[1]

    def _drop_unused_engines(self) -> None:
        in_use = {id(target) for target in self._face_targets.values() if target is not None}
        for key in [key for key in self._extra_engines if key not in in_use]:
            self._extra_engines.pop(key)[1].close()

    def _big_enough(self, face: FaceLandmarks) -> bool:
        """Size gate with hysteresis: a face near the minimum size is swapped steadily or not at all."""
        settings = self._config.swap
        size = max(face.box.width, face.box.height)
        was_swapped = self._large_enough.get(face.track_id, False)
        threshold = settings.min_face_px * (1.0 - settings.face_size_hysteresis if was_swapped else 1.0)
        self._large_enough[face.track_id] = size >= threshold
        return size >= threshold

    def _on_skin(self, image_bgr: BgrImage, face: FaceLandmarks) -> bool:
        """False for a mesh that is not on a face (its cheeks and forehead are not skin coloured)."""
        minimum = self._config.swap.min_skin_share
        return minimum <= 0.0 or skin_share(image_bgr, face.points_px) >= minimum

    def process(self, frame: Frame) -> FrameResult:
        """Swap the faces in one frame. Processing thread only."""
        self._settle()
        self._apply_pending()
        return self.swap_found(self._find_faces(frame))

    def process_all(self, frames: Iterable[Frame]) -> Iterator[FrameResult]:
        """process() for each of `frames` in turn, with the same results, sooner: the next frame's landmarks are found
        (find_faces_ahead) while this one is swapped and blended. For video files and benchmarks, where the next
        frame is already there. Processing thread only."""
        ahead: Future[FoundFaces] | None = None
        try:
            for frame in frames:
                found = ahead.result() if ahead is not None else None
                ahead = self.find_faces_ahead(frame)
                if found is not None:
                    yield self.swap_found(found)
            if ahead is not None:
                found, ahead = ahead.result(), None
                yield self.swap_found(found)
        finally:
            self._settle()  # a stream given up half way leaves no search running

    def find_faces_ahead(self, frame: Frame) -> Future[FoundFaces]:
        """Start the low-light boost and the landmark search of `frame` on a helper thread and return at once; pass
        the Future's result to swap_found. MediaPipe runs without Python's lock, so on two cores the search of the
        next frame and the swap of this one share the machine (about 1.5 times the frames per second).

        Settings and targets changed meanwhile are applied first; a search still running is waited for, so there is
        one at a time and the detector is never replaced under it. Processing thread only.
        """
        self._settle()
        self._apply_pending()
        if self._helper is None:
            self._helper = ThreadPoolExecutor(max_workers=1, thread_name_prefix="faceswap-landmarks")
        self._in_flight = self._helper.submit(self._find_faces, frame)
        return self._in_flight

    def _settle(self) -> None:
        """Wait for a landmark search still running (its result or error stays with its Future)."""
        if self._in_flight is not None:
            futures_wait([self._in_flight])
            self._in_flight = None

    def _find_faces(self, frame: Frame) -> FoundFaces:
        """The low-light boost and the landmarks of one frame (the frame as boosted, the detections, stage times)."""
        stage_ms: dict[str, float] = {}
        if self._config.low_light.enabled:
            with time_stage(stage_ms, "low_light"):
                frame = dataclasses.replace(frame, image_bgr=self._low_light.apply(frame.image_bgr))
        with time_stage(stage_ms, "landmarks"):
            detections = self._detector.detect(frame.image_bgr, int(frame.captured_at_s * 1000))
        return frame, detections, stage_ms

    def swap_found(self, found: FoundFaces) -> FrameResult:
        """Track, swap, blend and mark the faces found in a frame (find_faces_ahead's result). Processing thread."""
        frame, detections, stage_ms = found
        config = self._config
        output = frame.image_bgr.copy()
        with time_stage(stage_ms, "smooth"):
            faces = self._tracker.update(detections, frame.captured_at_s, frame.image_bgr)
        self._apply_face_order(faces)
        selected = faces if config.swap.faces == "all" else faces[:1]
        swapped_any = False
        if config.swap.enabled:
            swapped_tracks = set()
            for face in selected:
                target = self._target_for(face.track_id)
                if (
                    target is None
                    or not self._big_enough(face)
                    or not self._on_skin(frame.image_bgr, face)
                    or face_aspect(face.points_px) < MIN_FACE_ASPECT  # a mesh squeezed onto part of a face
                ):
                    self._held.pop(face.track_id, None)
                    continue
                swapped = self._swap_one(frame.image_bgr, face, self._engine_for(target), stage_ms)
                if swapped is None:  # the engine chose to draw nothing (a head turned away): hold nothing either
                    self._held.pop(face.track_id, None)
                    continue
                with time_stage(stage_ms, "blend"):
                    blend_face(output, swapped, face, config.swap)
                self._held[face.track_id] = _HeldSwap(swapped, face)
                swapped_tracks.add(face.track_id)
                swapped_any = True
            unswapped = [face for face in selected if face.track_id not in swapped_tracks]
            swapped_any |= self._blend_held(output, swapped_tracks, unswapped, stage_ms)
            self._drop_unused_engines()
        live_tracks = {face.track_id for face in faces}
        for track_id in [track_id for track_id in self._large_enough if track_id not in live_tracks]:
            del self._large_enough[track_id]
        # The label says the picture is AI-modified: true while a face is set to be swapped, even in a frame where
        # none is found (so it does not blink), untrue with "No swap" chosen.
        swapping = config.swap.enabled and (
            self._target is not None or any(target is not None for target in self._face_targets.values())
        )
        with time_stage(stage_ms, "mark"):
            output = self._marker.apply(output, label=swapping)
        return FrameResult(
            output_bgr=output,
            source=frame,
            faces=tuple(faces),
            stage_ms=stage_ms,
            finished_at_s=time.perf_counter(),
            swapped=swapped_any,
        )

    def _swap_one(
        self, image_bgr: BgrImage, face: FaceLandmarks, engine: SwapEngine, stage_ms: dict[str, float]
    ) -> SwappedFace | None:
        aligned = None
        if engine.alignment is not None:
            with time_stage(stage_ms, "align"):
                spec = engine.alignment
                aligned = align_face(image_bgr, face.keypoints_px, spec.template, spec.size)
        with time_stage(stage_ms, "swap"):
            return engine.swap_face(image_bgr, face, aligned, self._config.swap)

    def _blend_held(
        self, output: BgrImage, swapped_tracks: set[int], unswapped: list[FaceLandmarks], stage_ms: dict[str, float]
    ) -> bool:
        """A lost track's last swap, for up to hold_frames frames, but only on a face detected now that overlaps it.

        This covers a face whose track was briefly mixed up (the detection is there, under another id) without ever
        drawing a face over the background: where nothing is detected, nothing is drawn.
        """
        blended = False
        for track_id in list(self._held):
            if track_id in swapped_tracks:
                continue
            held = self._held[track_id]
            held.frames_missing += 1
            if held.frames_missing > self._config.swap.hold_frames:
                del self._held[track_id]
                continue
            overlapping = [face for face in unswapped if face.box.iou(held.face.box) >= HELD_MIN_OVERLAP]
            if not overlapping:
                continue
            unswapped.remove(overlapping[0])
            with time_stage(stage_ms, "blend"):
                blend_face(output, held.swapped, held.face, self._config.swap)
            blended = True
        return blended

    def close(self) -> None:
        self._settle()
        if self._helper is not None:
            self._helper.shutdown()
        if self._preparer is not None:
            self._preparer.shutdown(cancel_futures=True)
        self._close_extra_engines()
        self._engine.close()
        self._detector.close()


def _engine_settings(config: AppConfig) -> object:
    """The part of the config that requires building the engine again when it changes (the built-in engine prepares
    the photo's mouth for whether the user's own mouth shows through)."""
    return config.onnx if config.swap.engine == "onnx" else config.swap.mouth_from_user
