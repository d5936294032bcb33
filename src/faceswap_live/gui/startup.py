"""Checks that let the window open wherever PySide6 can, and say what to install where it cannot.

Two things stop Qt on ordinary Linux desktops, and Qt's own message points the user to the wrong place for both:

- Importing cv2 (the opencv-contrib build that MediaPipe brings) sets QT_QPA_PLATFORM_PLUGIN_PATH and QT_QPA_FONTDIR
  to cv2's bundled Qt5 folders. PySide6's Qt6 then looks for its platform plugins there.
- Qt 6's xcb plugin links system libraries (libxcb-cursor0 and friends) that minimal installs lack; Qt aborts the
  process (SIGABRT) before any window exists.

This module does not import Qt, so the CLI can run the checks before the first Qt import.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import shutil
import subprocess
import sys
from collections.abc import MutableMapping
from pathlib import Path

from faceswap_live.errors import FaceswapError

logger = logging.getLogger(__name__)

CV2_QT_VARIABLES = ("QT_QPA_PLATFORM_PLUGIN_PATH", "QT_QPA_FONTDIR")

# Shared library → (Debian/Ubuntu package, Fedora package) for what Qt 6's xcb platform plugin links.
XCB_LIBRARY_PACKAGES: dict[str, tuple[str, str]] = {
    "libxcb-cursor.so.0": ("libxcb-cursor0", "xcb-util-cursor"),
    "libxcb-icccm.so.4": ("libxcb-icccm4", "xcb-util-wm"),
    "libxcb-keysyms.so.1": ("libxcb-keysyms1", "xcb-util-keysyms"),
    "libxcb-image.so.0": ("libxcb-image0", "xcb-util-image"),
    "libxcb-render-util.so.0": ("libxcb-render-util0", "xcb-util-renderutil"),
    "libxcb-util.so.1": ("libxcb-util1", "xcb-util"),
    "libxkbcommon-x11.so.0": ("libxkbcommon-x11-0", "libxkbcommon-x11"),
    "libxkbcommon.so.0": ("libxkbcommon0", "libxkbcommon"),
    "libxcb-xinerama.so.0": ("libxcb-xinerama0", "libxcb"),
    "libxcb-randr.so.0": ("libxcb-randr0", "libxcb"),
    "libxcb-shape.so.0": ("libxcb-shape0", "libxcb"),
    "libxcb-shm.so.0": ("libxcb-shm0", "libxcb"),
    "libxcb-sync.so.1": ("libxcb-sync1", "libxcb"),
    "libxcb-xfixes.so.0": ("libxcb-xfixes0", "libxcb"),
    "libxcb-render.so.0": ("libxcb-render0", "libxcb"),
    "libxcb-xkb.so.1": ("libxcb-xkb1", "libxcb"),
    "libxcb-xinput.so.0": ("libxcb-xinput0", "libxcb"),
    "libxcb.so.1": ("libxcb1", "libxcb"),
    "libX11-xcb.so.1": ("libx11-xcb1", "libX11-xcb"),
    "libX11.so.6": ("libx11-6", "libX11"),
    "libEGL.so.1": ("libegl1", "libglvnd-egl"),
    "libGL.so.1": ("libgl1", "libglvnd-glx"),
    "libOpenGL.so.0": ("libopengl0", "libglvnd-opengl"),
    "libfontconfig.so.1": ("libfontconfig1", "fontconfig"),
    "libfreetype.so.6": ("libfreetype6", "freetype"),
    "libdbus-1.so.3": ("libdbus-1-3", "dbus-libs"),
    "libglib-2.0.so.0": ("libglib2.0-0", "glib2"),
}


def _package_folder(name: str) -> Path | None:
    """The folder of an installed package, found without importing it."""
    try:
        spec = importlib.util.find_spec(name)
    except (ImportError, ValueError):
        return None
    if spec is None or not spec.submodule_search_locations:
        return None
    return Path(next(iter(spec.submodule_search_locations))).resolve()


def drop_cv2_qt_variables(environ: MutableMapping[str, str] | None = None) -> list[str]:
    """Remove the Qt variables that cv2 set to its own folders; returns the names removed.

    Variables the user set to anywhere else are kept. Call before the QApplication is created (main thread).
    """
    environ = os.environ if environ is None else environ
    cv2_folder = _package_folder("cv2")
    if cv2_folder is None:
        return []
    removed = []
    for name in CV2_QT_VARIABLES:
        value = environ.get(name)
        if value and Path(value).resolve().is_relative_to(cv2_folder):
            del environ[name]
            removed.append(name)
    if removed:
        logger.debug("Dropped %s (set by cv2 to its own Qt5 folders)", ", ".join(removed))
    return removed


def qt_will_use_xcb(environ: MutableMapping[str, str] | None = None, platform: str = sys.platform) -> bool:
    """True when Qt will load its xcb (X11) platform plugin: Linux, and X11 chosen or Qt's default on X11."""
    environ = os.environ if environ is None else environ
    if not platform.startswith("linux"):
        return False
    chosen = environ.get("QT_QPA_PLATFORM", "").split(";")[0].split(":")[0].strip()
    if chosen:
        return chosen == "xcb"
    return not environ.get("WAYLAND_DISPLAY") and bool(environ.get("DISPLAY"))


def missing_libraries_in_ldd_output(ldd_output: str) -> list[str]:
    """The library names that `ldd` reports as "not found", each once, in order."""
    missing: list[str] = []
    for line in ldd_output.splitlines():
        name, _, where = line.strip().partition("=>")
        if where.strip() == "not found" and name.strip() not in missing:
            missing.append(name.strip())
    return missing


def missing_xcb_libraries() -> list[str]:
    """System libraries that PySide6's xcb plugin needs and the dynamic linker cannot find ([] when unknown)."""
    pyside_folder = _package_folder("PySide6")
    ldd = shutil.which("ldd")
    if pyside_folder is None or ldd is None:
        return []
    plugin = pyside_folder / "Qt" / "plugins" / "platforms" / "libqxcb.so"
    if not plugin.is_file():
        return []
    try:
        finished = subprocess.run([ldd, str(plugin)], capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired) as error:
        logger.debug("Could not check the xcb plugin's libraries: %s", error)
        return []
    return missing_libraries_in_ldd_output(finished.stdout)


def install_hint(missing: list[str]) -> str:
    """The install commands, for Debian/Ubuntu and Fedora, that bring the missing libraries."""
    known = [XCB_LIBRARY_PACKAGES[name] for name in missing if name in XCB_LIBRARY_PACKAGES]
    debian = sorted({debian for debian, _ in known})
    fedora = sorted({fedora for _, fedora in known})
    if not known:
        return "Install the package that provides them with your system's package manager."
    return (
        f"Install them with `sudo apt install {' '.join(debian)}` (Debian, Ubuntu) "
        f"or `sudo dnf install {' '.join(fedora)}` (Fedora)."
    )


def check_qt_can_start() -> None:
    """Prepare the environment for Qt and raise FaceswapError naming the packages to install when Qt cannot start.

    Call from the main thread before the first QApplication is created.
    """
    drop_cv2_qt_variables()
    if not qt_will_use_xcb():
        return
    missing = missing_xcb_libraries()
    if missing:
        raise FaceswapError(
            f"The window cannot open: Qt's X11 (xcb) support needs {', '.join(missing)}, which this system lacks. "
            f"{install_hint(missing)}"
        )
