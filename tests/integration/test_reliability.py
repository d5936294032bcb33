"""Files written by `swap` and `live` are complete or absent, whatever else runs or happens; settings mistakes and
outputs that cannot work are one clear line and a non-zero exit."""

from __future__ import annotations

import os
import resource
import signal
import socket
import stat
import struct
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import numpy as np
import pytest

from faceswap_live.cli import main
from faceswap_live.provenance import read_manifest


def _umask() -> int:
    """The file-creation mask new files get (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


@pytest.fixture(autouse=True)
def isolated_user_dirs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch, model_mirror_dir: Path) -> None:
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))
    monkeypatch.setenv("FACESWAP_LIVE_MODEL_MIRROR", str(model_mirror_dir))


@pytest.fixture()
def short_clip(video_cut: Callable[[str, int], Path]) -> Path:
    """The first 60 frames of a real clip (cut once, in a temporary folder only)."""
    return video_cut("v10_p47.mp4", 60)


def _frames(path: Path) -> int:
    with av.open(str(path)) as container:
        return sum(1 for _ in container.decode(video=0))


def _swap_command(target: Path, source: Path, output: Path, *extra: str) -> list[str]:
    return [
        sys.executable, "-m", "faceswap_live", "swap", "--consent", "--target", str(target),
        "--input", str(source), "--output", str(output), *extra,
    ]  # fmt: skip


def test_two_swaps_to_one_output_leave_one_complete_signed_file(
    video_cut: Callable[[str, int], Path], hopper_path: Path, tmp_path: Path
) -> None:
    clip = video_cut("v10_p47.mp4", 30)
    output = tmp_path / "out" / "swapped.mp4"
    output.parent.mkdir()
    runs = [
        subprocess.Popen(_swap_command(hopper_path, clip, output, "--overwrite"), stderr=subprocess.PIPE)
        for _ in range(2)
    ]
    for run in runs:
        assert run.wait(300) == 0, run.stderr.read() if run.stderr else ""
    assert _frames(output) == 30  # one run's whole file, not a mix of two
    assert [path.name for path in output.parent.iterdir()] == ["swapped.mp4"]  # no temporary left
    _assert_signed(output)


def test_sigterm_during_swap_leaves_no_file_at_all(short_clip: Path, hopper_path: Path, tmp_path: Path) -> None:
    output = tmp_path / "out" / "swapped.mp4"
    output.parent.mkdir()
    run = subprocess.Popen(_swap_command(hopper_path, short_clip, output), stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not any(output.parent.iterdir()) and time.monotonic() < deadline:  # the temporary file is being written
        time.sleep(0.05)
    run.send_signal(signal.SIGTERM)
    assert run.wait(60) != 0
    assert list(output.parent.iterdir()) == []


@pytest.mark.parametrize(
    ("output_name", "message"),
    [("swapped.png", "video out"), ("swapped.xyz", "video out"), ("a-folder", "is a folder")],
)
def test_a_video_to_a_wrong_kind_of_output_is_one_line(
    short_clip: Path,
    hopper_path: Path,
    tmp_path: Path,
    capfd: pytest.CaptureFixture[str],
    output_name: str,
    message: str,
) -> None:
    (tmp_path / "a-folder").mkdir()
    output = tmp_path / output_name
    command = ["swap", "--consent", "--target", str(hopper_path), "--input", str(short_clip), "--output", str(output)]
    assert main([*command, "--overwrite"]) == 1
    err = capfd.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in err, err
    assert output.name != "a-folder" or list(output.iterdir()) == []
    assert output.name == "a-folder" or not output.exists()


def test_a_folder_that_cannot_be_written_is_one_line(
    hopper_path: Path, astronaut_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    output = Path("/proc/swapped.png")  # writable by no one, root included
    command = ["swap", "--consent", "--target", str(astronaut_path), "--input", str(hopper_path)]
    assert main([*command, "--output", str(output)]) == 1
    err = capfd.readouterr().err
    assert "choose a folder you can write to" in err and len(err.strip().splitlines()) == 1, err


def test_signed_outputs_get_the_permissions_of_any_new_file(
    hopper_path: Path, astronaut_path: Path, tmp_path: Path
) -> None:
    output = tmp_path / "out.png"
    assert (
        main(
            ["swap", "--consent", "--target", str(astronaut_path), "--input", str(hopper_path), "--output", str(output)]
        )
        == 0
    )
    assert stat.S_IMODE(output.stat().st_mode) == 0o666 & ~_umask()
    _assert_signed(output)


def _assert_signed(path: Path) -> None:
    """The file carries valid content credentials saying it is AI-modified by faceswap-live."""
    manifest = read_manifest(path)
    assert manifest is not None and manifest.valid and manifest.ai_modified
    assert (manifest.claim_generator or "").startswith("faceswap-live")


def test_neural_engine_options_with_the_built_in_engine_are_refused(
    hopper_path: Path, astronaut_path: Path, tmp_path: Path, capfd: pytest.CaptureFixture[str]
) -> None:
    output = tmp_path / "out.png"
    common = [
        "swap",
        "--consent",
        "--target",
        str(astronaut_path),
        "--input",
        str(hopper_path),
        "--output",
        str(output),
    ]
    # --mix and --random-identity morph faces in the built-in engine (tests/integration/test_cli_faces.py); the
    # neural engine's own options must not be silently ignored there.
    for extra in (["--fp16"], ["--provider", "cuda"], ["--onnx-model", str(tmp_path / "mine.onnx")]):
        assert main([*common, *extra]) == 1
        err = capfd.readouterr().err
        assert "--engine onnx" in err and len(err.strip().splitlines()) == 1, err
        assert not output.exists()


REPORT_EVERY_S = 0.5
"""How often `live` prints its status line (and checks its outputs) in these tests; 5 s by default."""


def _live(
    input_clip: Path, target: Path, *extra: str, stdout: int = subprocess.PIPE, limit_file_bytes: int | None = None
) -> subprocess.Popen[str]:
    def limit() -> None:
        if limit_file_bytes is not None:  # the kernel refuses writes past this size, like a full disk
            resource.setrlimit(resource.RLIMIT_FSIZE, (limit_file_bytes, limit_file_bytes))

    return subprocess.Popen(
        [sys.executable, "-m", "faceswap_live", "live", "--input", str(input_clip), "--target", str(target),
         "--consent", "--report-every", str(REPORT_EVERY_S), *extra],
        stdout=stdout, stderr=subprocess.PIPE, text=True, preexec_fn=limit,
    )  # fmt: skip


def test_a_busy_stream_port_is_an_error_even_with_another_output(
    short_clip: Path, hopper_path: Path, tmp_path: Path
) -> None:
    with socket.socket() as other_program:
        other_program.bind(("127.0.0.1", 0))
        other_program.listen()
        port = other_program.getsockname()[1]
        run = _live(short_clip, hopper_path, "--stream", "--port", str(port), "--record", str(tmp_path / "r.mp4"))
        _, err = run.communicate(timeout=120)
    assert run.returncode == 1
    assert "port is in use" in err and len(err.strip().splitlines()) == 1, err
    assert list(tmp_path.glob("r*.mp4")) == []


def test_recording_alone_on_a_full_disk_stops_with_a_non_zero_exit(
    short_clip: Path, hopper_path: Path, tmp_path: Path
) -> None:
    run = _live(short_clip, hopper_path, "--record", str(tmp_path / "r.mp4"), limit_file_bytes=60_000)
    try:
        out, err = run.communicate(timeout=120)  # stops by itself: its only output has failed
    finally:
        if run.poll() is None:
            run.kill()
    assert run.returncode == 1, out + err
    assert "disk is full" in out and "Traceback" not in err


def test_live_piped_into_head_neither_crashes_nor_stops_recording(
    short_clip: Path, hopper_path: Path, tmp_path: Path
) -> None:
    recording = tmp_path / "r.mp4"
    run = _live(short_clip, hopper_path, "--record", str(recording))
    assert run.stdout is not None
    frames_reported = 0.0
    while frames_reported < 45:  # `| head`: a few lines (enough for a recording of over 30 frames), then it goes away
        line = run.stdout.readline()
        assert line, run.stderr.read() if run.stderr else ""
        if line.startswith("Latency"):  # "Latency 84 ms at 24.9 fps (…)"
            frames_reported += float(line.split()[4]) * REPORT_EVERY_S
    run.stdout.close()
    time.sleep(3 * REPORT_EVERY_S)  # the session goes on while the next status lines meet the closed pipe
    run.send_signal(signal.SIGINT)
    err = run.stderr.read() if run.stderr else ""
    assert run.wait(60) == 0, err
    assert "Traceback" not in err and "BrokenPipe" not in err
    assert _frames(recording) > 30


def _phone_portrait_clip(path: Path) -> None:
    """A clip stored 128x64 on its side, with a display rotation of 90° clockwise (as phones write portrait video):
    shown upright it is 64x128 with a white band along its top."""
    with av.open(str(path), "w") as container:
        stream = container.add_stream("libx264", rate=10)
        stream.width, stream.height, stream.pix_fmt = 128, 64, "yuv420p"
        for _ in range(5):
            image = np.zeros((64, 128, 3), np.uint8)
            image[:, :16] = 255  # the stored frame's left edge is the top of the picture as shown
            container.mux(stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")))
        container.mux(stream.encode())
    data = bytearray(path.read_bytes())
    header = data.index(b"tkhd")
    version = data[header + 4]
    matrix = header + 8 + (28 if version == 1 else 16) + (8 if version == 1 else 4) + 16
    data[matrix : matrix + 36] = struct.pack(">9i", 0, 0x10000, 0, -0x10000, 0, 0, 0, 0, 0x40000000)
    path.write_bytes(data)
    with av.open(str(path)) as container:
        assert next(container.decode(video=0)).rotation == -90  # the display matrix is read back as written


def test_phone_portrait_videos_come_out_upright(hopper_path: Path, tmp_path: Path) -> None:
    clip, output = tmp_path / "portrait.mp4", tmp_path / "swapped.mp4"
    _phone_portrait_clip(clip)
    command = ["swap", "--consent", "--target", str(hopper_path), "--input", str(clip), "--output", str(output)]
    assert main(command) == 0
    with av.open(str(output)) as container:
        frame = next(container.decode(video=0))
        image = frame.to_ndarray(format="bgr24")
    assert image.shape[:2] == (128, 64) and frame.rotation == 0
    assert image[:12].mean() > 200 and image[20:100].mean() < 30  # the band is along the top
