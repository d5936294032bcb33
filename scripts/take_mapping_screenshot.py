"""Take assets/face_mapping.png: the real app with two people in view, each mapped to a different gallery face.

Run under a virtual X display (the whole screen is captured, so the open menu shows):

    xvfb-run -s "-screen 0 1600x1000x24" python scripts/take_mapping_screenshot.py [--output assets/face_mapping.png]

Only public-domain faces: the "camera" shows the astronaut portrait (NASA, shipped with scikit-image) and Grace Hopper
(US Navy, shipped with matplotlib) side by side; the gallery holds the same two. The astronaut is clicked and given
Hopper's face through the app's own menu, then Hopper is clicked and her menu is left open for the picture.
Settings and the gallery live in a temporary folder; the user's own are never touched.
"""

from __future__ import annotations

import argparse
import dataclasses
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import cv2
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
from take_screenshot import open_window_with_public_domain_faces

REPO_ROOT = Path(__file__).resolve().parents[1]
WINDOW_SIZE = (1560, 900)


def write_two_people_clip(path: Path, astronaut: np.ndarray, hopper: np.ndarray, frames: int = 90) -> Path:
    """Two portraits side by side on a plain wall, drifting a little like people in front of a webcam."""
    width, height = 960, 540
    left = cv2.resize(astronaut[20:400, 90:370], None, fx=1.2, fy=1.2)
    right = cv2.resize(hopper[40:560, 60:460], None, fx=0.85, fy=0.85)
    writer = cv2.VideoWriter(str(path), cv2.VideoWriter_fourcc(*"mp4v"), 30.0, (width, height))
    for index in range(frames):
        drift = round(6 * np.sin(2 * np.pi * index / frames))
        frame = np.full((height, width, 3), (150, 160, 170), dtype=np.uint8)
        frame[60 + drift : 60 + drift + left.shape[0], 70 : 70 + left.shape[1]] = left
        frame[60 - drift : 60 - drift + right.shape[0], 540 : 540 + right.shape[1]] = right
        writer.write(frame)
    writer.release()
    return path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "assets" / "face_mapping.png")
    parser.add_argument("--seconds", type=float, default=4.0, help="how long the swap runs before the picture")
    args = parser.parse_args(argv)

    import matplotlib
    from skimage import data

    from faceswap_live.config import AppConfig, CaptureConfig, LandmarkConfig, save_config

    hopper_path = Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"
    with tempfile.TemporaryDirectory(prefix="faceswap-mapping-") as folder:
        work = Path(folder)
        astronaut = cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR)
        clip = write_two_people_clip(work / "camera.mp4", astronaut, cv2.imread(str(hopper_path)))
        config = AppConfig(capture=CaptureConfig(source=str(clip)), landmarks=LandmarkConfig(max_faces=2))
        config = dataclasses.replace(config, swap=dataclasses.replace(config.swap, faces="all"))
        config_path = work / "settings" / "config.toml"
        save_config(config, config_path)
        app, window, _ = open_window_with_public_domain_faces(work, config_path, WINDOW_SIZE)
        window.move(0, 0)
        window.main_splitter.setSizes([WINDOW_SIZE[0] - 380, 380])
        window.set_preview_mode("output")

        def run_for(seconds: float) -> None:
            deadline = time.monotonic() + seconds
            while time.monotonic() < deadline:
                app.processEvents()
                time.sleep(0.005)

        run_for(args.seconds)
        result = window.preview.result
        if result is None or len(result.faces) < 2:
            print("Two faces were not in view when the picture was due; not saving.", file=sys.stderr)
            window.shutdown()
            return 1
        area = window.preview.frame_rect()
        height, width = result.output_bgr.shape[:2]

        def widget_point(box_centre: tuple[float, float]) -> tuple[float, float]:
            return area.left() + box_centre[0] * area.width() / width, area.top() + box_centre[
                1
            ] * area.height() / height

        from PySide6.QtCore import QPoint, QPointF

        faces = sorted(result.faces, key=lambda face: face.box.x0)
        centres = [widget_point(((f.box.x0 + f.box.x1) / 2, (f.box.y0 + f.box.y1) / 2)) for f in faces]
        astronaut_face = window.face_mapping.face_at(QPointF(*centres[0]))
        assert astronaut_face is not None
        menu = window.face_mapping.open_menu(astronaut_face, QPoint(round(centres[0][0]), round(centres[0][1])))
        next(action for action in menu.actions() if action.text() == "Grace Hopper").trigger()
        menu.close()
        run_for(1.5)
        hopper_face = window.face_mapping.face_at(QPointF(*centres[1]))
        assert hopper_face is not None
        window.face_mapping.open_menu(hopper_face, QPoint(round(centres[1][0]), round(centres[1][1])))
        run_for(1.0)
        args.output.parent.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            ["import", "-window", "root", "-crop", f"{WINDOW_SIZE[0]}x{WINDOW_SIZE[1]}+0+0", str(args.output)],
            check=True,
        )
        window.close()
        app.processEvents()
    print(f"Wrote {args.output}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
