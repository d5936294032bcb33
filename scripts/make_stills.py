"""Regenerate the built-in engine's stills in assets/ (public-domain faces only): source | target | output.

Each still runs the live pipeline (default settings, the AI label on) over 12 frames of the source photo nudged by
up to a pixel, like a still webcam, and keeps the last output. Run after a change that alters the engine's output:

    python scripts/make_stills.py            # writes assets/mesh_swap_*.png
"""

from __future__ import annotations

import sys
from pathlib import Path

import cv2
import matplotlib
import numpy as np
from skimage import data

from faceswap_live.config import AppConfig
from faceswap_live.inputs.target_photo import load_target_face
from faceswap_live.models.store import ModelStore
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.types import BgrImage, Frame

ASSETS = Path(__file__).resolve().parent.parent / "assets"
FRAMES = 12
HEIGHT_PX = 400


def _still(source_bgr: BgrImage, target_path: Path, model_path: Path) -> BgrImage:
    pipeline = Pipeline(AppConfig(), model_path)
    pipeline.set_target(load_target_face(target_path, model_path))
    generator = np.random.default_rng(0)
    height, width = source_bgr.shape[:2]
    output = source_bgr
    try:
        for index in range(FRAMES):
            shift = np.array([[1, 0, generator.uniform(-1, 1)], [0, 1, generator.uniform(-1, 1)]], np.float32)
            nudged = np.asarray(
                cv2.warpAffine(source_bgr, shift, (width, height), borderMode=cv2.BORDER_REPLICATE), np.uint8
            )
            output = pipeline.process(Frame(image_bgr=nudged, index=index, captured_at_s=index / 30.0)).output_bgr
    finally:
        pipeline.close()
    tiles = [source_bgr, np.asarray(cv2.imread(str(target_path)), np.uint8), output]
    return np.hstack(
        [cv2.resize(tile, (round(tile.shape[1] * HEIGHT_PX / tile.shape[0]), HEIGHT_PX)) for tile in tiles]
    )


def main() -> int:
    model_path = ModelStore(show_progress=False).fetch("face_landmarker")
    hopper = np.asarray(
        cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg")), np.uint8
    )
    astronaut = np.asarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR), np.uint8)  # type: ignore[no-untyped-call]
    work = ASSETS / ".stills"
    work.mkdir(exist_ok=True)
    try:
        photos = {"hopper": work / "hopper.png", "astronaut": work / "astronaut.png"}
        cv2.imwrite(str(photos["hopper"]), hopper)
        cv2.imwrite(str(photos["astronaut"]), astronaut)
        cv2.imwrite(str(ASSETS / "mesh_swap_hopper_as_astronaut.png"), _still(hopper, photos["astronaut"], model_path))
        cv2.imwrite(str(ASSETS / "mesh_swap_astronaut_as_hopper.png"), _still(astronaut, photos["hopper"], model_path))
    finally:
        for path in work.iterdir():
            path.unlink()
        work.rmdir()
    return 0


if __name__ == "__main__":
    sys.exit(main())
