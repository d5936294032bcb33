"""Which cameras the source menu offers: device nodes with their driver names on Linux, indices elsewhere.

Enumeration never opens a device (opening can take seconds and would light the camera's LED).
"""

from __future__ import annotations

import platform
import re
from pathlib import Path

VIRTUAL_CAMERA_LABEL = "faceswap-live"  # our own v4l2loopback output: offering it as input would loop the picture


def list_cameras(
    dev_dir: Path = Path("/dev"), sysfs_dir: Path = Path("/sys/class/video4linux"), system: str | None = None
) -> list[tuple[str, str]]:
    """(source value for CaptureConfig.source, label for the menu), in device order.

    Linux: every /dev/videoN that is a capture node (sysfs index 0), labelled with its name from sysfs.
    Elsewhere: indices 0–4, as the OS gives no names without opening the devices.
    """
    if (system or platform.system()) != "Linux":
        return [(str(index), f"Camera {index + 1}") for index in range(5)]
    cameras = []
    nodes = sorted(dev_dir.glob("video*"), key=lambda path: int(re.sub(r"\D", "", path.name) or 0))
    for node in nodes:
        if not re.fullmatch(r"video\d+", node.name):
            continue
        info = sysfs_dir / node.name
        index_file = info / "index"
        try:
            if index_file.is_file() and index_file.read_text().strip() not in ("", "0"):
                continue  # metadata node of a camera listed already
            name = (info / "name").read_text().strip() if (info / "name").is_file() else node.name
        except OSError:
            name = node.name
        if VIRTUAL_CAMERA_LABEL in name:
            continue
        cameras.append((str(node), f"{name} ({node.name})"))
    return cameras
