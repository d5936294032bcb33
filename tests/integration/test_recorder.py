"""The recorder leaves a playable H.264 MP4 whatever happens: a clean stop, a killed process, a full disk."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import numpy as np

from faceswap_live.stages.recorder import RecordingSink, partial_path, recover_partial_recording
from faceswap_live.types import BgrImage, Frame, FrameResult

FPS = 30.0


def _result(image_bgr: BgrImage, index: int, start_s: float = 0.0) -> FrameResult:
    captured_at_s = start_s + index / FPS
    return FrameResult(image_bgr, Frame(image_bgr, index, captured_at_s), (), {}, captured_at_s + 0.05, True)


def _frame(index: int) -> BgrImage:
    image = np.zeros((240, 320, 3), dtype=np.uint8)
    image[:, :, 0] = 30
    image[:, :, 1] = 60
    image[:, :, 2] = 220
    image[100:140, (index * 4) % 280 : (index * 4) % 280 + 40] = 255  # a moving square
    return image


def _decode(path: Path) -> tuple[int, list[BgrImage], str, str]:
    """Decode every frame strictly (any damaged data raises). Returns count, first frames, codec, pixel format."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec, pixel_format = stream.codec_context.name, stream.codec_context.pix_fmt or ""
        images = [frame.to_ndarray(format="bgr24") for frame in container.decode(stream)]
    return len(images), images[:3], codec, pixel_format


def test_a_clean_stop_gives_a_playable_h264_file_with_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "call.mp4"
    sink = RecordingSink(path, FPS, 321, 240)  # odd width: yuv420p needs even sizes
    for index in range(45):
        sink.send(_result(_frame(index), index))
    assert partial_path(path).exists() and not path.exists()  # in progress: only the .part file
    sink.close()
    sink.close()
    assert sink.error is None and sink.finished and "Recorded" in sink.status()
    assert path.exists() and not partial_path(path).exists()
    count, images, codec, pixel_format = _decode(path)
    assert (count, codec, pixel_format) == (45, "h264", "yuv420p")
    assert images[0].shape == (240, 320, 3)
    assert np.abs(images[0][20, 20].astype(int) - (30, 60, 220)).max() <= 8  # colours kept, BGR order right
    with av.open(str(path)) as container:  # timed by capture time: frame 44 is shown at 44/30 s
        times_s = [frame.time for frame in container.decode(video=0)]
    assert times_s == sorted(times_s) and abs((times_s[-1] - times_s[0]) - 44 / FPS) < 0.01


def test_stopping_before_any_frame_leaves_no_file(tmp_path: Path) -> None:
    path = tmp_path / "empty.mp4"
    RecordingSink(path, FPS, 320, 240).close()
    assert not path.exists() and not partial_path(path).exists()


_CHILD = textwrap.dedent(
    """
    import json, os, resource, signal, sys, time
    from pathlib import Path
    import numpy as np
    from faceswap_live.stages.recorder import RecordingSink
    from faceswap_live.types import Frame, FrameResult

    path, frames, mode = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3]
    if mode == "full-disk":  # the kernel refuses writes past this size (EFBIG), like a full disk (ENOSPC)
        resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, 600_000))
    rng = np.random.default_rng(0)
    sink = RecordingSink(path, 30.0, 320, 240)
    for index in range(frames):
        image = np.clip(index * 2 + rng.integers(0, 40, (240, 320, 3)), 0, 255).astype(np.uint8)
        sink.send(FrameResult(image, Frame(image, index, index / 30), (), {}, index / 30, True))
        time.sleep(0.002)
    deadline = time.monotonic() + 30
    while sink.frames_written < frames and sink.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    if mode == "kill":  # the process dies with the recording open: no close, no flush, no rename
        os.kill(os.getpid(), signal.SIGKILL)
    while sink.error is None and time.monotonic() < deadline:
        time.sleep(0.01)
    sink.close()
    print(json.dumps({"error": str(sink.error), "status": sink.status(), "written": sink.frames_written}))
    """
)


def _run_child(tmp_path: Path, frames: int, mode: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "call.mp4"), str(frames), mode],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_killed_process_leaves_a_part_file_that_plays_and_is_recovered(tmp_path: Path) -> None:
    frames = 120
    child = _run_child(tmp_path, frames, "kill")
    assert child.returncode == -9, child.stderr
    part = tmp_path / "call.part.mp4"
    assert part.exists() and not (tmp_path / "call.mp4").exists()
    recovered = recover_partial_recording(part)
    assert recovered == tmp_path / "call.mp4" and not part.exists()
    count, _, codec, _ = _decode(recovered)
    # Fragments are a second long: at most the last second (plus what the encoder held) is lost.
    assert codec == "h264" and frames - 45 <= count <= frames


def test_a_new_recording_never_overwrites_one_a_crash_left_behind(tmp_path: Path) -> None:
    assert _run_child(tmp_path, 60, "kill").returncode == -9
    sink = RecordingSink(tmp_path / "call.mp4", FPS, 320, 240)  # the same name again, after the crash
    image = np.full((240, 320, 3), 128, np.uint8)
    for index in range(10):
        sink.send(_result(image, index))
    sink.close()
    rescued = list(tmp_path.glob("call-interrupted-*.mp4"))
    assert len(rescued) == 1 and _decode(rescued[0])[0] >= 15  # the crashed recording, kept under its own name
    assert _decode(tmp_path / "call.mp4")[0] == 10  # and the new one under the name asked for


def test_a_full_disk_stops_the_recording_with_a_clear_error_and_keeps_a_playable_file(tmp_path: Path) -> None:
    start = time.monotonic()
    child = _run_child(tmp_path, 150, "full-disk")
    assert child.returncode == 0, child.stderr
    report = json.loads(child.stdout.strip().splitlines()[-1])
    assert "disk is full" in report["error"] and "saved in" in report["error"]
    assert report["status"] == report["error"]
    final = tmp_path / "call.mp4"
    assert final.exists() and not (tmp_path / "call.part.mp4").exists()
    count, _, codec, _ = _decode(final)
    assert codec == "h264" and 30 <= count < 150
    assert time.monotonic() - start < 60
