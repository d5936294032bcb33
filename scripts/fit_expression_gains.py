"""Fit the mesh engine's expression gains (EXPRESSION_GAINS in src/faceswap_live/stages/expression.py).

Usage: .venv/bin/python scripts/fit_expression_gains.py [--faces ../shared/data/faces] [--model FILE] [--frames N]

The drawn brows follow the user's mesh, but what MediaPipe reads on the output is damped by the target photo's own brows
and forehead. Each FIT_PAIRS clip (the basis's fit clips, none used by `faceswap-live eval`) is swapped with a target
photo of a person `eval` does not use as a target, at each gain level (all keys of GAINED_KEYS at once), and the keys'
blendshape scores are read by a fresh image-mode landmarker on every 3rd frame of the source and of the output. Per key
and level, the least-squares slope of output on source (each clip centred on its own means, then pooled: the engine
gains the user's motion, not a lasting reading) says how much of the user's expression shows; the gain is where that
slope, interpolated linearly between the levels, reaches 1 (clamped to GAIN_RANGE), but no higher than the level with
the best correlation (past it, a stronger key pulls its neighbours' readings away). Left and right keys share one gain
(pooled), so the face stays symmetric. Only numbers are printed (and the scores cached under --cache); paste them into
EXPRESSION_GAINS.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import numpy as np

from faceswap_live.config import AppConfig, LandmarkConfig
from faceswap_live.engine.pipeline import Pipeline
from faceswap_live.eval.run import _fit_frame
from faceswap_live.offline import read_video_frames
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.stages.swap_mesh import MeshFaceSwapper
from faceswap_live.stages.target import load_target_face
from faceswap_live.types import Frame

FIT_PAIRS = (
    ("v02_p40.wmv", "p01_1.jpg"),
    ("v05_p42.mp4", "p06_1.jpg"),
    ("v11_p48.mp4", "p11_1.jpg"),
    ("v14_p51.mp4", "p17_1.jpg"),
    ("v15_p52.mp4", "p15_1.jpg"),
    ("v18_p53.mp4", "p16_1.jpg"),
    ("v20_p55.mp4", "p18_1.jpg"),
)
"""(fit clip of scripts/fit_expression_basis.py, target photo): smiling, neutral and frowning photos, men and women."""
GAINED_KEYS = ("browInnerUp", "browDownLeft", "browDownRight")
"""The brows. The lips (mouthPucker, mouthFunnel) were tried the same way and left at 1: their readings hardly follow
the drawn lip shape (slope 0.10 -> 0.19 from gain 1 to 3), and a gained pout narrowed the drawn mouth opening (on
these clips the output's mouth-opening correlation fell from 0.84 to 0.76 at pucker 3, funnel 2)."""
GAIN_LEVELS = (1.0, 2.0, 3.0)
GAIN_RANGE = (1.0, 3.0)
READ_EVERY = 3


def read_pair(
    faces: Path, model: Path, video: str, photo: str, gain: float, frame_count: int, cache: Path
) -> tuple[np.ndarray, np.ndarray]:
    """(source scores, output scores), each N×len(GAINED_KEYS), for one clip swapped at one gain level."""
    cached = cache / f"{Path(video).stem}_{Path(photo).stem}_{gain:.2f}_{frame_count}.npz"
    if cached.exists():
        with np.load(cached) as data:
            return data["source"], data["output"]
    target = load_target_face(faces / "portraits" / photo, model)
    raw_frames, fps = read_video_frames(faces / "videos" / video, frame_count)
    source_rows, output_rows = [], []
    pipeline = Pipeline(AppConfig(), model)
    reader = FaceLandmarkDetector(model, LandmarkConfig(max_faces=1), mode="image", with_blendshapes=True)
    try:
        engine = pipeline.engine
        assert isinstance(engine, MeshFaceSwapper)
        engine.expression_transfer.gains = dict.fromkeys(GAINED_KEYS, gain)
        pipeline.set_target(target)
        for index, raw in enumerate(raw_frames):
            image = _fit_frame(raw)
            result = pipeline.process(Frame(image_bgr=image, index=index, captured_at_s=index / fps))
            if not result.swapped or index % READ_EVERY:
                continue
            source, output = reader.detect(image), reader.detect(result.output_bgr)
            if source and output and source[0].blendshapes and output[0].blendshapes:
                source_rows.append([source[0].blendshapes[key] for key in GAINED_KEYS])
                output_rows.append([output[0].blendshapes[key] for key in GAINED_KEYS])
    finally:
        reader.close()
        pipeline.close()
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(cached, source=np.asarray(source_rows), output=np.asarray(output_rows))
    return np.asarray(source_rows), np.asarray(output_rows)


def paired(keys: tuple[str, ...]) -> list[list[int]]:
    """Indices of keys that share a gain: a left key with its right one, every other key alone."""
    groups: dict[str, list[int]] = {}
    for index, key in enumerate(keys):
        groups.setdefault(key.removesuffix("Left").removesuffix("Right"), []).append(index)
    return list(groups.values())


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--model", type=Path, default=Path("../shared/models/face_landmarker.task"))
    parser.add_argument("--frames", type=int, default=120)
    parser.add_argument("--cache", type=Path, default=Path("/tmp/faceswap-gain-cache"))
    parser.add_argument("--levels", type=float, nargs="+", default=list(GAIN_LEVELS), help="gain levels to try")
    args = parser.parse_args()
    levels = sorted(args.levels)
    groups = paired(GAINED_KEYS)
    slopes = np.zeros((len(levels), len(groups)))
    correlations = np.zeros((len(levels), len(groups)))
    for level, gain in enumerate(levels):
        pairs = [
            read_pair(args.faces, args.model, video, photo, gain, args.frames, args.cache) for video, photo in FIT_PAIRS
        ]
        source_all = np.concatenate([source for source, _ in pairs])
        output_all = np.concatenate([output for _, output in pairs])
        print(f"gain {gain}: {len(source_all)} frames")
        for k, key in enumerate(GAINED_KEYS):
            per_clip = " ".join(f"{output[:, k].mean() - source[:, k].mean():+.2f}" for source, output in pairs)
            r = np.corrcoef(source_all[:, k], output_all[:, k])[0, 1]
            offset = output_all[:, k].mean() - source_all[:, k].mean()
            print(f"  {key:15s} pooled offset {offset:+.2f} r {r:.2f}; offsets per clip {per_clip}")
        centred_source = np.concatenate([source - source.mean(axis=0) for source, _ in pairs])
        centred_output = np.concatenate([output - output.mean(axis=0) for _, output in pairs])
        for group_index, group in enumerate(groups):
            source, output = centred_source[:, group].ravel(), centred_output[:, group].ravel()
            slopes[level, group_index] = float(source @ output) / max(float(source @ source), 1e-9)
            correlations[level, group_index] = float(np.corrcoef(source, output)[0, 1])
        print(
            "  within-clip slope / r: "
            + ", ".join(f"{m:.2f} / {r:.2f}" for m, r in zip(slopes[level], correlations[level], strict=True))
        )
    low, high = levels[0], levels[-1]
    rise = (slopes[-1] - slopes[0]) / (high - low)
    fitted = np.where(rise > 1e-6, low + (1.0 - slopes[0]) / np.maximum(rise, 1e-6), GAIN_RANGE[0])
    fitted = np.clip(fitted, *GAIN_RANGE)
    best = np.asarray(levels)[correlations.argmax(axis=0)]
    fitted = np.minimum(fitted, np.maximum(best, GAIN_RANGE[0]))
    gains = {
        GAINED_KEYS[index]: float(fitted[group_index]) for group_index, group in enumerate(groups) for index in group
    }
    print("EXPRESSION_GAINS = {" + ", ".join(f'"{key}": {gain:.2f}' for key, gain in gains.items()) + "}")


if __name__ == "__main__":
    main()
