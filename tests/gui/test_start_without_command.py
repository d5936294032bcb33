"""`faceswap-live` with no command (as a desktop launcher starts it) opens the app; SIGTERM closes it."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

STARTUP_WAIT_S = 4.0
"""Far longer than reading the command line takes (where a missing setting used to end the process at once)."""


def test_the_app_opens_when_no_command_is_given(tmp_path: Path, model_mirror_dir: Path) -> None:
    environment = {
        **os.environ,
        "QT_QPA_PLATFORM": "offscreen",
        "FACESWAP_LIVE_MODEL_MIRROR": str(model_mirror_dir),
        "XDG_CONFIG_HOME": str(tmp_path / "config"),
        "XDG_DATA_HOME": str(tmp_path / "data"),
        "XDG_CACHE_HOME": str(tmp_path / "cache"),
    }
    app = subprocess.Popen(
        [sys.executable, "-m", "faceswap_live"],
        env=environment,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + STARTUP_WAIT_S
        while app.poll() is None and time.monotonic() < deadline:
            time.sleep(0.1)
        running = app.poll() is None
        app.terminate()
        _, stderr = app.communicate(timeout=30)
    finally:
        if app.poll() is None:
            app.kill()
            app.wait()
    assert running, f"the app ended at start (exit code {app.returncode}):\n{stderr}"
    assert "Traceback" not in stderr
    # SIGTERM (the desktop session ending) closes the window like its close button: exit 0, its state saved.
    assert app.returncode == 0, stderr
    assert list((tmp_path / "config").rglob("window-state.json")), "the window's state was not saved on SIGTERM"
