"""`faceswap-live eval`: swap shared target photos onto shared videos and measure what a viewer would judge.

For each (video, target person) pair the real pipeline runs on consecutive frames (scaled to fit 640×480, like a
webcam) and each output frame is measured with tools independent of the swap:
- identity: dlib's recogniser, against a DIFFERENT photo of the target person than the one swapped in (the judge
  photo), so copying one photo cannot win: share of frames nearer the target than the original person (the
  source frame's own face), and the mean distances;
- expression: a fresh MediaPipe landmarker (image mode, no tracking state shared with the pipeline) measures mouth
  and eye opening on the source and on the OUTPUT frames: their correlation says the swap follows the user. A
  correlation needs the mouth to move: the headline mouth figure pools the frames of the clips whose source mouth
  opening varies (standard deviation >= MOUTH_MOTION_MIN_STD over the clip); clips with a still mouth are reported
  per clip but left out of it (their correlation is landmark noise against landmark noise);
- overlap: IoU of the face box found on the output with the one found on the source;
- stability: on still stretches, the mean frame-to-frame change inside the face region of the output over that of
  the source (1.0 = no added flicker). A frame pair counts when the source landmarks move < 0.4% of the face height
  across it AND across the pairs just before and after it: some clips repeat every other frame (15 fps material in
  a 30 fps file), and a repeated frame in the middle of a head movement looks still on its own (source change ~0)
  while the pipeline's smoothed landmarks rightly keep moving, which made the ratio explode (v09: 3.7, v12: 50);
- expression figures: MediaPipe's blendshape scores (measures.EXPRESSION_KEYS: smile, pucker, funnel, jaw, brows,
  blinks) read by the same fresh landmarker on every EXPRESSION_EVERY-th frame of the source and of the output:
  per clip and pooled, the offset (output mean − source mean: a smiling target photo that keeps smiling shows as a
  positive smile offset) and the correlation for the keys the source moves (see measures.expression_figures).
- shading: on the judged frames, the correlation inside the face of the blurred luminance (sigma an eighth of the
  face width) of source and output: the swapped face should be lit like the user's (measures.shading_correlation);
- speed: per-stage ms of the pipeline (p50, p95).
"""

from __future__ import annotations

import dataclasses
import logging
import math
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Final

import cv2
import numpy as np

from faceswap_live.config import AppConfig, LandmarkConfig
from faceswap_live.eval.identity import FaceRecogniser, face_distance
from faceswap_live.eval.measures import (
    EXPRESSION_KEYS,
    EXPRESSION_MIN_STD,
    ExpressionFigure,
    correlation,
    expression_figures,
    eye_opening,
    face_height,
    mean_absolute_change,
    mouth_opening,
    shading_correlation,
)
from faceswap_live.inputs.target_photo import find_faces_in_photo, load_target_face, read_image
from faceswap_live.offline import read_video_frames
from faceswap_live.profiling import StageSummary
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.stages.expression import iris_offsets
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.stages.mesh_topology import FACE_OVAL
from faceswap_live.types import BgrImage, Box, Frame

logger = logging.getLogger(__name__)

STILL_MOTION: Final = 0.004
"""A frame pair is "still" when the mean landmark motion across it is below this share of face height (and the
pairs either side are still too, see the module docstring)."""
MAX_FRAME_SIZE: Final = (640, 480)
EXPRESSION_EVERY: Final = 3
"""Expression figures are read on every this-th frame (neighbouring frames add little new information)."""
MIN_STILL_PAIRS: Final = 10
"""A clip's stability ratio enters the median over clips only with at least this many still frame pairs."""
BORDERLINE_DISTANCE: Final = 0.01
"""Judged frames nearer the target or the source by less than this (dlib distance) are counted as borderline."""
MOUTH_MOTION_MIN_STD: Final = 0.02
"""A clip counts as "talking" when the standard deviation of its source mouth opening (inner-lip gap over mouth
width, see measures.mouth_opening) is at least this: about a tenth of a wide-open mouth. Still-mouth clips measure
0.001-0.003 (landmark noise), talking ones 0.04-0.15."""


@dataclass(frozen=True)
class EvalPair:
    """One evaluation run: a video (file under videos/), the photo swapped in, and another photo of that person."""

    video: str
    target_photo: str
    judge_photo: str
    more_photos: tuple[str, ...] = ()
    """Other photos of the target person drawn from as well (TargetFace.more_photos); never the judge photo."""


DEFAULT_PAIRS: Final = (
    EvalPair("v01_p39.avi", "p02_1.jpg", "p02_2.jpg"),
    EvalPair("v06_p43.mp4", "p08_1.jpg", "p08_3.jpg"),
    EvalPair("v07_p44.mp4", "p05_1.jpg", "p05_3.jpg"),
    EvalPair("v10_p47.mp4", "p07_1.jpg", "p07_2.jpg"),
    EvalPair("v16_p01.mp4", "p04_2.jpg", "p04_3.jpg"),
    EvalPair("v09_p46.mp4", "p03_1.jpg", "p03_3.jpg"),
    EvalPair("v08_p45.mp4", "p13_1.jpg", "p13_2.jpg"),
    EvalPair("v12_p49.mp4", "p10_1.jpg", "p10_2.jpg"),
)
"""Webcam, glasses, head turns (woman onto woman), beard, talking head, talking woman (onto woman), extreme
expressions (woman onto woman), laughing; targets are people with several photos."""


def with_more_photos(pairs: Sequence[EvalPair], portraits_dir: Path) -> list[EvalPair]:
    """The pairs with each target person's other portraits (same "pNN_" prefix) as more photos of the target; the
    judge's photo is never one of them."""
    names = sorted(path.name for path in portraits_dir.iterdir() if path.is_file())
    result = []
    for pair in pairs:
        person = pair.target_photo.split("_")[0] + "_"
        more = tuple(
            name for name in names if name.startswith(person) and name not in (pair.target_photo, pair.judge_photo)
        )
        result.append(dataclasses.replace(pair, more_photos=more))
    return result


@dataclass
class PairResult:
    video: str
    target_photo: str
    judge_photo: str
    frame_size: str
    frames: int
    swapped_frames: int
    identity_frames: int = 0
    nearer_target_share: float = math.nan
    distance_to_target: float = math.nan
    distance_to_source: float = math.nan
    mouth_correlation: float = math.nan
    mouth_motion_std: float = math.nan
    """Standard deviation of the source mouth opening over the clip (see MOUTH_MOTION_MIN_STD)."""
    eye_correlation: float = math.nan
    mean_iou: float = math.nan
    still_frames: int = 0
    stability_ratio: float = math.nan
    stage_ms: dict[str, tuple[float, float]] = field(default_factory=dict)
    mouth_source: list[float] = field(default_factory=list, repr=False)
    mouth_output: list[float] = field(default_factory=list, repr=False)
    eye_source: list[float] = field(default_factory=list, repr=False)
    eye_output: list[float] = field(default_factory=list, repr=False)
    nearer: list[bool] = field(default_factory=list, repr=False)
    distances_to_target: list[float] = field(default_factory=list, repr=False)
    distances_to_source: list[float] = field(default_factory=list, repr=False)
    stage_values: dict[str, list[float]] = field(default_factory=dict, repr=False)
    expression_source: dict[str, list[float]] = field(default_factory=dict, repr=False)
    expression_output: dict[str, list[float]] = field(default_factory=dict, repr=False)

    @property
    def expression(self) -> list[ExpressionFigure]:
        """The expression figures of this clip (see measures.expression_figures)."""
        return expression_figures(self.expression_source, self.expression_output)

    shading_correlations: list[float] = field(default_factory=list, repr=False)
    """Per judged frame: blurred-luminance correlation of source and output inside the face."""
    gaze_source: list[tuple[float, float]] = field(default_factory=list, repr=False)
    gaze_output: list[tuple[float, float]] = field(default_factory=list, repr=False)
    """Per frame with a face in both: the irises' mean offset in their eyes (expression.iris_offsets: along, across)."""

    @property
    def gaze_correlation(self) -> tuple[float, float]:
        """Source vs output gaze correlation over the clip: (along the eye, across it)."""
        return _gaze_correlation(self.gaze_source, self.gaze_output)

    @property
    def shading_correlation(self) -> float:
        """Mean over the clip's judged frames of the shading correlation (see the module docstring)."""
        return float(np.mean(self.shading_correlations)) if self.shading_correlations else math.nan

    @property
    def mouth_moves(self) -> bool:
        """Whether the source mouth moves enough in this clip for its mouth correlation to mean something."""
        return not math.isnan(self.mouth_motion_std) and self.mouth_motion_std >= MOUTH_MOTION_MIN_STD


@dataclass
class EvalReport:
    pairs: list[PairResult]
    nearer_target_share: float
    distance_to_target: float
    distance_to_source: float
    mouth_correlation: float
    """Pooled over the frames of the clips whose mouth moves (PairResult.mouth_moves)."""
    mouth_correlation_all_clips: float
    """Pooled over every frame of every clip, still mouths included (mixes in noise)."""
    mouth_correlation_per_clip_median: float
    """Median of the per-clip correlations of the clips whose mouth moves (no between-clip variation helps it)."""
    eye_correlation: float
    mean_iou: float
    stability_ratio: float
    stage_ms: dict[str, tuple[float, float]]
    seconds: float
    expression: list[ExpressionFigure] = field(default_factory=list)
    """Pooled over the sampled frames of every clip."""
    shading_correlation: float = math.nan
    """Mean over the judged frames of all clips of the blurred-luminance correlation inside the face."""
    borderline_frames: int = 0
    """Judged frames whose distances to the target and to the source differ by less than BORDERLINE_DISTANCE: the
    frames that any small change may flip, which says how much the nearer-the-target share can move by chance."""


def _percentiles(values: list[float]) -> tuple[float, float]:
    if not values:
        return (math.nan, math.nan)
    summary = StageSummary.of(values)
    return (summary.p50_ms, summary.p95_ms)


def _fit_frame(image_bgr: BgrImage) -> BgrImage:
    height, width = image_bgr.shape[:2]
    scale = (
        min(1.0, MAX_FRAME_SIZE[0] / width, MAX_FRAME_SIZE[1] / height)
        if width >= height
        else min(1.0, MAX_FRAME_SIZE[1] / width, MAX_FRAME_SIZE[0] / height)
    )
    if scale >= 1.0:
        return image_bgr
    return np.asarray(cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def side_by_side(images_bgr: list[BgrImage], height: int = 360) -> BgrImage:
    """Images scaled to one height and placed left to right (BGR)."""
    scaled = [
        cv2.resize(
            image, (max(1, round(image.shape[1] * height / image.shape[0])), height), interpolation=cv2.INTER_AREA
        )
        for image in images_bgr
    ]
    return np.asarray(np.hstack(scaled), dtype=np.uint8)


def evaluate_pair(
    pair: EvalPair,
    faces_dir: Path,
    landmark_model_path: Path,
    recogniser: FaceRecogniser,
    config: AppConfig,
    frames_per_clip: int = 90,
    identity_every: int = 3,
    stills_dir: Path | None = None,
) -> PairResult:
    """Run and measure one pair (see the module docstring). Raises TargetFaceError/CameraError for bad inputs."""
    target = load_target_face(faces_dir / "portraits" / pair.target_photo, landmark_model_path)
    if pair.more_photos:
        more = tuple(load_target_face(faces_dir / "portraits" / name, landmark_model_path) for name in pair.more_photos)
        target = dataclasses.replace(target, more_photos=more)
    judge_image = read_image(faces_dir / "portraits" / pair.judge_photo)
    judge_faces = find_faces_in_photo(judge_image, landmark_model_path, max_faces=1)
    judge_embedding = recogniser.embed(judge_image, judge_faces[0].box if judge_faces else None)
    raw_frames, fps = read_video_frames(faces_dir / "videos" / pair.video, frames_per_clip)
    frames = [_fit_frame(frame) for frame in raw_frames]
    result = PairResult(
        pair.video,
        pair.target_photo,
        pair.judge_photo,
        f"{frames[0].shape[1]}x{frames[0].shape[0]}",
        len(frames),
        0,
    )
    stage_values = result.stage_values
    nearer, to_target, to_source = result.nearer, result.distances_to_target, result.distances_to_source
    eyes_source, eyes_output = result.eye_source, result.eye_output
    ious: list[float] = []
    # Per consecutive frame pair: (index of the later frame, landmarks still?, source change, output change).
    frame_pairs: list[tuple[int, bool, float, float]] = []
    previous: tuple[BgrImage, BgrImage, np.ndarray] | None = None
    best_mouth, stills = -1.0, {}
    pipeline = Pipeline(config, landmark_model_path)
    checker = FaceLandmarkDetector(
        landmark_model_path, LandmarkConfig(max_faces=1), mode="image", with_blendshapes=True
    )
    try:
        pipeline.set_target(target)
        stream = (Frame(image_bgr=image, index=index, captured_at_s=index / fps) for index, image in enumerate(frames))
        for index, (image, frame_result) in enumerate(zip(frames, pipeline.process_all(stream), strict=True)):
            for stage, value in frame_result.stage_ms.items():
                stage_values.setdefault(stage, []).append(value)
            stage_values.setdefault("total", []).append(sum(frame_result.stage_ms.values()))
            if not frame_result.swapped:
                previous = None
                continue
            result.swapped_frames += 1
            output = frame_result.output_bgr
            found_source, found_output = checker.detect(image), checker.detect(output)
            if not found_source:
                previous = None
                continue
            source_points = found_source[0].points_px
            source_box = Box.around(source_points)
            if found_output:
                output_points = found_output[0].points_px
                ious.append(source_box.iou(Box.around(output_points)))
                result.mouth_source.append(mouth_opening(source_points))
                result.mouth_output.append(mouth_opening(output_points))
                eyes_source.append(eye_opening(source_points))
                eyes_output.append(eye_opening(output_points))
                source_gaze, output_gaze = iris_offsets(source_points), iris_offsets(output_points)
                if source_gaze is not None and output_gaze is not None:
                    result.gaze_source.append(tuple(source_gaze.mean(axis=0)))
                    result.gaze_output.append(tuple(output_gaze.mean(axis=0)))
                if index % EXPRESSION_EVERY == 0:
                    _record_expression(result, found_source[0].blendshapes, found_output[0].blendshapes)
                if result.mouth_source[-1] > best_mouth or index in (0, len(frames) // 2):
                    key = "mouth" if result.mouth_source[-1] > best_mouth else f"frame{index}"
                    best_mouth = max(best_mouth, result.mouth_source[-1])
                    stills[key] = side_by_side([image, target.image_bgr, output])
            else:
                ious.append(0.0)
            if index % identity_every == 0 and judge_embedding is not None:
                output_embedding = recogniser.embed(output, source_box)
                source_embedding = recogniser.embed(image, source_box)
                if output_embedding is not None and source_embedding is not None:
                    to_target.append(face_distance(output_embedding, judge_embedding))
                    to_source.append(face_distance(output_embedding, source_embedding))
                    nearer.append(to_target[-1] < to_source[-1])
            if index % identity_every == 0:
                shading = shading_correlation(image, output, source_points[list(FACE_OVAL)])
                if not math.isnan(shading):
                    result.shading_correlations.append(shading)
            if previous is not None:
                previous_source, previous_output, previous_points = previous
                motion = float(np.linalg.norm(source_points[:, :2] - previous_points[:, :2], axis=1).mean())
                region = source_box.expanded(1.1).clipped(image.shape[1], image.shape[0])
                frame_pairs.append(
                    (
                        index,
                        motion < STILL_MOTION * face_height(source_points),
                        mean_absolute_change(previous_source, image, region),
                        mean_absolute_change(previous_output, output, region),
                    )
                )
            previous = (image, output, source_points)
    finally:
        checker.close()
        pipeline.close()
    result.identity_frames = len(nearer)
    if nearer:
        result.nearer_target_share = float(np.mean(nearer))
        result.distance_to_target = float(np.mean(to_target))
        result.distance_to_source = float(np.mean(to_source))
    result.mouth_correlation = correlation(result.mouth_source, result.mouth_output)
    if len(result.mouth_source) >= 3:
        result.mouth_motion_std = float(np.std(result.mouth_source))
    result.eye_correlation = correlation(eyes_source, eyes_output)
    result.mean_iou = float(np.mean(ious)) if ious else math.nan
    still_pairs = still_stretch_pairs(frame_pairs)
    source_changes = [pair_source for _, _, pair_source, _ in still_pairs]
    output_changes = [pair_output for _, _, _, pair_output in still_pairs]
    result.still_frames = len(source_changes)
    if source_changes:
        result.stability_ratio = float(np.mean(output_changes)) / max(float(np.mean(source_changes)), 1e-6)
    result.stage_ms = {stage: _percentiles(values) for stage, values in stage_values.items()}
    if stills_dir is not None:
        stills_dir.mkdir(parents=True, exist_ok=True)
        for key, still in stills.items():
            cv2.imwrite(str(stills_dir / f"{Path(pair.video).stem}_{Path(pair.target_photo).stem}_{key}.png"), still)
    return result


def _record_expression(result: PairResult, source: dict[str, float], output: dict[str, float]) -> None:
    if not all(key in source and key in output for key in EXPRESSION_KEYS):
        return
    for key in EXPRESSION_KEYS:
        result.expression_source.setdefault(key, []).append(source[key])
        result.expression_output.setdefault(key, []).append(output[key])


def pooled_expression(results: list[PairResult]) -> list[ExpressionFigure]:
    """The expression figures over the sampled frames of all the clips together."""
    source: dict[str, list[float]] = {}
    output: dict[str, list[float]] = {}
    for result in results:
        for key, values in result.expression_source.items():
            source.setdefault(key, []).extend(values)
        for key, values in result.expression_output.items():
            output.setdefault(key, []).extend(values)
    return expression_figures(source, output)


def still_stretch_pairs(frame_pairs: list[tuple[int, bool, float, float]]) -> list[tuple[int, bool, float, float]]:
    """The frame pairs (later frame index, still, source change, output change) that lie inside a still stretch:
    the pair itself and the pairs ending one frame before and one frame after it are all still."""
    still_indices = {index for index, still, _, _ in frame_pairs if still}
    return [
        pair
        for pair in frame_pairs
        if pair[0] in still_indices and pair[0] - 1 in still_indices and pair[0] + 1 in still_indices
    ]


def run_eval(
    faces_dir: Path,
    landmark_model_path: Path,
    eval_models_dir: Path,
    pairs: tuple[EvalPair, ...] | list[EvalPair] = DEFAULT_PAIRS,
    config: AppConfig | None = None,
    frames_per_clip: int = 90,
    identity_every: int = 3,
    stills_dir: Path | None = None,
) -> EvalReport:
    """Evaluate the configured engine on (video, target) pairs; ~1 minute per pair at the defaults on 2 cores.

    faces_dir: ../shared/data/faces (videos/, portraits/). eval_models_dir: folder with the dlib models.
    stills_dir: where side-by-side stills (source | target | output) go; they show the shared people, so keep them
    out of the repository. Raises ModelError when a model is missing.
    """
    started = time.perf_counter()
    config = config or AppConfig()
    recogniser = FaceRecogniser(eval_models_dir)
    results = []
    for pair in pairs:
        logger.info("evaluating %s with %s", pair.video, pair.target_photo)
        results.append(
            evaluate_pair(
                pair, faces_dir, landmark_model_path, recogniser, config, frames_per_clip, identity_every, stills_dir
            )
        )
    stages: dict[str, list[float]] = {}
    for result in results:
        for stage, values in result.stage_values.items():
            stages.setdefault(stage, []).extend(values)
    nearer = [value for result in results for value in result.nearer]
    to_target = [value for result in results for value in result.distances_to_target]
    to_source = [value for result in results for value in result.distances_to_source]
    eyes_source = [value for result in results for value in result.eye_source]
    eyes_output = [value for result in results for value in result.eye_output]
    mouth_source = [value for result in results for value in result.mouth_source]
    mouth_output = [value for result in results for value in result.mouth_output]
    talking = [result for result in results if result.mouth_moves]
    talking_source = [value for result in talking for value in result.mouth_source]
    talking_output = [value for result in talking for value in result.mouth_output]
    talking_per_clip = [result.mouth_correlation for result in talking if not math.isnan(result.mouth_correlation)]
    ious = [result.mean_iou for result in results if not math.isnan(result.mean_iou)]
    ratios = [
        result.stability_ratio
        for result in results
        if not math.isnan(result.stability_ratio) and result.still_frames >= MIN_STILL_PAIRS
    ]
    return EvalReport(
        pairs=results,
        nearer_target_share=float(np.mean(nearer)) if nearer else math.nan,
        borderline_frames=int(np.sum(np.abs(np.subtract(to_source, to_target)) < BORDERLINE_DISTANCE)),
        distance_to_target=float(np.mean(to_target)) if to_target else math.nan,
        distance_to_source=float(np.mean(to_source)) if to_source else math.nan,
        mouth_correlation=correlation(talking_source, talking_output),
        mouth_correlation_all_clips=correlation(mouth_source, mouth_output),
        mouth_correlation_per_clip_median=float(np.median(talking_per_clip)) if talking_per_clip else math.nan,
        eye_correlation=correlation(eyes_source, eyes_output),
        mean_iou=float(np.mean(ious)) if ious else math.nan,
        stability_ratio=float(np.median(ratios)) if ratios else math.nan,
        stage_ms={stage: _percentiles(values) for stage, values in stages.items()},
        seconds=time.perf_counter() - started,
        expression=pooled_expression(results),
        shading_correlation=_pooled_shading(results),
    )


def _gaze_correlation(source: list[tuple[float, float]], output: list[tuple[float, float]]) -> tuple[float, float]:
    along = correlation([value[0] for value in source], [value[0] for value in output])
    across = correlation([value[1] for value in source], [value[1] for value in output])
    return along, across


def _gaze_lines(report: EvalReport) -> list[str]:
    """Gaze: where the irises sit in the eyes, source vs output, pooled and per clip."""
    source = [value for result in report.pairs for value in result.gaze_source]
    output = [value for result in report.pairs for value in result.gaze_output]
    along, across = _gaze_correlation(source, output)
    per_clip = ", ".join(
        f"{Path(result.video).stem} {result.gaze_correlation[0]:.2f} / {result.gaze_correlation[1]:.2f}"
        for result in report.pairs
    )
    return [
        f"- Gaze (iris centre in its eye, along / across the eye, source vs output r): pooled {along:.3f} / "
        f"{across:.3f}; per clip: {per_clip}"
    ]


def _pooled_shading(results: list[PairResult]) -> float:
    values = [value for result in results for value in result.shading_correlations]
    return float(np.mean(values)) if values else math.nan


def format_report(report: EvalReport) -> str:
    """The report as Markdown: one row per pair, then the pooled figures and per-stage ms."""
    talking = sum(result.mouth_moves for result in report.pairs)
    lines = [
        "| video | target (judged on) | size | swapped | nearer target | dist target | dist source | mouth r (motion) |"
        " eye r | IoU | stability | swap ms p50/p95 | blend ms p50/p95 |",
        "|---|---|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for result in report.pairs:
        swap = result.stage_ms.get("swap", (math.nan, math.nan))
        blend = result.stage_ms.get("blend", (math.nan, math.nan))
        lines.append(
            f"| {result.video} | {result.target_photo} ({result.judge_photo}) | {result.frame_size} | "
            f"{result.swapped_frames}/{result.frames} | {result.nearer_target_share:.2f} ({result.identity_frames}) | "
            f"{result.distance_to_target:.3f} | {result.distance_to_source:.3f} | {result.mouth_correlation:.2f} "
            f"({result.mouth_motion_std:.3f}{'' if result.mouth_moves else ', still'}) | "
            f"{result.eye_correlation:.2f} | {result.mean_iou:.2f} | {result.stability_ratio:.2f} "
            f"({result.still_frames}) | {swap[0]:.2f}/{swap[1]:.2f} | {blend[0]:.2f}/{blend[1]:.2f} |"
        )
    lines += [
        "",
        f"- Output nearer the target than the source: {report.nearer_target_share:.1%} of judged frames "
        f"({report.borderline_frames} within {BORDERLINE_DISTANCE} of the line either way)",
        f"- Mean dlib distance to the target (other photo): {report.distance_to_target:.3f}; "
        f"to the source person: {report.distance_to_source:.3f}",
        f"- Mouth-opening correlation, pooled over the frames of the {talking} clips whose mouth moves (source "
        f"opening std >= {MOUTH_MOTION_MIN_STD}): {report.mouth_correlation:.3f}; median of their per-clip "
        f"correlations: {report.mouth_correlation_per_clip_median:.3f}; pooled over all clips, still mouths "
        f"included: {report.mouth_correlation_all_clips:.3f}",
        f"- Eye-opening correlation (pooled, all clips): {report.eye_correlation:.3f}",
        f"- Face box IoU output vs source: {report.mean_iou:.3f}",
        f"- Stability (output change / source change on still stretches, median over the clips with at least "
        f"{MIN_STILL_PAIRS} still frame pairs): "
        f"{report.stability_ratio:.2f}",
        "- Stage ms (p50 / p95): "
        + ", ".join(f"{stage} {p50:.2f} / {p95:.2f}" for stage, (p50, p95) in sorted(report.stage_ms.items())),
        f"- Evaluation took {report.seconds:.0f} s",
        "",
        format_expression_table(report),
    ]
    lines[-1:-1] = _shading_lines(report) + _gaze_lines(report)
    return "\n".join(lines)


def format_expression_table(report: EvalReport) -> str:
    """Per clip and pooled: offset / r of each expression key (Markdown); r shows '-' where the source hardly
    moves on that key (standard deviation < EXPRESSION_MIN_STD)."""

    def cells(figures: list[ExpressionFigure]) -> str:
        return " | ".join(
            f"{figure.offset:+.2f} / {'-' if math.isnan(figure.correlation) else f'{figure.correlation:.2f}'}"
            for figure in figures
        )

    lines = [
        f"Expression (MediaPipe blendshapes on every {EXPRESSION_EVERY}rd frame, offset = output mean − source mean / "
        f"r where the source std >= {EXPRESSION_MIN_STD}):",
        "",
        "| video | target | " + " | ".join(EXPRESSION_KEYS) + " |",
        "|---|---|" + "---|" * len(EXPRESSION_KEYS),
    ]
    for result in report.pairs:
        lines.append(f"| {result.video} | {result.target_photo} | {cells(result.expression)} |")
    lines.append(f"| pooled | | {cells(report.expression)} |")
    worst_offset = max((abs(f.offset) for f in report.expression if not math.isnan(f.offset)), default=math.nan)
    worst_r = min((f.correlation for f in report.expression if not math.isnan(f.correlation)), default=math.nan)
    lines += ["", f"- Pooled: largest |offset| {worst_offset:.2f}, smallest r {worst_r:.2f}"]
    return "\n".join(lines)


def _shading_lines(report: EvalReport) -> list[str]:
    """The shading figure: per clip and pooled (mean over judged frames)."""
    per_clip = ", ".join(f"{Path(result.video).stem} {result.shading_correlation:.2f}" for result in report.pairs)
    return [
        f"- Shading (blurred luminance, sigma 1/8 face width, source vs output inside the face, mean r over judged "
        f"frames): pooled {report.shading_correlation:.3f}; per clip: {per_clip}"
    ]
