"""Take assets/output-settings.png: the real app in a 1280×800 window, swapping, with the stream on and a recording
running, so the Output box shows its settings and live state.

Run under a virtual X display with Qt's xcb platform (the picture is what a desktop user sees; nothing is faked):

    xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb python scripts/take_output_screenshot.py

Only public-domain faces: the "camera" is the moving astronaut clip of take_screenshot.py and the face swapped in is
Grace Hopper. Settings, gallery and the recording live in a temporary folder.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from take_screenshot import REPO_ROOT, open_window_with_public_domain_faces, write_camera_clip

WINDOW_SIZE = (1280, 770)  # a 1280×800 screen less the title bar


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--output", type=Path, default=REPO_ROOT / "assets" / "output-settings.png")
    parser.add_argument("--seconds", type=float, default=8.0, help="how long it runs (and records) before the picture")
    args = parser.parse_args(argv)

    from faceswap_live.config import AppConfig, CaptureConfig, OutputConfig, save_config

    with tempfile.TemporaryDirectory(prefix="faceswap-screenshot-") as folder:
        work = Path(folder)
        clip = write_camera_clip(work / "camera.mp4")
        config_path = work / "settings" / "config.toml"
        output = OutputConfig(stream=True, stream_port=8765)
        save_config(AppConfig(capture=CaptureConfig(source=str(clip)), output=output), config_path)
        videos = work / "Videos"
        videos.mkdir()

        app, window, hopper_id = open_window_with_public_domain_faces(work, config_path, WINDOW_SIZE)
        window.faces.select_target(hopper_id)
        window.run.outputs.record_path = videos / "faceswap-live-interview.mp4"
        window.run.outputs.set_recording(True)
        window.panel.ensureWidgetVisible(window.panel.output_panel, 0, 0)
        deadline = time.monotonic() + args.seconds
        while time.monotonic() < deadline:
            app.processEvents()
            time.sleep(0.005)
        result = window.runner.latest_result() if window.runner is not None else None
        if result is None or not result.swapped or window.run.outputs.stream is None:
            print("The swap or the stream was not running when the picture was due; not saving.", file=sys.stderr)
            window.shutdown()
            return 1
        window.panel.ensureWidgetVisible(window.panel.output_panel.record_state, 0, 0)
        window.repaint()
        app.processEvents()
        picture = window.grab()
        args.output.parent.mkdir(parents=True, exist_ok=True)
        picture.save(str(args.output), "PNG")
        window.close()
        app.processEvents()
    print(f"Wrote {args.output} ({picture.width()}x{picture.height()}, {args.output.stat().st_size / 1e6:.2f} MB)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
