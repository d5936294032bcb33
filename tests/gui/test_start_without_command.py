"""`faceswap-live` with no command (as a desktop launcher starts it) opens the app; SIGTERM closes it."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

STARTUP_WAIT_S = 4.0
"""Far longer than reading the command line takes (where a missing setting used to end the process at once)."""
HANDLER_WAIT_S = 60.0
"""How long the app may take, on a loaded machine, to get as far as handling SIGTERM (Qt's imports come first)."""


def _handles_sigterm(pid: int) -> bool:
    """True once the process has a SIGTERM handler of its own (Linux: the caught-signals mask in /proc)."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("SigCgt:"):
            return bool(int(line.split()[1], 16) >> (signal.SIGTERM - 1) & 1)
    return False


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
        started = time.monotonic()
        while app.poll() is None and time.monotonic() < started + HANDLER_WAIT_S:
            if time.monotonic() >= started + STARTUP_WAIT_S and _handles_sigterm(app.pid):
                break
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
    # SIGTERM (the desktop session ending) closes the window like its close button: exit 0, its state saved; on a
    # loaded machine the window may still be being built, which ends the start cleanly with 130. Never killed (-15).
    assert app.returncode in (0, 130), stderr
    assert list((tmp_path / "config").rglob("window-state.json")), "the window's state was not saved on SIGTERM"
