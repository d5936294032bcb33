"""Every command over one shared list of bad files: a non-zero exit, one clear line, no traceback, nothing written.

Commands run in-process through cli.main (fast); stderr is captured at the file-descriptor level, so native libraries
writing straight to it (MediaPipe's log) count too.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Callable
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.cli import main


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_mirror_dir: Path) -> None:
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    monkeypatch.setenv("FACESWAP_LIVE_MODEL_MIRROR", str(model_mirror_dir))


def _png(width: int, height: int, pixels: bytes) -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", pixels) + chunk(b"IEND", b"")


def _zero_byte(folder: Path, suffix: str) -> Path:
    path = folder / f"empty{suffix}"
    path.write_bytes(b"")
    return path


def _truncated(folder: Path, suffix: str) -> Path:
    real = folder / f"whole{suffix}"
    if suffix == ".jpg":
        cv2.imwrite(str(real), np.random.default_rng(0).integers(0, 255, (300, 300, 3), dtype=np.uint8))
    else:
        _write_clip(real)
    path = folder / f"truncated{suffix}"
    path.write_bytes(real.read_bytes()[:200])
    return path


def _lying_header(folder: Path, suffix: str) -> Path:
    """A file whose header promises one thing and whose body is another."""
    path = folder / f"lying{suffix}"
    if suffix == ".jpg":
        path.write_bytes(_png(100, 100, zlib.compress(b"not pixels")))  # a PNG named .jpg, with broken pixels
    else:
        path.write_bytes(b"\x00\x00\x00\x18ftypisom\x00\x00\x02\x00isomiso2" + b"\xff" * 4000)  # MP4 magic, no boxes
    return path


def _bomb(folder: Path, suffix: str) -> Path:
    """30000x30000 pixels promised by a file of a few hundred bytes: decoding it would take gigabytes."""
    path = folder / f"bomb{'.png' if suffix == '.jpg' else suffix}"
    path.write_bytes(_png(30000, 30000, zlib.compress(b"\x00" * 90001)))
    return path


def _wrong_type(folder: Path, suffix: str) -> Path:
    path = folder / f"notes{suffix}"
    path.write_text("these are my notes, not a picture\n")
    return path


def _folder(folder: Path, suffix: str) -> Path:
    path = folder / f"a-folder{suffix}"
    path.mkdir()
    (path / "inside.txt").write_text("x")
    return path


def _symlink(folder: Path, suffix: str) -> Path:
    path = folder / f"link{suffix}"
    path.symlink_to(folder / f"gone{suffix}")  # dangling
    return path


def _write_clip(path: Path) -> None:
    import av

    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "yuv420p"
        for index in range(10):
            frame = av.VideoFrame.from_ndarray(np.full((64, 64, 3), index * 20, np.uint8), format="bgr24")
            container.mux(stream.encode(frame))
        container.mux(stream.encode())


BAD_FILES: dict[str, Callable[[Path, str], Path]] = {
    "zero-byte": _zero_byte,
    "truncated": _truncated,
    "lying header": _lying_header,
    "bomb": _bomb,
    "wrong type": _wrong_type,
    "folder": _folder,
    "dangling symlink": _symlink,
}


def _commands(bad: Path, hopper: Path, out: Path) -> dict[str, list[str]]:
    photo_out = out.with_suffix(".png")
    video_out = out.with_suffix(".mp4")
    is_photo = bad.suffix in (".jpg", ".png")
    return {
        "swap --target": [
            "swap", "--consent", "--target", str(bad), "--input", str(hopper), "--output", str(photo_out),
        ],
        "swap --input": [
            "swap", "--consent", "--target", str(hopper), "--input", str(bad),
            "--output", str(photo_out if is_photo else video_out),
        ],
        "live --target": [
            "live", "--consent", "--target", str(bad), "--input", str(hopper), "--record", str(video_out),
        ],
        "live --input": [
            "live", "--consent", "--target", str(hopper), "--input", str(bad), "--record", str(video_out),
        ],
        "bench --input": ["bench", "--input", str(bad), "--frames", "3", "--live-seconds", "0"],
        "verify": ["verify", str(bad)],
        "--config": [
            "swap", "--config", str(bad), "--consent", "--target", str(hopper), "--input", str(hopper),
            "--output", str(photo_out),
        ],
    }  # fmt: skip


@pytest.mark.parametrize("suffix", [".jpg", ".mp4"])
@pytest.mark.parametrize("kind", list(BAD_FILES))
def test_every_command_refuses_every_bad_file_with_one_line(
    kind: str, suffix: str, hopper_path: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    folder = tmp_path / "in"
    folder.mkdir()
    bad = BAD_FILES[kind](folder, suffix)
    out_folder = tmp_path / "out"
    out_folder.mkdir()
    for name, command in _commands(bad, hopper_path, out_folder / "result").items():
        if name == "--config" and kind == "zero-byte":
            continue  # an empty settings file is a valid one: all defaults
        code = main(command)
        captured = capfd.readouterr()
        lines = captured.err.strip().splitlines()
        context = f"{name} on a {kind} {suffix} file: exit {code}, stderr {captured.err!r}"
        assert code != 0, context
        assert "Traceback" not in captured.err + captured.out, context
        assert len(lines) == 1 and lines[0].startswith("error: "), context
        assert list(out_folder.iterdir()) == [], context  # nothing under the final name, no temporary left


def test_a_bad_settings_file_is_one_line(hopper_path: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]) -> None:
    latin1 = tmp_path / "latin1.toml"
    latin1.write_bytes('[marking]\nlabel_text = "KI-verändert"\n'.encode("latin-1"))
    for config, reason in (
        (latin1, "not UTF-8"),
        (Path("/dev/zero"), "not a regular file"),
        (tmp_path / "setings.toml", "does not exist"),  # mistyped: not a silent fall-back to defaults
    ):
        output = tmp_path / "out.png"
        command = ["swap", "--config", str(config), "--consent", "--target", str(hopper_path)]
        assert main([*command, "--input", str(hopper_path), "--output", str(output)]) == 1
        err = capfd.readouterr().err
        assert reason in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
        assert not output.exists()
    assert main(["gui", "--config", str(tmp_path / "setings.toml")]) == 1  # the app does not open on defaults either
    assert "does not exist" in capfd.readouterr().err
