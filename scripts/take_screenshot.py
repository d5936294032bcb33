"""Take assets/screenshot.png: the real app window with a swap running, the gallery filled and the overlay on.

Run under a virtual X display (the picture is what a user sees; nothing is faked):

    xvfb-run -s "-screen 0 1600x1000x24" python scripts/take_screenshot.py [--output assets/screenshot.png]

Only public-domain faces: the "camera" is a slowly moving clip made from the astronaut portrait (NASA, shipped with
scikit-image) and the faces in the gallery are Grace Hopper (US Navy, shipped with matplotlib) and the astronaut.
Settings and the gallery live in a temporary folder; the user's own are never touched.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import cv2
import numpy as np

REPO_ROOT = Path(__file__).resolve().parents[1]
WINDOW_SIZE = (1560, 900)


def write_camera_clip(path: Path, frames: int = 90, size: tuple[int, int] = (640, 480)) -> Path:
    """The astronaut portrait drifting and turning slightly, like a person in front of a webcam."""
    from skimage import data

    portrait = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
    width, height = size
    base = cv2.resize(portrait, None, fx=1.45, fy=1.45, interpolation=cv2.INTER_CUBIC)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (width, height))
    centre_x, centre_y = base.shape[1] * 0.42, base.shape[0] * 0.36
    for index in range(frames):
        phase = 2 * np.pi * index / frames
        angle = 3.0 * np.sin(phase)
        matrix = cv2.getRotationMatrix2D((centre_x, centre_y), angle, 1.0)
        matrix[0, 2] += width / 2 - centre_x + 14 * np.sin(phase)
        matrix[1, 2] += height / 2 - centre_y + 8 * np.cos(phase) + 30
        frame = cv2.warpAffine(base, matrix, (width, height), borderMode=cv2.BORDER_REFLECT)
        writer.write(frame)
    writer.release()
    return path


def open_window_with_public_domain_faces(work: Path, config_path: Path, size: tuple[int, int]) -> tuple[Any, Any, str]:
    """The app, its window (sized, shown) and Grace Hopper's gallery id, with both public-domain faces in a gallery
    under `work` and the settings in config_path."""
    import matplotlib
    from skimage import data

    from faceswap_live.gallery import CONSENT_STATEMENT, TargetGallery
    from faceswap_live.gui.app import create_application
    from faceswap_live.gui.main_window import MainWindow
    from faceswap_live.models.store import ModelStore

    landmark_model = ModelStore(show_progress=False).fetch("face_landmarker")
    astronaut = work / "astronaut.png"
    cv2.imwrite(str(astronaut), cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    hopper = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    gallery = TargetGallery(root=work / "targets")
    # Consent: both are public-domain portraits, free to use; this script states it as a user would.
    entries = [
        gallery.add(photo, name, 0, consent_confirmed=True, statement=CONSENT_STATEMENT, model_path=landmark_model)
        for photo, name in ((hopper, "Grace Hopper"), (astronaut, "Astronaut"))
    ]
    app = create_application()
    window = MainWindow(
        config_path=config_path, gallery_root=work / "targets", landmark_model_path=landmark_model, cameras=[]
    )
    window.resize(*size)
    window.show()
    return app, window, str(entries[0].id)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "assets" / "screenshot.png")
    parser.add_argument("--mode", choices=["output", "side_by_side"], default="side_by_side")
    parser.add_argument("--seconds", type=float, default=6.0, help="how long the swap runs before the picture")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")

    from faceswap_live.config import AppConfig, CaptureConfig, save_config

    with tempfile.TemporaryDirectory(prefix="faceswap-screenshot-") as folder:
        work = Path(folder)
        clip = write_camera_clip(work / "camera.mp4")
        config_path = work / "settings" / "config.toml"
        save_config(AppConfig(capture=CaptureConfig(source=str(clip))), config_path)
        app, window, hopper_id = open_window_with_public_domain_faces(work, config_path, WINDOW_SIZE)
        window.main_splitter.setSizes([WINDOW_SIZE[0] - 380, 380])
        window.faces.select_target(hopper_id)
        window.set_preview_mode(args.mode)
        window.mask_action.setChecked(False)
        window.set_overlay(True)
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)
        result = window.runner.latest_result() if window.runner is not None else None
        if result is None or not result.swapped:
            print("The swap was not running when the picture was due; not saving.", file=sys.stderr)
            window.shutdown()
            return 1
        window.repaint()
        app.processEvents()
        picture = window.grab()
        args.output.parent.mkdir(parents=True, exist_ok=True)
        picture.save(str(args.output), "PNG")
        window.close()
        app.processEvents()
    size_bytes = args.output.stat().st_size
    print(f"Wrote {args.output} ({picture.width()}x{picture.height()}, {size_bytes / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
