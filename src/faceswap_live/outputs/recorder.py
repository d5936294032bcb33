"""Records the output to an H.264 MP4 that stays playable whatever happens.

- The file is written as `<name>.<8 hex>.part.mp4` (a name of its own, created exclusively and locked while written) and
  given its final name `<name>.mp4` on a clean finish, so a half-written file never looks like a finished one and two
  recordings to one name never touch each other's file. The final name never replaces a file another run wrote
  meanwhile: that recording is kept as `<name>-2.mp4` (-3, …) instead.
- It is a fragmented MP4 (a self-contained fragment every half second of capture time, starting on a keyframe, flushed
  to disk at once), so a crash, a kill or a power cut loses at most the last second (the fragment being written and
  the few frames the encoder holds): everything before it plays.
- A full disk (or any write error) stops the recording, trims the file to its last complete fragment (which frees
  space and leaves it playable), renames it and reports an OutputError through `.error` and `status()`.
- Crash recovery only touches part files with the app's own name pattern that are regular files (never a symlink or a
  file with other links), not locked by a running recording; it never deletes one.
- Frames are timed by their capture time, so the recording keeps the real pace even when processing is uneven.

Sound: with `audio_device`, a microphone (alsa/pulse on Linux, avfoundation on macOS, dshow on Windows, or an explicit
"FORMAT:DEVICE" such as "lavfi:sine=frequency=440") is read on a thread of its own and written as a second stream
(AAC, 48 kHz) into the same fragments, timed on the same clock as the video. A microphone lost mid-recording stops the
sound only; the video goes on and `status()` says so.
"""

from __future__ import annotations

import collections
import contextlib
import datetime
import errno
import logging
import os
import platform
import queue
import re
import secrets
import stat
import struct
import sys
import threading
import time
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeAlias

import av
import numpy as np
import numpy.typing as npt
from av.audio.stream import AudioStream
from av.container import InputContainer, OutputContainer

from faceswap_live.errors import OutputError
from faceswap_live.outputs.base import OutputSink, fit_frame
from faceswap_live.types import BgrImage, FrameResult

logger = logging.getLogger(__name__)

QUEUE_FRAMES = 60
"""Frames waiting for the encoder (about 2 s at 30 fps; 55 MB at 640x480). Beyond that new frames are dropped."""
CLOSE_TIMEOUT_S = 15.0
"""How long close() waits for the queued frames to be encoded and the file finalised."""
FULL_DISK_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_NO_FOLLOW = getattr(os, "O_NOFOLLOW", 0)  # POSIX: opening a symlink fails instead of reaching its target
_TIME_BASE = Fraction(1, 1000)  # pts in milliseconds of capture time
KEYFRAME_INTERVAL_MS = 500
"""A keyframe (and so a fragment on disk) at least this often, by capture time: a kill loses well under a second."""
FloatArray: TypeAlias = npt.NDArray[np.float32]
AUDIO_RATE_HZ = 48_000
"""Sample rate of the recorded sound (AAC)."""
AUDIO_FRAME_SAMPLES = 1024
"""Samples per AAC frame."""
AUDIO_RESYNC_S = 0.1
"""A drift between the microphone's timestamps and the sound written beyond this inserts silence or drops sound."""
AUDIO_STOP_WAIT_S = 1.0
"""After the last video frame, how long to wait for the microphone to deliver the sound up to it."""
_AUDIO_TIME_BASE = Fraction(1, AUDIO_RATE_HZ)
_AUDIO_INPUT_FORMATS = ("alsa", "pulse", "lavfi", "avfoundation", "dshow", "oss", "jack", "sndio", "openal")
"""Formats accepted in the explicit "FORMAT:DEVICE" spelling."""


def audio_input_for(device: str, system: str | None = None) -> tuple[str, str]:
    """Which PyAV input format and device name a microphone setting means: ("alsa", "default") for "default" on Linux.

    "FORMAT:DEVICE" picks the format ("alsa:hw:1", "lavfi:sine=frequency=440"); otherwise it depends on the system:
    Linux "pulse" when this PyAV build has it (but "alsa" for hw:/plughw: names), else "alsa"; macOS "avfoundation"
    (":0", a bare "0" becomes ":0"); Windows "dshow" ("Microphone (…)" becomes "audio=Microphone (…)").
    """
    prefix, separator, rest = device.partition(":")
    if separator and prefix in _AUDIO_INPUT_FORMATS:
        return prefix, rest
    system = system or platform.system()
    if system == "Darwin":
        return "avfoundation", device if ":" in device else f":{device}"
    if system == "Windows":
        return "dshow", device if device.startswith("audio=") else f"audio={device}"
    if "pulse" in av.formats_available and not device.startswith(("hw:", "plughw:")):
        return "pulse", device
    return "alsa", device


def list_microphones_hint(system: str | None = None) -> str:
    """How a user lists the microphone names this system accepts."""
    system = system or platform.system()
    if system == "Darwin":
        return 'list them with `ffmpeg -f avfoundation -list_devices true -i ""` and pass ":N" (e.g. ":0")'
    if system == "Windows":
        return 'list them with `ffmpeg -list_devices true -f dshow -i dummy` and pass "audio=NAME"'
    return 'list them with `arecord -L` and pass a name (e.g. "default", "hw:1" or "alsa:plughw:1,0")'


def _open_microphone(device: str) -> tuple[InputContainer, AudioStream]:
    """Open a microphone setting (see audio_input_for). Raises OutputError naming the device and how to list them."""
    input_format, name = audio_input_for(device)
    if input_format not in av.formats_available:
        raise OutputError(
            f'Cannot record sound from "{device}": this build of PyAV cannot read {input_format} devices; '
            + list_microphones_hint()
            + "."
        )
    try:
        container = av.open(name, format=input_format, timeout=5.0)
    except (av.FFmpegError, OSError, ValueError) as error:
        raise OutputError(
            f'Cannot record sound from the microphone "{device}" ({input_format}: {error}); '
            + list_microphones_hint()
            + ", or record without sound."
        ) from error
    if not container.streams.audio:
        container.close()
        raise OutputError(f'"{device}" is not a microphone (it has no sound); ' + list_microphones_hint() + ".")
    return container, container.streams.audio[0]


class _SoundWriteError(Exception):
    """Writing the sound into the file failed (the error is in `_MicrophoneTrack.write_error`)."""


class _MicrophoneTrack:
    """Reads a microphone on a thread of its own and writes it as AAC into the recording's container.

    Timing: each block of sound is placed at the perf_counter() time its first sample was captured, taken from the
    device's timestamps anchored once to the moment the first block was read (minus its duration). The video's time
    zero is the capture time of its first frame (`start`), so both start together; sound before it is dropped, and
    a drift beyond AUDIO_RESYNC_S inserts silence or drops sound. A source faster than real time (lavfi) is paced.
    """

    def __init__(self, device: str) -> None:
        self.device = device
        self.input, self._input_stream = _open_microphone(device)
        channels = self._input_stream.codec_context.channels
        self.layout = "mono" if channels == 1 else "stereo"
        self.stopped_reason = ""
        """Set when the microphone stopped before the recording did (unplugged): what happened."""
        self.write_error: Exception | None = None
        """A failure writing the file (full disk), for the recorder thread to report."""
        self.samples_written = 0
        self.first_sample_at_s: float | None = None
        """When the device's first sample was captured (perf_counter() s), as the recording's clock places it."""
        self._stream: AudioStream | None = None
        self._muxer: _Muxer | None = None
        self._start_s: float | None = None
        self._end_sample: int | None = None
        self._stop_requested = threading.Event()
        self._stop_deadline_s = 0.0
        self._thread = threading.Thread(target=self._read_loop, name="faceswap-recorder-audio", daemon=True)

    def add_stream(self, muxer: _Muxer) -> None:
        """Add the AAC stream to the recording (before its header is written)."""
        self._muxer = muxer
        self._stream = muxer.container.add_stream("aac", rate=AUDIO_RATE_HZ, layout=self.layout)
        self._stream.bit_rate = 128_000
        self._stream.codec_context.time_base = _AUDIO_TIME_BASE

    def start(self) -> None:
        self._thread.start()

    def set_start(self, start_s: float) -> None:
        """The capture time (perf_counter() s) of the first video frame: the recording's time zero."""
        self._start_s = start_s

    def stop(self, end_s: float | None) -> None:
        """Finish the sound at `end_s` (perf_counter() s; None: at once) and close the microphone."""
        if end_s is not None and self._start_s is not None:
            self._end_sample = max(0, round((end_s - self._start_s) * AUDIO_RATE_HZ))
        self._stop_deadline_s = time.perf_counter() + AUDIO_STOP_WAIT_S
        self._stop_requested.set()

    def join(self, timeout_s: float) -> None:
        if self._thread.is_alive():
            self._thread.join(timeout_s)
        if self._thread.is_alive():
            logger.warning(
                "The microphone %s did not stop in %.0f s; the recording ends without it.", self.device, timeout_s
            )

    def close_unstarted(self) -> None:
        """Close the microphone when the recording could not start."""
        self.input.close()

    def _read_loop(self) -> None:
        """Audio thread: read, resample, place in time, encode and mux until stopped or the device stops."""
        assert self._stream is not None
        resampler = av.AudioResampler(format="fltp", layout=self.layout, rate=AUDIO_RATE_HZ)
        fifo = av.AudioFifo()
        waiting: collections.deque[tuple[float, FloatArray]] = collections.deque()  # sound before video time zero
        next_sample: int | None = None  # where the next sound goes, in samples since the video's time zero
        anchor: tuple[float, float] | None = None  # (perf_counter s, device s) of the first block
        try:
            try:
                for packet in self.input.demux(self._input_stream):
                    if self._stop_requested.is_set() and (
                        self._end_sample is None
                        or (next_sample is not None and next_sample >= self._end_sample)
                        or time.perf_counter() > self._stop_deadline_s
                    ):
                        break
                    for frame in packet.decode():
                        read_at_s = time.perf_counter()
                        duration_s = frame.samples / frame.sample_rate
                        if frame.time is None:  # no device clock: when it was read
                            captured_at_s = read_at_s - duration_s
                        else:
                            if anchor is None:
                                anchor = (read_at_s - duration_s, frame.time)
                                self.first_sample_at_s = anchor[0]
                            captured_at_s = anchor[0] + frame.time - anchor[1]
                        # A source faster than real time (lavfi, a file) is paced to it; a microphone never waits.
                        wait_s = captured_at_s + duration_s - read_at_s
                        if wait_s > 0 and self._stop_requested.wait(wait_s) and self._end_sample is None:
                            break
                        chunk = np.concatenate(
                            [resampled.to_ndarray() for resampled in resampler.resample(frame)]
                            or [np.zeros((self._channels, 0), np.float32)],
                            axis=1,
                        )
                        waiting.append((captured_at_s, chunk))
                        if self._start_s is None:  # no video yet: keep the last few seconds
                            while waiting and waiting[0][0] < read_at_s - 5.0:
                                waiting.popleft()
                            continue
                        while waiting:
                            chunk_at_s, chunk = waiting.popleft()
                            next_sample = self._place(fifo, chunk, chunk_at_s, next_sample)
                            self._encode(fifo, final=False)
                else:
                    if not self._stop_requested.is_set():
                        self._stopped("the microphone stopped sending sound", next_sample)
            except (av.FFmpegError, OSError) as error:
                if self.write_error is None:
                    self._stopped(f"the microphone failed ({error})", next_sample)
            if next_sample is not None and self._end_sample is not None and not self.stopped_reason:
                missing = self._end_sample - next_sample
                if 0 < missing <= AUDIO_RATE_HZ * (AUDIO_STOP_WAIT_S + AUDIO_RESYNC_S):
                    self._write_samples(fifo, np.zeros((self._channels, missing), np.float32))
            self._encode(fifo, final=True)
        except _SoundWriteError:  # full disk: the recorder thread reports it (write_error)
            pass
        except Exception as error:  # resampling, encoding: the recorder thread reports it too
            self.write_error = error
        finally:
            with contextlib.suppress(Exception):
                self.input.close()

    @property
    def _channels(self) -> int:
        return 1 if self.layout == "mono" else 2

    def _place(self, fifo: av.AudioFifo, chunk: FloatArray, chunk_at_s: float, next_sample: int | None) -> int | None:
        """Queue `chunk` for the encoder at its capture time; returns the sample after it (None: nothing yet)."""
        assert self._start_s is not None
        expected = round((chunk_at_s - self._start_s) * AUDIO_RATE_HZ)
        if next_sample is None:
            if expected + chunk.shape[1] <= 0:  # wholly before the first frame
                return None
            next_sample = 0
            tolerance = 0  # the first sound lines up exactly with the first frame
        else:
            tolerance = round(AUDIO_RESYNC_S * AUDIO_RATE_HZ)
        gap = expected - next_sample
        if gap > tolerance:  # sound was lost (device overrun) or starts after the video: silence keeps the sync
            self._write_samples(fifo, np.zeros((self._channels, gap), np.float32))
            next_sample += gap
        elif gap < -tolerance:  # sound from before the video's start (or repeated): drop it
            chunk = chunk[:, -gap:]
        if self._end_sample is not None:
            chunk = chunk[:, : max(0, self._end_sample - next_sample)]
        self._write_samples(fifo, chunk)
        return next_sample + int(chunk.shape[1])

    def _write_samples(self, fifo: av.AudioFifo, samples: FloatArray) -> None:
        if samples.shape[1] == 0:
            return
        frame = av.AudioFrame.from_ndarray(np.ascontiguousarray(samples), format="fltp", layout=self.layout)
        frame.sample_rate = AUDIO_RATE_HZ
        fifo.write(frame)

    def _encode(self, fifo: av.AudioFifo, final: bool) -> None:
        assert self._stream is not None and self._muxer is not None
        frames = []
        while (frame := fifo.read(AUDIO_FRAME_SAMPLES)) is not None:
            frames.append(frame)
        if final and (rest := fifo.read()) is not None:
            frames.append(rest)
        packets = []
        for frame in frames:
            frame.pts, frame.time_base = self.samples_written, _AUDIO_TIME_BASE
            self.samples_written += frame.samples
            packets.extend(self._stream.encode(frame))
        if final:
            packets.extend(self._stream.encode(None))
        if packets:
            try:
                self._muxer.mux(packets)
            except Exception as error:  # not a microphone failure: the file cannot be written
                self.write_error = error
                raise _SoundWriteError from error

    def _stopped(self, reason: str, next_sample: int | None) -> None:
        seconds = (next_sample or 0) // AUDIO_RATE_HZ
        self.stopped_reason = f"no sound since {seconds // 60:02d}:{seconds % 60:02d}: {reason}"
        logger.warning('Recording continues without sound from "%s": %s', self.device, reason)


def add_content_credentials(path: Path, destination: Path | None = None, title: str | None = None) -> bool:
    """Sign a finished file as AI-modified (C2PA), in place or into `destination`. Returns whether it was signed.

    `title`: the file's name in the manifest (a temporary file passes the name it will have).

    A failure is logged: the file itself is still good.
    """
    from faceswap_live import __version__
    from faceswap_live.provenance import sign_file

    try:
        sign_file(path, __version__, destination=destination, title=title)
    except OutputError as error:
        logger.warning("%s", error)
        return False
    return True


def partial_path(path: Path, token: str) -> Path:
    """Where a recording is written until it is finished: movie.mp4 → movie.<token>.part.mp4."""
    return path.with_name(f"{path.stem}.{token}.part{path.suffix or '.mp4'}")


def _part_pattern(path: Path) -> re.Pattern[str]:
    return re.compile(re.escape(path.stem) + r"\.[0-9a-f]{8}\.part" + re.escape(path.suffix or ".mp4"))


def _try_lock(descriptor: int) -> bool:
    """Take the exclusive advisory lock a running recording holds on its part file; False when another holds it."""
    if sys.platform == "win32":  # Windows: a file open for writing cannot be renamed or deleted by another process
        return True
    import fcntl

    try:
        fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except OSError:
        return False
    return True


def _create_part_file(path: Path) -> tuple[Path, int]:
    """Create this recording's own part file (never an existing file or a symlink) and lock it while it is written.

    Returns the part path and the open, locked descriptor (closing it releases the lock).
    """
    for _ in range(100):
        part = partial_path(path, secrets.token_hex(4))
        try:
            descriptor = os.open(part, os.O_RDWR | os.O_CREAT | os.O_EXCL | _NO_FOLLOW, 0o666)
        except FileExistsError:
            continue
        _try_lock(descriptor)  # a new file: nobody else holds it
        return part, descriptor
    raise OutputError(f"Cannot record to {path}: no free temporary name in {path.parent}.")


def _trim_open_file(descriptor: int) -> int:
    """Cut a fragmented MP4 (an open descriptor) after its last complete top-level box that holds media.

    A write that stopped half-way (crash, full disk) leaves a torn fragment at the end, which some players refuse.
    Returns the new size in bytes (0: nothing usable).
    """
    size = os.fstat(descriptor).st_size
    offset = usable = 0
    while offset + 8 <= size:
        box_size, box_type = struct.unpack(">I4s", _read_at(descriptor, offset, 8))
        if box_size == 1:  # 64-bit size follows the type
            box_size = struct.unpack(">Q", _read_at(descriptor, offset + 8, 8))[0]
        elif box_size == 0:  # "to the end of the file": only a finished writer may say so
            box_size = size - offset
        if box_size < 8 or offset + box_size > size:
            break
        offset += box_size
        if box_type in (b"moov", b"mdat", b"mfra"):
            usable = offset
    if usable < size:
        os.ftruncate(descriptor, usable)
    return usable


def _read_at(descriptor: int, offset: int, size: int) -> bytes:
    os.lseek(descriptor, offset, os.SEEK_SET)
    return os.read(descriptor, size)


def trim_to_complete_fragments(path: Path) -> int:
    """Cut a fragmented MP4 after its last complete box that holds media (see _trim_open_file); never via a symlink."""
    descriptor = os.open(path, os.O_RDWR | _NO_FOLLOW)
    try:
        return _trim_open_file(descriptor)
    finally:
        os.close(descriptor)


def _free_name(final: Path) -> Path:
    """`final`, or `<stem>-2<suffix>`, `-3`, … : the first name no file has."""
    candidate, counter = final, 2
    while candidate.exists() or candidate.is_symlink():
        candidate = final.with_name(f"{final.stem}-{counter}{final.suffix}")
        counter += 1
    return candidate


def _publish(part: Path, final: Path, replaceable: tuple[int, int] | None = None) -> Path:
    """Give a finished part file its final name without ever replacing a file the app did not mean to replace.

    `replaceable`: (device, inode) of the file that stood at `final` when the recording started (the user chose to
    replace it). Any other file there (another run's recording, made meanwhile) is kept, and this one takes the next
    free name instead. Returns the name used.
    """
    try:
        standing = final.lstat()
    except FileNotFoundError:
        standing = None
    if standing is not None and replaceable == (standing.st_dev, standing.st_ino):
        part.replace(final)
        return final
    while True:
        candidate = _free_name(final)
        try:
            os.link(part, candidate)  # fails if the name was taken meanwhile: never replaces anything
        except FileExistsError:
            continue
        except OSError:  # a file system without hard links: rename if still free (a tiny race, never a symlink)
            if candidate.exists() or candidate.is_symlink():
                continue
            part.rename(candidate)
            return candidate
        part.unlink()
        return candidate


def _lock_own_part(part_path: Path) -> int | None:
    """Open a crashed recording's part file for recovery, or None when it must not be touched.

    Refused: symlinks, anything but a regular file with one link, and files a running recording holds locked.
    """
    try:
        descriptor = os.open(part_path, os.O_RDWR | _NO_FOLLOW)
    except OSError:
        return None
    try:
        status = os.fstat(descriptor)
    except OSError:
        status = None
    if status is None or not (stat.S_ISREG(status.st_mode) and status.st_nlink == 1) or not _try_lock(descriptor):
        os.close(descriptor)
        return None
    return descriptor


def recover_partial_recording(part_path: Path, final: Path | None = None) -> Path | None:
    """Make a part file left by a crash playable and give it a final name; returns it, or None (file left as it is).

    The name is `final` (default: the recording's own name) or the next free one: nothing is replaced. A part file
    that is a symlink, has other links, is being written by a running recording or holds no complete fragment is
    left untouched.
    """
    descriptor = _lock_own_part(part_path)
    if descriptor is None:
        logger.warning("%s was left as it is: it is not a recording this app can recover.", part_path)
        return None
    if final is None:
        stem = part_path.name.removesuffix(part_path.suffix).removesuffix(".part")
        stem = re.sub(r"\.[0-9a-f]{8}$", "", stem)
        final = part_path.with_name(stem + part_path.suffix)
    try:
        return _recover_locked(descriptor, part_path, final)
    finally:
        os.close(descriptor)


def _recover_locked(
    descriptor: int, part_path: Path, final: Path, replaceable: tuple[int, int] | None = None
) -> Path | None:
    """Trim a part file this process holds open and locked, and publish it (None: nothing usable, left as it is)."""
    if _trim_open_file(descriptor) == 0 or not _has_video(part_path):
        logger.warning("%s holds no complete part of a recording; it was left as it is.", part_path)
        return None
    return _publish(part_path, final, replaceable)


def recover_interrupted_recordings(path: Path) -> list[Path]:
    """Recover the part files that crashed recordings to `path` left behind, each as `<name>-interrupted-<time>.mp4`.

    Only files with the app's part-file name pattern are looked at (see recover_partial_recording for what is left).
    """
    pattern = _part_pattern(path)
    recovered = []
    try:
        candidates = sorted(entry for entry in path.parent.iterdir() if pattern.fullmatch(entry.name))
    except OSError:
        return []
    for part in candidates:
        try:
            stamp = datetime.datetime.fromtimestamp(part.lstat().st_mtime).strftime("%Y%m%d-%H%M%S")
            final = path.with_name(f"{path.stem}-interrupted-{stamp}{path.suffix or '.mp4'}")
            saved = recover_partial_recording(part, final)
        except OSError as error:
            logger.warning("Could not recover %s: %s", part, error)
            continue
        if saved is not None:
            logger.warning("An interrupted earlier recording was recovered as %s", saved)
            recovered.append(saved)
    return recovered


def _has_video(path: Path) -> bool:
    try:
        with av.open(str(path)) as container:
            return any(True for _ in container.decode(video=0))
    except (av.FFmpegError, OSError):
        return False


def _is_full_disk(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in FULL_DISK_ERRNOS


class _Muxer:
    """The output container shared by the video and the audio thread: one mux at a time, none after closing."""

    def __init__(self, container: OutputContainer) -> None:
        self.container = container
        self.closed = False
        self._lock = threading.Lock()

    def mux(self, packets: list[av.Packet[Any]]) -> None:
        with self._lock:
            if not self.closed:
                self.container.mux(packets)

    def close(self) -> None:
        """Write the trailer (raises what writing raises) and refuse later packets."""
        with self._lock:
            if not self.closed:
                self.closed = True
                self.container.close()


class RecordingSink(OutputSink):
    """Writes frames to an H.264 (yuv420p) MP4 at `path`, letterboxed to width×height (rounded down to even).

    `send` queues a frame (processing thread, never blocks; frames beyond QUEUE_FRAMES are dropped and counted).
    Raises OutputError when the file cannot be created. Later write errors stop the recording and are reported in
    `.error` (an OutputError) and `status()`; the file keeps what was written before.
    `audio_device` (None: no sound) records that microphone too (see audio_input_for); one that cannot be opened
    raises OutputError naming it and how to list the microphones. One lost later stops the sound, not the video.
    """

    name = "recording"

    def __init__(self, path: Path, fps: float, width: int, height: int, audio_device: str | None = None) -> None:
        self.path = path
        self.width, self.height = max(2, width - width % 2), max(2, height - height % 2)
        self.fps = fps
        self.error: OutputError | None = None
        self.frames_written = 0
        self.frames_dropped = 0
        self.finished = False
        self._recorded_ms = 0
        self._closed = False
        self._queue: queue.Queue[tuple[BgrImage, float] | None] = queue.Queue(maxsize=QUEUE_FRAMES)
        if not path.parent.is_dir():
            raise OutputError(f"Cannot record to {path}: the folder {path.parent} does not exist.")
        # The microphone first: one that cannot be opened leaves no file behind.
        self._audio = _MicrophoneTrack(audio_device) if audio_device else None
        recover_interrupted_recordings(path)
        try:
            standing = path.lstat()  # the file the user chose to replace, if any: the only one the finish may replace
            self._replaceable: tuple[int, int] | None = (standing.st_dev, standing.st_ino)
        except OSError:
            self._replaceable = None
        try:
            self.part_path, self._part_descriptor = _create_part_file(path)
        except OSError as error:
            if self._audio is not None:
                self._audio.close_unstarted()
            raise OutputError(f"Cannot record to {path}: {error.strerror or error}.") from error
        except OutputError:
            if self._audio is not None:
                self._audio.close_unstarted()
            raise
        try:
            self._container = av.open(
                str(self.part_path),
                "w",
                format="mp4",
                # With sound, the muxer holds packets to interleave the streams; a stalled microphone must not hold
                # the video back (a crash would lose it) for longer than a fragment.
                options={
                    "movflags": "frag_keyframe+empty_moov+default_base_moof",
                    "flush_packets": "1",
                    "max_interleave_delta": "1000000",
                },
            )
        except (av.FFmpegError, OSError) as error:
            self._discard_part()
            raise OutputError(f"Cannot record to {path}: {error}") from error
        self._muxer = _Muxer(self._container)
        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = "yuv420p"
        # Keyframes (= fragments) are forced every KEYFRAME_INTERVAL_MS of capture time; zerolatency keeps no frames
        # back in the encoder, so what a crash can lose is the fragment being written.
        self._stream.options = {"crf": "21", "preset": "veryfast", "g": "100000"}  # keyframes are forced by time below
        self._stream.codec_context.time_base = _TIME_BASE
        if self._audio is not None:
            self._audio.add_stream(self._muxer)
        try:  # create the file and write its header now, so a path that cannot be written fails here
            self._container.start_encoding()
        except (av.FFmpegError, OSError) as error:
            with contextlib.suppress(Exception):
                self._container.close()
            self._discard_part()
            raise OutputError(f"Cannot record to {path}: {error}") from error
        self._thread = threading.Thread(target=self._write_loop, name="faceswap-recorder", daemon=True)
        self._thread.start()
        if self._audio is not None:
            self._audio.start()
        logger.info("Recording to %s", self.part_path)

    def _discard_part(self) -> None:
        """The recording could not start: remove its own (empty) part file and close the microphone."""
        if self._audio is not None:
            self._audio.close_unstarted()
        with contextlib.suppress(OSError):
            self.part_path.unlink()
        os.close(self._part_descriptor)

    @property
    def audio_started_at_s(self) -> float | None:
        """When the microphone's first sample was captured (perf_counter() s); None without sound or before it."""
        return None if self._audio is None else self._audio.first_sample_at_s

    def send(self, result: FrameResult) -> None:
        if self._closed or self.error is not None:
            return
        try:
            self._queue.put_nowait((result.output_bgr, result.source.captured_at_s))
        except queue.Full:
            self.frames_dropped += 1

    def close(self) -> None:
        """Encode what is queued, finalise the file and rename it (waits up to CLOSE_TIMEOUT_S)."""
        if self._closed:
            return
        self._closed = True
        if self._thread.is_alive():
            with contextlib.suppress(queue.Full):
                self._queue.put(None, timeout=CLOSE_TIMEOUT_S)
        self._thread.join(CLOSE_TIMEOUT_S)
        if self._thread.is_alive():
            logger.warning(
                "The recording did not finish in %.0f s; %s stays playable.", CLOSE_TIMEOUT_S, self.part_path
            )
        elif self.finished:
            logger.info("Recorded %d frames (%.1f s) to %s", self.frames_written, self._recorded_ms / 1000, self.path)

    def status(self) -> str:
        if self.error is not None:
            return str(self.error)
        seconds = self._recorded_ms // 1000
        state = "Recorded" if self.finished else "Recording"
        target = self.path if self.finished else self.part_path
        dropped = f", {self.frames_dropped} dropped" if self.frames_dropped else ""
        sound = ""
        if self._audio is not None:
            sound = f"; {self._audio.stopped_reason}" if self._audio.stopped_reason else ", with sound"
        return (
            f"{state}: {target} {seconds // 60:02d}:{seconds % 60:02d} ({self.frames_written} frames{dropped}{sound})"
        )

    def _write_loop(self) -> None:
        """Recorder thread: encode queued frames until the end marker, then finalise and rename."""
        first_captured_at_s: float | None = None
        last_captured_at_s = 0.0
        last_pts_ms = -1
        last_keyframe_ms: int | None = None
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    break
                if self._audio is not None and self._audio.write_error is not None:
                    raise self._audio.write_error
                image_bgr, captured_at_s = item
                if first_captured_at_s is None:
                    first_captured_at_s = captured_at_s
                    if self._audio is not None:
                        self._audio.set_start(captured_at_s)
                last_captured_at_s = captured_at_s
                pts_ms = max(last_pts_ms + 1, round((captured_at_s - first_captured_at_s) * 1000))
                frame = av.VideoFrame.from_ndarray(fit_frame(image_bgr, self.width, self.height), format="bgr24")
                frame.pts, frame.time_base = pts_ms, _TIME_BASE
                if last_keyframe_ms is None or pts_ms - last_keyframe_ms >= KEYFRAME_INTERVAL_MS:
                    frame.pict_type = av.video.frame.PictureType.I
                    last_keyframe_ms = pts_ms
                self._muxer.mux(self._stream.encode(frame))
                last_pts_ms = self._recorded_ms = pts_ms
                self.frames_written += 1
            if self._audio is not None:  # the sound ends with the last frame's display time
                self._audio.stop(last_captured_at_s + 1 / self.fps if first_captured_at_s is not None else None)
                self._audio.join(AUDIO_STOP_WAIT_S + 2.0)
                if self._audio.write_error is not None:
                    raise self._audio.write_error
            self._muxer.mux(self._stream.encode(None))
            self._muxer.close()
        except Exception as error:  # full disk, removed drive, encoder failure: keep what was written
            self._fail(error)
            return
        part = self.part_path
        try:
            if self.frames_written == 0:
                part.unlink(missing_ok=True)
                logger.info("Nothing was recorded; no file written.")
                return
            # Signed into a copy of its own before it takes its name: the name only ever holds the finished file.
            signed = part.with_name(f".{part.stem.removesuffix('.part')}.signed{part.suffix}")
            if add_content_credentials(part, destination=signed, title=self.path.name):
                saved = _publish(signed, self.path, self._replaceable)
                self.part_path.unlink()
            else:
                saved = _publish(self.part_path, self.path, self._replaceable)
        except OSError as error:
            self.error = OutputError(f"Recording could not be saved as {self.path}: {error}; it stays in {part}.")
            logger.error("%s", self.error)
            return
        finally:
            os.close(self._part_descriptor)
        if saved != self.path:
            logger.warning("%s was written by another run meanwhile; this recording is saved as %s.", self.path, saved)
            self.path = saved
        self.finished = True

    def _fail(self, error: Exception) -> None:
        if self._audio is not None:
            self._audio.stop(None)
            self._audio.join(AUDIO_STOP_WAIT_S)
        try:
            self._muxer.close()
        except Exception:  # the trailer cannot be written either (same full disk): the fragments already are
            logger.debug("Closing the failed recording also failed", exc_info=True)
        saved: Path | None = None
        try:
            saved = _recover_locked(self._part_descriptor, self.part_path, self.path, self._replaceable)
        except OSError:
            logger.exception("Could not tidy up %s", self.part_path)
        finally:
            os.close(self._part_descriptor)
        reason = f"the disk is full ({self.path.parent})" if _is_full_disk(error) else f"writing failed ({error})"
        kept = f"what was recorded until then is saved in {saved}" if saved is not None else "nothing could be saved"
        self.error = OutputError(f"Recording stopped: {reason}; {kept}.")
        logger.error("%s", self.error)
        # Free the queued frames; later sends are ignored.
        while not self._queue.empty():
            self._queue.get_nowait()
