"""The start-up checks that let the window open on ordinary Linux desktops (no Qt import needed)."""

from __future__ import annotations

import importlib
import os
import subprocess
import sys
from pathlib import Path

import pytest

from faceswap_live.errors import FaceswapError
from faceswap_live.gui import startup

LDD_WITH_TWO_MISSING = """\
\tlinux-vdso.so.1 (0x00007ffd)
\tlibQt6XcbQpa.so.6 => /venv/PySide6/Qt/lib/libQt6XcbQpa.so.6 (0x00007f6b)
\tlibxcb-cursor.so.0 => not found
\tlibxcb-icccm.so.4 => not found
\tlibxcb-cursor.so.0 => not found
\tlibxcb.so.1 => /lib/x86_64-linux-gnu/libxcb.so.1 (0x00007f6b)
"""


def test_importing_cv2_sets_qt_variables_that_the_check_removes() -> None:
    # The real cv2 sets them on import (that is what sent Qt 6 to cv2's Qt 5 plugins); run in a fresh interpreter.
    code = (
        "import os, cv2; from faceswap_live.gui.startup import drop_cv2_qt_variables;"
        "before = sorted(k for k in os.environ if k.startswith('QT_QPA'));"
        "removed = drop_cv2_qt_variables();"
        "print(before, sorted(removed), sorted(k for k in os.environ if k.startswith('QT_QPA')))"
    )
    environment = {key: value for key, value in os.environ.items() if not key.startswith("QT_QPA")}
    finished = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, env=environment, check=True)
    before, removed, after = finished.stdout.strip().split("] [")
    assert "QT_QPA_PLATFORM_PLUGIN_PATH" in before
    assert "QT_QPA_PLATFORM_PLUGIN_PATH" in removed and "QT_QPA_FONTDIR" in removed
    assert after == "]"


def test_qt_variables_set_by_the_user_elsewhere_are_kept(tmp_path: Path) -> None:
    cv2_folder = Path(importlib.util.find_spec("cv2").submodule_search_locations[0])  # type: ignore[union-attr, index]
    environment = {
        "QT_QPA_PLATFORM_PLUGIN_PATH": str(tmp_path / "my-plugins"),
        "QT_QPA_FONTDIR": str(cv2_folder / "qt" / "fonts"),
    }
    assert startup.drop_cv2_qt_variables(environment) == ["QT_QPA_FONTDIR"]
    assert environment == {"QT_QPA_PLATFORM_PLUGIN_PATH": str(tmp_path / "my-plugins")}


@pytest.mark.parametrize(
    ("environment", "platform", "expected"),
    [
        ({"DISPLAY": ":0"}, "linux", True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}, "linux", False),
        ({"DISPLAY": ":0", "WAYLAND_DISPLAY": "wayland-0"}, "linux", False),
        ({"WAYLAND_DISPLAY": "wayland-0", "QT_QPA_PLATFORM": "xcb"}, "linux", True),
        ({"DISPLAY": ":0"}, "darwin", False),
    ],
)
def test_the_library_check_runs_only_where_qt_loads_xcb(
    environment: dict[str, str], platform: str, expected: bool
) -> None:
    assert startup.qt_will_use_xcb(environment, platform) is expected


def test_ldd_output_gives_each_missing_library_once() -> None:
    assert startup.missing_libraries_in_ldd_output(LDD_WITH_TWO_MISSING) == ["libxcb-cursor.so.0", "libxcb-icccm.so.4"]


def test_a_missing_library_stops_the_start_with_the_packages_to_install(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("DISPLAY", ":0")
    monkeypatch.delenv("WAYLAND_DISPLAY", raising=False)
    monkeypatch.delenv("QT_QPA_PLATFORM", raising=False)
    monkeypatch.setattr(sys, "platform", "linux")
    monkeypatch.setattr(startup, "missing_xcb_libraries", lambda: ["libxcb-cursor.so.0", "libxcb-icccm.so.4"])
    with pytest.raises(FaceswapError) as raised:
        startup.check_qt_can_start()
    message = str(raised.value)
    assert "sudo apt install libxcb-cursor0 libxcb-icccm4" in message
    assert "sudo dnf install xcb-util-cursor xcb-util-wm" in message
    assert "cv2" not in message


def test_the_real_xcb_plugin_is_inspected_without_error() -> None:
    if not sys.platform.startswith("linux"):
        pytest.skip("the xcb plugin exists on Linux only")
    missing = startup.missing_xcb_libraries()
    # Every library the linker cannot find is one we can name a package for.
    assert all(name in startup.XCB_LIBRARY_PACKAGES for name in missing), missing
