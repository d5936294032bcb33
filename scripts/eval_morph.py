"""Measure the built-in engine's morphs with an independent judge (dlib's ResNet recogniser).

1. Two faces A and B mixed with weight w of B (0, 0.25, 0.5, 0.75, 1): dlib distance from the morphed target photo,
   and from the swapped output on a user's photo, to A and to B.
2. Faces of no one (seeds 1-N, 20 by default) made from a pool of consented faces: the smallest distance to any face
   of the pool, and how many seeds are at least 0.6 (dlib's "same person" line) from every pool face.
Prints Markdown tables.

    python scripts/eval_morph.py A.jpg B.jpg USER.jpg POOL1.jpg POOL2.jpg ... [--seeds 20] [--no-mix-table]
"""

from __future__ import annotations

import argparse
import dataclasses
import os
import statistics
from pathlib import Path

import cv2

from faceswap_live.config import AppConfig, MarkingConfig
from faceswap_live.engines.morph import face_of_no_one, morph_faces
from faceswap_live.eval.identity import FaceRecogniser, face_distance
from faceswap_live.inputs.target_photo import load_target_face
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.types import Frame


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", type=Path)
    parser.add_argument("second", type=Path)
    parser.add_argument("user", type=Path)
    parser.add_argument("pool", type=Path, nargs="+")
    parser.add_argument("--seeds", type=int, default=20)
    parser.add_argument("--no-mix-table", action="store_true", help="only the faces of no one")
    args = parser.parse_args()
    shared = Path(os.environ.get("FACESWAP_LIVE_SHARED", "../shared"))
    model = shared / "models" / "face_landmarker.task"
    recogniser = FaceRecogniser(shared / "models" / "eval")
    first, second = load_target_face(args.first, model), load_target_face(args.second, model)
    first_embedding, second_embedding = recogniser.embed(first.image_bgr), recogniser.embed(second.image_bgr)
    assert first_embedding is not None and second_embedding is not None
    user = cv2.imread(str(args.user))
    config = dataclasses.replace(AppConfig(), marking=MarkingConfig(label_enabled=False, watermark_enabled=False))

    print("| weight of B | morph→A | morph→B | output→A | output→B |")
    print("|---|---|---|---|---|")
    for weight in () if args.no_mix_table else (0.0, 0.25, 0.5, 0.75, 1.0):
        morph = morph_faces([first, second], [1.0 - weight, weight])
        pipeline = Pipeline(config, model)
        pipeline.set_target(morph)
        output = pipeline.process(Frame(user, 0, 0.0)).output_bgr
        pipeline.close()
        cells = []
        for image in (morph.image_bgr, output):
            embedding = recogniser.embed(image)
            for reference in (first_embedding, second_embedding):
                cells.append("—" if embedding is None else f"{face_distance(embedding, reference):.2f}")
        print(f"| {weight:.2f} | " + " | ".join(cells) + " |")

    pool = [load_target_face(path, model) for path in args.pool]
    pool_embeddings = [recogniser.embed(face.image_bgr) for face in pool]
    print()
    print("| seed | nearest pool face (dlib distance) | faces ≥ 0.6 away |")
    print("|---|---|---|")
    nearest = []
    for seed in range(1, args.seeds + 1):
        made = face_of_no_one(pool, seed)
        embedding = recogniser.embed(made.image_bgr)
        if embedding is None:
            print(f"| {seed} | no face found | — |")
            continue
        distances = [face_distance(embedding, other) for other in pool_embeddings if other is not None]
        nearest.append(min(distances))
        print(f"| {seed} | {min(distances):.2f} | {sum(d >= 0.6 for d in distances)} of {len(distances)} |")
    if nearest:
        print(
            f"\nnearest pool face {min(nearest):.2f}-{max(nearest):.2f} (median {statistics.median(nearest):.2f}); "
            f"{sum(d >= 0.6 for d in nearest)} of {args.seeds} seeds at least 0.6 from every pool face"
        )


if __name__ == "__main__":
    main()
