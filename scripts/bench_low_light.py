"""Landmark hit rate and error on darkened real clips, without and with the low-light boost, and the boost's cost.

The shared face clips are darkened the way a dim room darkens a webcam picture: the light (in linear sRGB) is scaled
down, sensor noise is added, and the result is quantised to 8 bits again. Every frame then goes through the real
MediaPipe landmark model in video mode (as in the app), once as it is and once after the boost.

    python scripts/bench_low_light.py [--frames 150] [--light 0.05 0.02]

Prints a Markdown table for BENCHMARKS.md: hit rate = frames where a face was found; error = mean distance of the 478
landmarks from those found on the same frame before darkening, in % of the eye distance (frames found in both).
"""

from __future__ import annotations

import argparse
import os
import statistics
import time
from pathlib import Path

import cv2
import numpy as np

from faceswap_live.config import LandmarkConfig, LowLightConfig
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.stages.low_light import LowLightBoost

SHARED = Path(os.environ.get("FACESWAP_LIVE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
NOISE_SIGMA = 2.0  # grey levels of sensor noise in the dark picture
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = 263, 33  # MediaPipe face mesh indices


def darken(image_bgr: np.ndarray, light: float, rng: np.random.Generator) -> np.ndarray:
    linear = (image_bgr.astype(np.float32) / 255.0) ** 2.2 * light
    dark = 255.0 * linear ** (1 / 2.2) + rng.normal(0.0, NOISE_SIGMA, image_bgr.shape)
    return np.clip(dark + 0.5, 0, 255).astype(np.uint8)


def read_frames(path: Path, count: int) -> list[np.ndarray]:
    capture = cv2.VideoCapture(str(path))
    frames = []
    while len(frames) < count:
        ok, frame = capture.read()
        if not ok:
            break
        if frame.shape[1] > 640:  # camera-sized, as the app's default capture
            frame = cv2.resize(frame, (640, frame.shape[0] * 640 // frame.shape[1]), interpolation=cv2.INTER_AREA)
        frames.append(frame)
    capture.release()
    return frames


def landmarks(
    frames: list[np.ndarray], model: Path, boost: LowLightBoost | None, cost_ms: list[float]
) -> list[np.ndarray | None]:
    """The first face's landmarks (x, y in pixels) per frame, None where no face was found."""
    detector = FaceLandmarkDetector(model, LandmarkConfig(), mode="video")
    found: list[np.ndarray | None] = []
    try:
        for index, frame in enumerate(frames):
            if boost is not None:
                started = time.perf_counter()
                frame = boost.apply(frame)
                cost_ms.append((time.perf_counter() - started) * 1000)
            faces = detector.detect(frame, index * 33)
            found.append(faces[0].points_px[:, :2].copy() if faces else None)
    finally:
        detector.close()
    return found


def error_pct(reference: np.ndarray, points: np.ndarray) -> float:
    eye_distance = float(np.linalg.norm(reference[LEFT_EYE_OUTER] - reference[RIGHT_EYE_OUTER]))
    return float(np.linalg.norm(points - reference, axis=1).mean() / max(eye_distance, 1.0) * 100)


def summarise(reference: list[np.ndarray | None], found: list[np.ndarray | None]) -> tuple[int, list[float]]:
    errors = [
        error_pct(ref, pts) for ref, pts in zip(reference, found, strict=True) if ref is not None and pts is not None
    ]
    return sum(points is not None for points in found), errors


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--frames", type=int, default=150, help="frames per clip")
    parser.add_argument("--light", type=float, nargs="+", default=[0.05, 0.02], help="light levels (1 = as shot)")
    args = parser.parse_args()
    model = SHARED / "models" / "face_landmarker.task"
    clips = sorted((SHARED / "data" / "faces" / "videos").iterdir())
    clip_frames = {clip.name: read_frames(clip, args.frames) for clip in clips}
    variants = {"gamma + CLAHE": LowLightConfig(enabled=True), "gamma only": LowLightConfig(enabled=True, clahe_clip=0)}
    total = sum(len(frames) for frames in clip_frames.values())
    reference = {name: landmarks(frames, model, None, []) for name, frames in clip_frames.items()}
    original = sum(points is not None for found in reference.values() for points in found)
    print(f"{len(clips)} clips, {total} frames; face found in {original / total:.1%} of the original frames\n")
    header = " | ".join(["no boost", *variants])
    print(f"| light | mean luma | hit rate: {header} | error %: {header} |")
    print("|---|---|" + "---|" * (2 * (len(variants) + 1)))
    costs: dict[str, list[float]] = {name: [] for name in variants}
    for light in args.light:
        rng = np.random.default_rng(0)
        dark = {name: [darken(frame, light, rng) for frame in frames] for name, frames in clip_frames.items()}
        luma = statistics.mean(float(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).mean()) for fs in dark.values() for f in fs)
        rates, errors = [], []
        for name, config in [("no boost", None), *variants.items()]:
            hits, error_values = 0, []
            for clip, frames in dark.items():
                boost = LowLightBoost(config) if config is not None else None
                clip_hits, clip_errors = summarise(
                    reference[clip], landmarks(frames, model, boost, costs.get(name, []))
                )
                hits += clip_hits
                error_values += clip_errors
            rates.append(f"{hits / total:.1%}")
            errors.append(f"{statistics.median(error_values):.2f}")
        print(f"| {light:g} | {luma:.0f} | {' | '.join(rates)} | {' | '.join(errors)} |")
    costs_text = ", ".join(f"{name} {statistics.median(values):.2f}" for name, values in costs.items())
    print(f"\nBoost cost per 640-wide frame (median ms): {costs_text}")


if __name__ == "__main__":
    main()
