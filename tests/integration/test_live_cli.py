"""`faceswap-live live` as a user runs it: a video in place of the camera, the stream and a recording out, stopped with
SIGTERM or Ctrl-C (SIGINT), leaving a finished, playable recording."""

from __future__ import annotations

import os
import signal
import stat
import subprocess
import sys
import urllib.request
from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from faceswap_live.cli import main
from faceswap_live.provenance import read_manifest


def _umask() -> int:
    """The file-creation mask new files get (read by setting it and putting it back)."""
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


REPORT_EVERY_S = 0.5
"""How often `live` prints its latency line in these tests (5 s by default)."""


@pytest.mark.parametrize("stop_signal", [signal.SIGTERM, signal.SIGINT, signal.SIGHUP])
def test_live_streams_records_reports_latency_and_stops_cleanly_on_a_signal(
    stop_signal: signal.Signals, faces_dir: Path, model_mirror_dir: Path, hopper_path: Path, tmp_path: Path
) -> None:
    recording = tmp_path / "live.mp4"
    environment = {**os.environ, "FACESWAP_LIVE_MODEL_MIRROR": str(model_mirror_dir)}
    process = subprocess.Popen(
        [sys.executable, "-m", "faceswap_live", "live",
         "--input", str(faces_dir / "videos" / "v10_p47.mp4"), "--target", str(hopper_path), "--consent",
         "--stream", "--port", "0", "--record", str(recording), "--report-every", str(REPORT_EVERY_S)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, env=environment,
    )  # fmt: skip
    lines: list[str] = []
    frames_reported = 0.0
    try:
        assert process.stdout is not None
        while frames_reported < 45:  # enough reports that the recording holds well over 30 frames
            line = process.stdout.readline()
            assert line, f"live ended early: {''.join(lines)}{process.stderr.read() if process.stderr else ''}"
            lines.append(line)
            if line.startswith("Latency"):  # "Latency 84 ms at 24.9 fps (…)"
                frames_reported += float(line.split()[4]) * REPORT_EVERY_S
        url = next(line.split()[1] for line in lines if line.startswith("Stream:"))
        with urllib.request.urlopen(url.replace("stream.mjpg", "snapshot.jpg"), timeout=5) as response:
            snapshot = cv2.imdecode(np.frombuffer(response.read(), dtype=np.uint8), cv2.IMREAD_COLOR)
        assert snapshot is not None and snapshot.shape[:2] == (480, 480)  # the video is square
        process.send_signal(stop_signal)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 0, err
    latency_ms = float(next(line for line in lines if line.startswith("Latency")).split()[1])
    assert 0 < latency_ms < 2000
    assert recording.exists() and not list(tmp_path.glob("*.part.mp4"))
    assert f"Recorded: {recording}" in out
    assert stat.S_IMODE(recording.stat().st_mode) == 0o666 & ~_umask()  # not 0600: a normal file
    manifest = read_manifest(recording)  # signed: AI-modified, by faceswap-live
    assert manifest is not None and manifest.valid and manifest.ai_modified
    with av.open(str(recording)) as container:
        frames = sum(1 for _ in container.decode(video=0))
    assert frames > 30


def test_live_with_a_duration_stops_by_itself_and_keeps_a_recording_of_that_length(
    faces_dir: Path, model_mirror_dir: Path, hopper_path: Path, tmp_path: Path
) -> None:
    recording = tmp_path / "short.mp4"
    environment = {**os.environ, "FACESWAP_LIVE_MODEL_MIRROR": str(model_mirror_dir)}
    finished = subprocess.run(
        [sys.executable, "-m", "faceswap_live", "live",
         "--input", str(faces_dir / "videos" / "v10_p47.mp4"), "--target", str(hopper_path), "--consent",
         "--record", str(recording), "--duration", "2"],
        capture_output=True, text=True, env=environment, timeout=120,
    )  # fmt: skip
    assert finished.returncode == 0, finished.stderr
    assert "Stopping after 2 s." in finished.stdout
    assert f"Recorded: {recording}" in finished.stdout
    with av.open(str(recording)) as container:
        stream = container.streams.video[0]
        frames = [frame.time for frame in container.decode(stream)]
    assert 1.0 < frames[-1] - frames[0] < 3.0


@pytest.mark.parametrize("option", ["--duration", "--report-every"])
def test_live_rejects_seconds_that_are_not_positive(
    hopper_path: Path, tmp_path: Path, capsys: pytest.CaptureFixture[str], option: str
) -> None:
    command = ["live", "--target", str(hopper_path), "--consent", "--record", str(tmp_path / "never.mp4"), option, "0"]
    assert main(command) == 1
    assert capsys.readouterr().err.strip() == f"error: {option} takes a positive number of seconds, not 0."
    assert not (tmp_path / "never.mp4").exists()


def test_live_with_the_neural_engine_but_no_model_stops_with_the_fetch_command(
    faces_dir: Path,
    model_mirror_dir: Path,
    hopper_path: Path,
    tmp_path: Path,
    capsys: pytest.CaptureFixture[str],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # The app's preview carries on with the built-in engine; a command that names the engine must not record with
    # another one and exit 0.
    recording = tmp_path / "neural.mp4"
    monkeypatch.setenv("FACESWAP_LIVE_MODEL_MIRROR", str(model_mirror_dir))
    for variable in ("XDG_CONFIG_HOME", "XDG_DATA_HOME", "XDG_CACHE_HOME"):
        monkeypatch.setenv(variable, str(tmp_path / variable.lower()))  # no neural model downloaded there
    command = [
        "live", "--engine", "onnx", "--input", str(faces_dir / "videos" / "v10_p47.mp4"), "--target", str(hopper_path),
        "--consent", "--record", str(recording), "--duration", "2",
    ]  # fmt: skip
    assert main(command) == 1
    err = capsys.readouterr().err
    assert "faceswap-live models fetch inswapper_128 --accept-licence" in err
    assert "Traceback" not in err
    assert list(tmp_path.glob("neural*")) == []
