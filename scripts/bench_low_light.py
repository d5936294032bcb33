"""Landmark hit rate and error on darkened real clips, without and with the low-light boost, and the boost's cost.

The shared face clips are darkened the way a dim room darkens a webcam picture: the light (in linear sRGB) is scaled
down, sensor noise is added, and the result is quantised to 8 bits again. Every frame then goes through the real
MediaPipe landmark model in video mode (as in the app), as it is and after each variant of the boost.

    python scripts/bench_low_light.py [--frames 90] [--light 0.05 0.02 0.01 0.005]

Prints a Markdown table for BENCHMARKS.md, separately for the clips the default was chosen on (even-numbered) and the
held-out ones (odd-numbered). Hit rate = frames where a face was found; error = mean distance of the 478 landmarks
from those found on the same frame before darkening, in % of the eye distance (frames found in both).
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
from faceswap_live.stages.mesh_topology import LEFT_EYE_CORNERS, RIGHT_EYE_CORNERS

SHARED = Path(os.environ.get("FACESWAP_LIVE_SHARED", Path(__file__).resolve().parents[2] / "shared"))
NOISE_SIGMA = 2.0  # grey levels of sensor noise in the dark picture
LEFT_EYE_OUTER, RIGHT_EYE_OUTER = LEFT_EYE_CORNERS[1], RIGHT_EYE_CORNERS[0]  # outer corners: image right, image left


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
    # The default was chosen on the even-numbered clips; the odd-numbered ones are held out to check it.
    halves = {"choice": [clip.name for clip in clips[0::2]], "held out": [clip.name for clip in clips[1::2]]}
    clip_frames = {clip.name: read_frames(clip, args.frames) for clip in clips}
    variants: dict[str, LowLightConfig | None] = {
        "no boost": None,
        "gamma": LowLightConfig(enabled=True, clahe_clip=0),
        "gamma+CLAHE 1": LowLightConfig(enabled=True, clahe_clip=1.0),
        "gamma+CLAHE 2": LowLightConfig(enabled=True, clahe_clip=2.0),
    }
    reference = {name: landmarks(frames, model, None, []) for name, frames in clip_frames.items()}
    print(f"{len(clips)} clips, {sum(len(f) for f in clip_frames.values())} frames ({args.frames} per clip)\n")
    header = " | ".join(variants)
    print(f"| light | clips | mean luma | hit rate: {header} | landmark error %: {header} |")
    print("|---|---|---|" + "---|" * (2 * len(variants)))
    costs: dict[str, list[float]] = {name: [] for name, config in variants.items() if config is not None}
    for light in args.light:
        rng = np.random.default_rng(0)
        dark = {name: [darken(frame, light, rng) for frame in frames] for name, frames in clip_frames.items()}
        per_clip: dict[tuple[str, str], tuple[int, list[float]]] = {}
        for name, config in variants.items():
            for clip, frames in dark.items():
                boost = LowLightBoost(config) if config is not None else None
                found = landmarks(frames, model, boost, costs.get(name, []))
                per_clip[name, clip] = summarise(reference[clip], found)
        for half, names in halves.items():
            total = sum(len(dark[clip]) for clip in names)
            luma = statistics.mean(float(cv2.cvtColor(f, cv2.COLOR_BGR2GRAY).mean()) for c in names for f in dark[c])
            rates, errors = [], []
            for name in variants:
                hits = sum(per_clip[name, clip][0] for clip in names)
                error_values = [value for clip in names for value in per_clip[name, clip][1]]
                rates.append(f"{hits / total:.1%}")
                errors.append(f"{statistics.median(error_values):.2f}")
            print(f"| {light:g} | {half} | {luma:.0f} | {' | '.join(rates)} | {' | '.join(errors)} |", flush=True)
    costs_text = ", ".join(f"{name} {statistics.median(values):.2f}" for name, values in costs.items())
    print(f"\nBoost cost per 640-wide frame (median ms): {costs_text}")


if __name__ == "__main__":
    main()
