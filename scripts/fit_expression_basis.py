"""Fit the mesh engine's expression basis (src/faceswap_live/stages/expression_basis.npz) on talking clips.

Usage: .venv/bin/python scripts/fit_expression_basis.py [--faces ../shared/data/faces] [--model FILE] [--cache DIR]

Every frame of the FIT_CLIPS (scaled to fit 640×480 like a webcam) goes through MediaPipe's landmarker with
blendshapes. Meshes are put in a canonical head frame (Procrustes on the expression-stable points), each clip's mean
mesh and mean scores are subtracted (that removes the person's identity), and the per-blendshape offsets are the
ridge least-squares solution of  mesh − clip mean ≈ Σ (score_k − clip mean score_k) · offset_k.
The clips used by `faceswap-live eval` (EVAL_CLIPS in eval/run.py) are left out so the evaluation stays held out.
Only numbers are written; no image or mesh of a person is stored.
"""

from __future__ import annotations

import argparse
from pathlib import Path

import cv2
import numpy as np

from faceswap_live.config import LandmarkConfig
from faceswap_live.offline import read_video_frames
from faceswap_live.stages.align import umeyama
from faceswap_live.stages.expression import BASIS_PATH
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.stages.mesh_topology import IDENTITY_FIT_POINTS, MESH_POINT_COUNT

FIT_CLIPS = (
    "v02_p40.wmv",
    "v05_p42.mp4",
    "v11_p48.mp4",
    "v14_p51.mp4",
    "v15_p52.mp4",
    "v18_p53.mp4",
    "v20_p55.mp4",
)
NOSE_TIP = 4
REST_PERCENTILE = 10
RIDGE = 0.02
"""Ridge weight as a share of the mean (centred) score energy per key: keeps rarely-used blendshapes near 0."""


def fit_frame(image: np.ndarray) -> np.ndarray:
    height, width = image.shape[:2]
    scale = min(1.0, 640 / max(width, height), 480 / min(width, height))
    if scale >= 1.0:
        return image
    return np.asarray(cv2.resize(image, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), np.uint8)


def extract(faces_dir: Path, model: Path, clip: str, cache: Path) -> tuple[np.ndarray, np.ndarray, list[str]]:
    """(F×468×3 meshes in pixels, F×K scores, K names) of one clip, cached as .npz in cache."""
    cached = cache / f"{Path(clip).stem}.npz"
    if cached.exists():
        with np.load(cached) as data:
            return data["points"], data["scores"], [str(key) for key in data["keys"]]
    frames, fps = read_video_frames(faces_dir / "videos" / clip, 100_000)
    points, scores, keys = [], [], []
    with FaceLandmarkDetector(model, LandmarkConfig(max_faces=1), mode="video", with_blendshapes=True) as detector:
        for index, frame in enumerate(frames):
            found = detector.detect(fit_frame(frame), int(index * 1000 / fps))
            if not found or not found[0].blendshapes:
                continue
            keys = [key for key in found[0].blendshapes if key != "_neutral"]
            points.append(found[0].points_px[:MESH_POINT_COUNT])
            scores.append([found[0].blendshapes[key] for key in keys])
    cache.mkdir(parents=True, exist_ok=True)
    np.savez(cached, points=np.asarray(points), scores=np.asarray(scores), keys=np.asarray(keys))
    return np.asarray(points), np.asarray(scores), keys


def regions(reference: np.ndarray, keys: list[str]) -> list[tuple[np.ndarray, np.ndarray]]:
    """(point mask, key mask) pairs: the upper face (above the nose tip) moves with the brow, eye, cheek and smile
    keys only, the lower face with the mouth, jaw, cheek and nose keys only. Without this split, keys that happen
    to co-occur in the clips (a frown while talking) pick up each other's motion: browDown would widen the mouth."""
    upper = reference[:, 1] < reference[NOSE_TIP, 1]
    shared = ("cheek", "mouthSmile", "noseSneer")
    upper_keys = np.array([key.startswith(("brow", "eye", *shared)) for key in keys])
    lower_keys = np.array([key.startswith(("mouth", "jaw", *shared)) for key in keys])
    return [(upper, upper_keys), (~upper, lower_keys)]


def canonical(points: np.ndarray, reference: np.ndarray) -> np.ndarray:
    indices = list(IDENTITY_FIT_POINTS)
    out = np.empty_like(points, dtype=np.float64)
    for index, mesh in enumerate(points.astype(np.float64)):
        scale, rotation, shift = umeyama(mesh[indices], reference[indices])
        out[index] = scale * mesh @ rotation.T + shift
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--faces", type=Path, default=Path("../shared/data/faces"))
    parser.add_argument("--model", type=Path, default=Path("../shared/models/face_landmarker.task"))
    parser.add_argument("--cache", type=Path, default=Path("/tmp/faceswap-expression-cache"))
    parser.add_argument("--out", type=Path, default=BASIS_PATH)
    args = parser.parse_args()
    clips = [extract(args.faces, args.model, clip, args.cache) for clip in FIT_CLIPS]
    keys = clips[0][2]
    # Reference head: generalised Procrustes, scaled to a face about 1 unit tall, centred.
    reference = clips[0][0][0].astype(np.float64)
    reference = (reference - reference.mean(axis=0)) / np.ptp(reference[:, 1])
    for _ in range(3):
        stacked = np.concatenate([canonical(points, reference) for points, _, _ in clips])
        reference = stacked.mean(axis=0)
        reference = (reference - reference.mean(axis=0)) / np.ptp(reference[:, 1])
    shapes, deltas = [], []
    for points, scores, clip_keys in clips:
        assert clip_keys == keys
        meshes = canonical(points, reference).reshape(len(points), -1)
        shapes.append(meshes - meshes.mean(axis=0))
        deltas.append(scores - scores.mean(axis=0))
    shape = np.concatenate(shapes).reshape(-1, MESH_POINT_COUNT, 3)
    delta = np.concatenate(deltas)
    offsets = np.zeros((len(keys), MESH_POINT_COUNT, 3))
    for points_mask, key_mask in regions(reference, keys):
        chosen = np.flatnonzero(key_mask)
        part = shape[:, points_mask].reshape(len(shape), -1)
        scores = delta[:, chosen]
        gram = scores.T @ scores
        ridge = RIDGE * max(float(np.trace(gram)) / len(chosen), 1e-6) * np.eye(len(chosen))
        solution = np.linalg.solve(gram + ridge, scores.T @ part)
        offsets[np.ix_(chosen, points_mask)] = solution.reshape(len(chosen), -1, 3)
    shape = shape.reshape(len(shape), -1)
    # Each key's reading on a face at rest (MediaPipe reads some faces as slightly frowning or squinting): the low
    # end of each clip's scores, the median over the clips.
    rest = np.median([np.percentile(scores, REST_PERCENTILE, axis=0) for _, scores, _ in clips], axis=0)
    residual = shape - delta @ offsets.reshape(len(keys), -1)
    explained = 1.0 - float((residual**2).sum() / (shape**2).sum())
    print(f"{shape.shape[0]} frames from {len(clips)} clips; basis explains {explained:.1%} of the within-clip motion")
    for key, offset in sorted(zip(keys, offsets, strict=True), key=lambda item: -np.abs(item[1]).max())[:12]:
        print(f"  {key:22s} max |offset| {np.abs(offset).max():.3f} face heights per unit score")
    np.savez_compressed(
        args.out,
        keys=np.asarray(keys),
        reference=reference.astype(np.float32),
        offsets=offsets.astype(np.float32),
        rest=rest.astype(np.float32),
    )
    print(f"wrote {args.out}")


if __name__ == "__main__":
    main()
