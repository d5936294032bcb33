"""Smoke test of the desktop app on a real X server: start it from its console script, see its window mapped, let it
process frames from a real video file used as the camera, and check that it quits cleanly.

Run under Xvfb with Qt's xcb platform (the one desktop users get), not the offscreen one the unit tests use:

    xvfb-run -a -s "-screen 0 1280x800x24" env QT_QPA_PLATFORM=xcb python scripts/gui_smoke_test.py CLIP

Settings, gallery and model cache live in a temporary folder. The landmark model comes through the normal model store
(FACESWAP_LIVE_MODEL_MIRROR is honoured). Exit code 0 = passed; the reason is printed otherwise.
"""

from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

FRAMES = 90
TIMEOUT_S = 120.0


def window_is_mapped() -> bool:
    """True when an X window titled faceswap-live is viewable (xwininfo from x11-utils; skipped without it)."""
    if shutil.which("xwininfo") is None:
        return True
    tree = subprocess.run(["xwininfo", "-root", "-tree"], capture_output=True, text=True, check=False).stdout
    for line in tree.splitlines():
        if '"faceswap-live"' in line:
            window_id = line.split()[0]
            info = subprocess.run(["xwininfo", "-id", window_id], capture_output=True, text=True, check=False).stdout
            if "IsViewable" in info:
                return True
    return False


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("clip", type=Path, help="a video file with a face, used as the camera")
    parser.add_argument("--frames", type=int, default=FRAMES)
    args = parser.parse_args()
    if os.environ.get("QT_QPA_PLATFORM") != "xcb" or not os.environ.get("DISPLAY"):
        print("FAIL: run under an X server with QT_QPA_PLATFORM=xcb (see the module docstring)")
        return 2
    executable = shutil.which("faceswap-live", path=str(Path(sys.executable).parent)) or shutil.which("faceswap-live")
    if executable is None:
        print("FAIL: the faceswap-live console script is not installed")
        return 2
    with tempfile.TemporaryDirectory(prefix="faceswap-smoke-") as home:
        env = dict(os.environ)
        for name in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
            env[name] = str(Path(home) / name.lower())
        command = [executable, "gui", "--input", str(args.clip), "--quit-after-frames", str(args.frames)]
        started = time.monotonic()
        process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True)
        mapped = False
        while process.poll() is None and time.monotonic() - started < TIMEOUT_S:
            mapped = mapped or window_is_mapped()
            time.sleep(0.3)
        if process.poll() is None:
            process.terminate()
            print(f"FAIL: the app did not quit within {TIMEOUT_S:.0f} s")
            print(process.communicate(timeout=10)[0][-4000:])
            return 1
        output = process.communicate()[0]
    summary = [line for line in output.splitlines() if line.startswith("Showed ")]
    problems = []
    if process.returncode != 0:
        problems.append(f"exit code {process.returncode}")
    if not mapped:
        problems.append("no viewable faceswap-live window appeared on the X server")
    if not summary or "on the xcb platform" not in summary[-1] or "worker threads stopped" not in summary[-1]:
        problems.append("the app did not report frames shown on the xcb platform with its threads stopped")
    if problems:
        print("FAIL: " + "; ".join(problems))
        print(output[-4000:])
        return 1
    print(f"PASS in {time.monotonic() - started:.1f} s: {summary[-1]}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
