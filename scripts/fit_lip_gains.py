"""Fit the mesh engine's PUCKER_GAIN on the expression basis's fit clips (never on the evaluation clips).

Each fit clip is swapped with a photo of someone else that the evaluation does not use (the pairs of the brow-gain
fit in BENCHMARKS.md) at each candidate gain; the pooled mouthPucker / mouthFunnel correlations and the mouth-opening
correlation are printed, so the gain can be chosen where pucker follows without costing the mouth opening.

    python scripts/fit_lip_gains.py --gains 1 2 3 --frames 60
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

from faceswap_live.engines import mesh_swapper
from faceswap_live.eval import EvalPair, run_eval
from faceswap_live.models.store import ModelStore

FIT_PAIRS = (
    EvalPair("v02_p40.wmv", "p01_1.jpg", "p01_2.jpg"),
    EvalPair("v05_p42.mp4", "p06_1.jpg", "p06_2.jpg"),
    EvalPair("v11_p48.mp4", "p11_1.jpg", "p11_2.jpg"),
    EvalPair("v14_p51.mp4", "p17_1.jpg", "p17_2.jpg"),
    EvalPair("v15_p52.mp4", "p15_1.jpg", "p15_2.jpg"),
    EvalPair("v18_p53.mp4", "p16_1.jpg", "p16_2.jpg"),
    EvalPair("v20_p55.mp4", "p18_1.jpg", "p18_2.jpg"),
)
KEYS = ("mouthPucker", "mouthFunnel", "mouthSmileLeft", "mouthSmileRight", "jawOpen")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gains", type=float, nargs="+", default=[1.0, 2.0, 3.0])
    parser.add_argument("--frames", type=int, default=60)
    shared = Path(os.environ.get("FACESWAP_LIVE_SHARED", "../shared"))
    parser.add_argument("--faces-dir", type=Path, default=shared / "data" / "faces")
    args = parser.parse_args()
    store = ModelStore()
    landmark_model = store.fetch("face_landmarker")
    eval_models_dir = store.fetch("dlib_face_recognition").parent
    for gain in args.gains:
        mesh_swapper.PUCKER_GAIN = gain  # type: ignore[misc]
        report = run_eval(args.faces_dir, landmark_model, eval_models_dir, FIT_PAIRS, frames_per_clip=args.frames)
        figures = {figure.key: figure for figure in report.expression}
        cells = ", ".join(
            f"{key} {figures[key].offset:+.2f}/{figures[key].correlation:.2f}" for key in KEYS if key in figures
        )
        print(
            f"gain {gain:g}: mouth r {report.mouth_correlation:.3f}, nearer {report.nearer_target_share:.3f}, "
            f"distance {report.distance_to_target:.3f}; {cells}",
            flush=True,
        )


if __name__ == "__main__":
    main()
