"""Pure parts of the outputs: letterboxing, the per-platform fix text, MP4 fragment trimming, building sinks."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from faceswap_live.config import AppConfig, OutputConfig
from faceswap_live.errors import ConfigError, VirtualCameraError
from faceswap_live.live import format_latency
from faceswap_live.outputs.base import fit_frame
from faceswap_live.outputs.factory import open_sinks
from faceswap_live.outputs.mjpeg_stream import MjpegStreamSink, is_loopback_host
from faceswap_live.outputs.recorder import partial_path, trim_to_complete_fragments
from faceswap_live.outputs.virtual_camera import LINUX_MODPROBE_COMMAND, virtual_camera_fix


def test_fit_frame_letterboxes_keeping_the_aspect_ratio() -> None:
    wide = np.full((360, 640, 3), 200, dtype=np.uint8)
    fitted = fit_frame(wide, 640, 480)
    assert fitted.shape == (480, 640, 3) and fitted.dtype == np.uint8
    assert fitted[:60].max() == 0 and fitted[-60:].max() == 0  # bars above and below
    assert (fitted[60:420] == 200).all()
    tall = fit_frame(np.full((480, 480, 3), 50, dtype=np.uint8), 640, 480)
    assert tall[:, :80].max() == 0 and tall[:, -80:].max() == 0 and (tall[:, 80:560] == 50).all()
    same = np.zeros((480, 640, 3), dtype=np.uint8)
    assert fit_frame(same, 640, 480) is same


def test_each_platform_gets_its_own_fix() -> None:
    linux = virtual_camera_fix("Linux")
    assert LINUX_MODPROBE_COMMAND in linux and "exclusive_caps=1" in linux and 'card_label="faceswap-live"' in linux
    assert "OBS" in virtual_camera_fix("Windows") and "Unity Capture" in virtual_camera_fix("Windows")
    assert "OBS" in virtual_camera_fix("Darwin") and "System Settings" in virtual_camera_fix("Darwin")


def test_partial_path_and_trimming_a_torn_fragment(tmp_path: Path) -> None:
    assert partial_path(Path("/x/call.mp4"), "0a1b2c3d") == Path("/x/call.0a1b2c3d.part.mp4")

    def box(kind: bytes, payload: bytes) -> bytes:
        return (8 + len(payload)).to_bytes(4, "big") + kind + payload

    whole = box(b"ftyp", b"isom") + box(b"moov", b"m" * 20) + box(b"moof", b"f" * 10) + box(b"mdat", b"d" * 50)
    torn = whole + box(b"moof", b"f" * 10) + box(b"mdat", b"d" * 50)[:30]  # the write stopped mid-fragment
    path = tmp_path / "torn.part.mp4"
    path.write_bytes(torn)
    assert trim_to_complete_fragments(path) == len(whole)
    assert path.read_bytes() == whole


def test_loopback_detection() -> None:
    assert all(is_loopback_host(host) for host in ("127.0.0.1", "127.0.1.1", "::1", "localhost"))
    assert not any(is_loopback_host(host) for host in ("0.0.0.0", "", "192.168.1.5", "::"))


def test_output_settings_are_validated() -> None:
    with pytest.raises(ConfigError):
        OutputConfig(stream_port=70000)
    with pytest.raises(ConfigError):
        OutputConfig(stream_quality=0)


def test_open_sinks_builds_what_the_settings_ask_and_reports_failures_without_stopping_the_rest(
    tmp_path: Path,
) -> None:
    config = AppConfig(
        output=OutputConfig(virtual_camera=True, virtual_camera_backend="no-such-backend", stream=True, stream_port=0)
    )
    with pytest.raises(VirtualCameraError):
        open_sinks(config)
    errors: list[Exception] = []
    sinks = open_sinks(config, on_error=errors.append)
    try:
        assert [type(sink) for sink in sinks] == [MjpegStreamSink]
        assert len(errors) == 1 and isinstance(errors[0], VirtualCameraError)
    finally:
        for sink in sinks:
            sink.close()
    assert open_sinks(AppConfig()) == []


def test_latency_line_names_the_audio_delay() -> None:
    assert format_latency(84.4, 24.91) == "Latency 84 ms at 24.9 fps (set audio delay: 84 ms)"
