"""Side-by-side stills (source | target | output) from the two public-domain faces, for the docs.

Only skimage's astronaut (NASA) and matplotlib's Grace Hopper (US Navy) may appear in committed images. Each "video"
is the photo moved by a small affine jitter over a few frames, run through the real pipeline, so the stills show
what the live engine produces (tracking, smoothing, blend), not a single-shot best case.
"""

from __future__ import annotations

from pathlib import Path

import cv2
import matplotlib
import numpy as np
from skimage import data

from faceswap_live.config import AppConfig
from faceswap_live.eval.run import side_by_side
from faceswap_live.inputs.target_photo import load_target_face
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.types import BgrImage, Frame


def public_domain_faces() -> dict[str, BgrImage]:
    """{"hopper": BGR image, "astronaut": BGR image}."""
    hopper = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"))
    astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)  # type: ignore[no-untyped-call]
    return {"hopper": np.asarray(hopper, np.uint8), "astronaut": np.ascontiguousarray(astronaut, np.uint8)}


def jittered_frames(image_bgr: BgrImage, count: int = 12) -> list[BgrImage]:
    """The photo with a small smooth rotation/shift per frame, like a person holding still in front of a camera."""
    height, width = image_bgr.shape[:2]
    frames: list[BgrImage] = []
    for index in range(count):
        angle = 3.0 * np.sin(index / 3.0)
        shift = (4.0 * np.sin(index / 4.0), 3.0 * np.cos(index / 5.0))
        matrix = cv2.getRotationMatrix2D((width / 2, height / 2), angle, 1.0)
        matrix[:, 2] += shift
        frames.append(
            np.asarray(cv2.warpAffine(image_bgr, matrix, (width, height), borderMode=cv2.BORDER_REFLECT), np.uint8)
        )
    return frames


def render_public_domain_stills(
    output_dir: Path, landmark_model_path: Path, config: AppConfig | None = None
) -> list[Path]:
    """Write hopper←astronaut and astronaut←hopper stills (PNG) into output_dir; returns their paths."""
    output_dir.mkdir(parents=True, exist_ok=True)
    faces = public_domain_faces()
    written = []
    for source_name, target_name in (("hopper", "astronaut"), ("astronaut", "hopper")):
        target_path = output_dir / f".{target_name}.png"
        cv2.imwrite(str(target_path), faces[target_name])
        try:
            target = load_target_face(target_path, landmark_model_path)
        finally:
            target_path.unlink(missing_ok=True)
        pipeline = Pipeline(config or AppConfig(), landmark_model_path)
        try:
            pipeline.set_target(target)
            frames = jittered_frames(faces[source_name])
            result = None
            for index, frame in enumerate(frames):
                result = pipeline.process(Frame(image_bgr=frame, index=index, captured_at_s=index / 30))
        finally:
            pipeline.close()
        assert result is not None
        path = output_dir / f"mesh_swap_{source_name}_as_{target_name}.png"
        cv2.imwrite(str(path), side_by_side([frames[-1], faces[target_name], result.output_bgr], height=400))
        written.append(path)
    return written
