"""The recorder leaves a playable H.264 MP4 (with sound if asked) whatever happens: a stop, a kill, a full disk."""

from __future__ import annotations

import json
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import av
import numpy as np
import numpy.typing as npt
import pytest

from faceswap_live.errors import OutputError
from faceswap_live.outputs.recorder import RecordingSink, recover_partial_recording
from faceswap_live.types import BgrImage, Frame, FrameResult

FPS = 30.0
SINE_1KHZ = "lavfi:sine=frequency=1000:sample_rate=48000"
"""A real FFmpeg input standing in for a microphone (paced to real time by the recorder like one)."""
TONE_AFTER_1_S = "lavfi:aevalsrc=if(gte(t\\,1)\\,sin(2*PI*1000*t)\\,0):s=48000"


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


def _parts(folder: Path) -> list[Path]:
    """The part files recordings are writing (or a crash left) in a folder."""
    return sorted(folder.glob("*.part.mp4"))


def _decode(path: Path) -> tuple[int, list[BgrImage], str, str]:
    """Decode every frame strictly (any damaged data raises). Returns count, first frames, codec, pixel format."""
    with av.open(str(path)) as container:
        stream = container.streams.video[0]
        codec, pixel_format = stream.codec_context.name, stream.codec_context.pix_fmt or ""
        images = [np.asarray(frame.to_ndarray(format="bgr24"), np.uint8) for frame in container.decode(stream)]
    return len(images), images[:3], codec, pixel_format


def test_a_clean_stop_gives_a_playable_h264_file_with_every_frame(tmp_path: Path) -> None:
    path = tmp_path / "call.mp4"
    sink = RecordingSink(path, FPS, 321, 240)  # odd width: yuv420p needs even sizes
    for index in range(45):
        sink.send(_result(_frame(index), index))
    assert _parts(tmp_path) == [sink.part_path] and not path.exists()  # in progress: only the .part file
    sink.close()
    sink.close()
    assert sink.error is None and sink.finished and "Recorded" in sink.status()
    assert path.exists() and _parts(tmp_path) == []
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
    assert list(tmp_path.iterdir()) == []


_CHILD = textwrap.dedent(
    """
    import json, os, resource, signal, sys, time
    from pathlib import Path
    import numpy as np
    from faceswap_live.outputs.recorder import RecordingSink
    from faceswap_live.types import Frame, FrameResult

    path, frames, mode, audio = Path(sys.argv[1]), int(sys.argv[2]), sys.argv[3], sys.argv[4]
    if mode == "full-disk":  # the kernel refuses writes past this size (EFBIG), like a full disk (ENOSPC)
        resource.setrlimit(resource.RLIMIT_FSIZE, (600_000, 600_000))
    rng = np.random.default_rng(0)
    sink = RecordingSink(path, 30.0, 320, 240, audio_device=audio or None)
    start_s = time.perf_counter()
    for index in range(frames):
        if sink.error is not None:  # the disk filled up: the recording has stopped
            break
        image = np.clip(index * 2 + rng.integers(0, 40, (240, 320, 3)), 0, 255).astype(np.uint8)
        if audio:  # sound is timed by the clock: the frames must come at the camera's pace, like a camera's
            while time.perf_counter() < start_s + index / 30:
                time.sleep(0.001)
            captured_at_s = time.perf_counter()
        else:
            captured_at_s = index / 30
            time.sleep(0.002)
        sink.send(FrameResult(image, Frame(image, index, captured_at_s), (), {}, captured_at_s, True))
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


def _run_child(tmp_path: Path, frames: int, mode: str, audio_device: str = "") -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-c", _CHILD, str(tmp_path / "call.mp4"), str(frames), mode, audio_device],
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_a_killed_process_leaves_a_part_file_that_plays_and_is_recovered(tmp_path: Path) -> None:
    frames = 120
    child = _run_child(tmp_path, frames, "kill")
    assert child.returncode == -9, child.stderr
    [part] = _parts(tmp_path)
    assert not (tmp_path / "call.mp4").exists()
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
    assert final.exists() and _parts(tmp_path) == []
    count, _, codec, _ = _decode(final)
    assert codec == "h264" and 30 <= count < 150
    assert time.monotonic() - start < 60


def _record_live(path: Path, audio_device: str, frames: int) -> tuple[RecordingSink, list[float]]:
    sink = RecordingSink(path, FPS, 320, 240, audio_device=audio_device)
    return sink, _send_live(sink, frames)


def _send_live(sink: RecordingSink, frames: int) -> list[float]:
    """Send `frames` frames at the camera's pace (capture times from perf_counter, like the capture stage)."""
    start_s = time.perf_counter()
    captured_at_s: list[float] = []
    for index in range(frames):
        while time.perf_counter() < start_s + index / FPS:
            time.sleep(0.001)
        captured_at_s.append(time.perf_counter())
        image = _frame(index)
        sink.send(FrameResult(image, Frame(image, index, captured_at_s[-1]), (), {}, captured_at_s[-1], True))
    return captured_at_s


def _decode_audio(path: Path) -> tuple[str, int, npt.NDArray[np.float32]]:
    """Decode the sound strictly, each block at its own time. Returns codec, sample rate, first channel from time 0."""
    with av.open(str(path)) as container:
        stream = container.streams.audio[0]
        frames = list(container.decode(stream))
        codec, rate = stream.codec_context.name, stream.codec_context.sample_rate
    last = frames[-1]
    samples = np.zeros(round((last.time or 0.0) * rate) + last.samples, np.float32)
    for frame in frames:  # the encoder's start-up block is followed by a gap: place, don't concatenate
        at = round((frame.time or 0.0) * rate)
        samples[at : at + frame.samples] = frame.to_ndarray()[0]
    return codec, rate, samples


def _video_span_s(path: Path) -> tuple[float, float]:
    """(time the first frame is shown, time the last one ends) in seconds."""
    with av.open(str(path)) as container:
        times_s = [frame.time or 0.0 for frame in container.decode(video=0)]
    return times_s[0], times_s[-1] + 1 / FPS


def test_the_microphone_is_recorded_as_aac_as_long_as_the_video(tmp_path: Path) -> None:
    path = tmp_path / "call.mp4"
    sink, _ = _record_live(path, SINE_1KHZ, 60)
    sink.close()
    assert sink.error is None and sink.finished and "with sound" in sink.status()
    assert _decode(path)[0] == 60
    codec, rate, samples = _decode_audio(path)
    assert (codec, rate) == ("aac", 48_000)
    video_start_s, video_end_s = _video_span_s(path)
    assert abs(len(samples) / rate - video_end_s) < 0.2
    sound = samples[round(video_start_s * rate) + rate // 10 :]  # past the encoder's start-up
    peak_hz = np.argmax(np.abs(np.fft.rfft(sound))) * rate / len(sound)
    assert abs(peak_hz - 1000) < 5
    assert np.sqrt(np.mean(sound**2)) > 0.05  # the tone at the source's level (1/8 full scale), not silence


def test_sound_and_picture_stay_in_sync(tmp_path: Path) -> None:
    """A tone that starts 1 s into the microphone's sound plays when the video is 1 s past that first sample."""
    path = tmp_path / "sync.mp4"
    sink = RecordingSink(path, FPS, 320, 240, audio_device=TONE_AFTER_1_S)
    time.sleep(0.3)  # the microphone runs before the first frame: that earlier sound is left out
    captured_at_s = _send_live(sink, 45)
    sink.close()
    assert sink.audio_started_at_s is not None
    video_start_s, _ = _video_span_s(path)
    expected_onset_s = video_start_s + sink.audio_started_at_s + 1.0 - captured_at_s[0]
    _, rate, samples = _decode_audio(path)
    onset_s = np.flatnonzero(np.abs(samples) > 0.2)[0] / rate
    assert abs(onset_s - expected_onset_s) < 0.02  # lip sync: well under a frame


def test_a_microphone_that_stops_mid_recording_stops_the_sound_not_the_video(tmp_path: Path) -> None:
    path = tmp_path / "call.mp4"
    sink, _ = _record_live(path, "lavfi:sine=frequency=1000:sample_rate=48000:duration=0.5", 45)
    deadline = time.monotonic() + 10  # the source ends (like a microphone unplugged) after 0.5 s
    while "no sound since" not in sink.status() and time.monotonic() < deadline:
        time.sleep(0.01)
    sink.close()
    assert sink.error is None and sink.finished
    assert "no sound since 00:00: the microphone stopped" in sink.status()
    assert _decode(path)[0] == 45  # the whole video
    _, rate, samples = _decode_audio(path)
    assert len(samples) / rate < 0.8  # the sound it had


def test_a_microphone_that_cannot_be_opened_is_named_with_how_to_list_them(tmp_path: Path) -> None:
    path = tmp_path / "call.mp4"
    with pytest.raises(OutputError, match=r'"alsa:no-such-microphone".*arecord -L'):
        RecordingSink(path, FPS, 320, 240, audio_device="alsa:no-such-microphone")
    assert list(tmp_path.iterdir()) == []  # no file left behind


def test_a_killed_process_with_sound_leaves_a_part_file_that_recovers_with_both_streams(tmp_path: Path) -> None:
    frames = 75
    child = _run_child(tmp_path, frames, "kill", SINE_1KHZ)
    assert child.returncode == -9, child.stderr
    recovered = recover_partial_recording(_parts(tmp_path)[0])
    assert recovered == tmp_path / "call.mp4"
    count, _, codec, _ = _decode(recovered)
    assert codec == "h264" and frames - 45 <= count <= frames
    audio_codec, rate, samples = _decode_audio(recovered)
    assert audio_codec == "aac" and len(samples) / rate > 1.0
    assert abs(len(samples) / rate - count / FPS) < 0.5  # the sound of the fragments kept, not more, not less


def test_a_full_disk_with_sound_keeps_a_playable_file_with_both_streams(tmp_path: Path) -> None:
    child = _run_child(tmp_path, 120, "full-disk", SINE_1KHZ)
    assert child.returncode == 0, child.stderr
    assert "disk is full" in json.loads(child.stdout.strip().splitlines()[-1])["error"]
    final = tmp_path / "call.mp4"
    count, _, codec, _ = _decode(final)
    audio_codec, rate, samples = _decode_audio(final)
    assert codec == "h264" and audio_codec == "aac" and 15 <= count < 120
    assert abs(len(samples) / rate - count / FPS) < 0.5


def test_two_recordings_to_one_name_keep_every_frame_of_both(tmp_path: Path) -> None:
    path = tmp_path / "show.mp4"
    first = RecordingSink(path, FPS, 320, 240)
    second = RecordingSink(path, FPS, 320, 240)  # started while the first is being written
    for index in range(60):
        first.send(_result(_frame(index), index))
        second.send(_result(_frame(index), index))
    first.close()
    for index in range(60, 90):
        second.send(_result(_frame(index), index))
    second.close()
    assert first.error is None and second.error is None
    assert (first.path, second.path) == (path, tmp_path / "show-2.mp4")  # the second never replaces the first
    assert _decode(path)[0] == 60 and _decode(tmp_path / "show-2.mp4")[0] == 90
    assert _parts(tmp_path) == []


def test_recovery_never_follows_a_symlink_or_touches_a_users_own_file(tmp_path: Path) -> None:
    unrelated = tmp_path / "elsewhere" / "thesis.mp4"
    unrelated.parent.mkdir()
    unrelated.write_bytes(b"\x00\x00\x00\x18ftypisom" + b"precious" * 1000)
    before = unrelated.read_bytes()
    (tmp_path / "call.part.mp4").symlink_to(unrelated)  # the old part-file name, and the current pattern
    (tmp_path / "call.0123abcd.part.mp4").symlink_to(unrelated)
    own = tmp_path / "talk.part.mp4"
    own.write_bytes(b"my own notes, not a recording")
    for name in ("call.mp4", "talk.mp4"):
        sink = RecordingSink(tmp_path / name, FPS, 320, 240)
        for index in range(10):
            sink.send(_result(_frame(index), index))
        sink.close()
        assert sink.error is None and _decode(tmp_path / name)[0] == 10
    assert unrelated.read_bytes() == before
    assert own.read_bytes() == b"my own notes, not a recording"
    assert recover_partial_recording(tmp_path / "call.0123abcd.part.mp4") is None
    assert unrelated.read_bytes() == before


def test_a_kill_loses_at_most_one_second(tmp_path: Path) -> None:
    """Frames sent at the camera's pace up to the moment of a SIGKILL: all but the last second are playable.

    The camera delivers 20 fps where 30 were asked for (a slow machine or a dim room): fragments must be timed by the
    clock, not counted in frames.
    """
    pace_fps = 20.0
    # Just before a 30-frame boundary, where fragments counted in frames would lose the most: 28 frames, 1.4 s.
    frames = 30 + 28
    child = subprocess.run(
        [sys.executable, "-c", _KILL_AT_PACE_CHILD, str(tmp_path / "call.mp4"), str(frames)],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert child.returncode == -9, child.stderr
    [part] = _parts(tmp_path)
    recovered = recover_partial_recording(part)
    assert recovered is not None
    count = _decode(recovered)[0]
    assert (frames - count) / pace_fps <= 1.0, f"{frames - count} frames lost"


_KILL_AT_PACE_CHILD = textwrap.dedent(
    """
    import os, signal, sys, time
    from pathlib import Path
    import numpy as np
    from faceswap_live.outputs.recorder import RecordingSink
    from faceswap_live.types import Frame, FrameResult

    path, frames = Path(sys.argv[1]), int(sys.argv[2])
    rng = np.random.default_rng(0)
    sink = RecordingSink(path, 30.0, 320, 240)
    start_s = time.perf_counter()
    for index in range(frames):
        while time.perf_counter() < start_s + index / 20:
            time.sleep(0.001)
        image = np.clip(index * 2 + rng.integers(0, 40, (240, 320, 3)), 0, 255).astype(np.uint8)
        sink.send(FrameResult(image, Frame(image, index, time.perf_counter()), (), {}, time.perf_counter(), True))
    deadline = time.monotonic() + 10
    while sink.frames_written < frames and time.monotonic() < deadline:  # the recorder has taken every frame
        time.sleep(0.001)
    os.kill(os.getpid(), signal.SIGKILL)
    """
)
