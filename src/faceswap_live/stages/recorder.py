"""Records the output to an H.264 MP4 that stays playable whatever happens.

- The file is written as `<name>.part.mp4` and renamed to `<name>.mp4` on a clean finish, so a half-written file never
  looks like a finished one.
- It is a fragmented MP4 (a self-contained fragment per second, starting on a keyframe, flushed to disk at once), so a
  crash, a kill or a power cut loses at most the last second: everything before it plays.
- A full disk (or any write error) stops the recording, trims the file to its last complete fragment (which frees
  space and leaves it playable), renames it and reports an OutputError through `.error` and `status()`.
- Frames are timed by their capture time, so the recording keeps the real pace even when processing is uneven.

Audio: video only. PyAV can open microphones (alsa on Linux, dshow on Windows, avfoundation on macOS), but the Linux
wheels lack PulseAudio/PipeWire input, the most common desktop sound path; for sound, record the virtual camera and the
microphone together in OBS, which also applies the audio delay (see the README).
"""

from __future__ import annotations

import contextlib
import datetime
import errno
import logging
import os
import queue
import struct
import threading
from fractions import Fraction
from pathlib import Path

import av

from faceswap_live.errors import OutputError
from faceswap_live.stages.outputs import OutputSink, fit_frame
from faceswap_live.types import BgrImage, FrameResult

logger = logging.getLogger(__name__)

QUEUE_FRAMES = 60
"""Frames waiting for the encoder (about 2 s at 30 fps; 55 MB at 640x480). Beyond that new frames are dropped."""
CLOSE_TIMEOUT_S = 15.0
"""How long close() waits for the queued frames to be encoded and the file finalised."""
FULL_DISK_ERRNOS = {errno.ENOSPC, errno.EFBIG, errno.EDQUOT}
_TIME_BASE = Fraction(1, 1000)  # pts in milliseconds of capture time


def add_content_credentials(path: Path) -> None:
    """Sign a finished file as AI-modified (C2PA). A failure is logged: the file itself is still good."""
    from faceswap_live import __version__
    from faceswap_live.provenance import sign_file

    try:
        sign_file(path, __version__)
    except OutputError as error:
        logger.warning("%s", error)


def partial_path(path: Path) -> Path:
    """Where a recording is written until it is finished: movie.mp4 → movie.part.mp4."""
    return path.with_name(f"{path.stem}.part{path.suffix or '.mp4'}")


def trim_to_complete_fragments(path: Path) -> int:
    """Cut a fragmented MP4 after its last complete top-level box that holds media (moov, mdat, mfra).

    A write that stopped half-way (crash, full disk) leaves a torn fragment at the end, which some players refuse.
    Returns the new size in bytes (0: nothing usable).
    """
    size = path.stat().st_size
    offset = usable = 0
    with path.open("rb") as file:
        while offset + 8 <= size:
            file.seek(offset)
            box_size, box_type = struct.unpack(">I4s", file.read(8))
            if box_size == 1:  # 64-bit size follows the type
                box_size = struct.unpack(">Q", file.read(8))[0]
            elif box_size == 0:  # "to the end of the file": only a finished writer may say so
                box_size = size - offset
            if box_size < 8 or offset + box_size > size:
                break
            offset += box_size
            if box_type in (b"moov", b"mdat", b"mfra"):
                usable = offset
    if usable < size:
        os.truncate(path, usable)
    return usable


def recover_partial_recording(part_path: Path) -> Path | None:
    """Make a `.part.mp4` left by a crash playable and give it its final name (or `<name>-recovered.mp4` if taken).

    Returns the recovered file, or None (and deletes the part) when it held no complete fragment.
    """
    if trim_to_complete_fragments(part_path) == 0 or not _has_video(part_path):
        part_path.unlink(missing_ok=True)
        return None
    stem = part_path.name.removesuffix(part_path.suffix).removesuffix(".part")
    final = part_path.with_name(stem + part_path.suffix)
    if final.exists():
        final = part_path.with_name(f"{stem}-recovered{part_path.suffix}")
    part_path.replace(final)
    return final


def _rescue_interrupted_recording(part_path: Path) -> None:
    """A `.part.mp4` from an earlier crash sits where a new recording would go: keep it under its own name."""
    stamp = datetime.datetime.fromtimestamp(part_path.stat().st_mtime).strftime("%Y%m%d-%H%M%S")
    stem = part_path.name.removesuffix(part_path.suffix).removesuffix(".part")
    moved = part_path.replace(part_path.with_name(f"{stem}-interrupted-{stamp}.part{part_path.suffix}"))
    recovered = recover_partial_recording(moved)
    if recovered is not None:
        logger.warning("An interrupted earlier recording was recovered as %s", recovered)


def _has_video(path: Path) -> bool:
    try:
        with av.open(str(path)) as container:
            return any(True for _ in container.decode(video=0))
    except (av.FFmpegError, OSError):
        return False


def _is_full_disk(error: BaseException) -> bool:
    return isinstance(error, OSError) and error.errno in FULL_DISK_ERRNOS


class RecordingSink(OutputSink):
    """Writes frames to an H.264 (yuv420p) MP4 at `path`, letterboxed to width×height (rounded down to even).

    `send` queues a frame (processing thread, never blocks; frames beyond QUEUE_FRAMES are dropped and counted).
    Raises OutputError when the file cannot be created. Later write errors stop the recording and are reported in
    `.error` (an OutputError) and `status()`; the file keeps what was written before.
    `audio_device` is accepted for the settings' sake; recordings are video only (see the module notes).
    """

    name = "recording"

    def __init__(self, path: Path, fps: float, width: int, height: int, audio_device: str | None = None) -> None:
        self.path = path
        self.part_path = partial_path(path)
        self.width, self.height = max(2, width - width % 2), max(2, height - height % 2)
        self.fps = fps
        if audio_device:
            logger.warning("Recording sound is not supported yet; recording %s without audio.", path.name)
        self.error: OutputError | None = None
        self.frames_written = 0
        self.frames_dropped = 0
        self.finished = False
        self._recorded_ms = 0
        self._closed = False
        self._queue: queue.Queue[tuple[BgrImage, float] | None] = queue.Queue(maxsize=QUEUE_FRAMES)
        if not path.parent.is_dir():
            raise OutputError(f"Cannot record to {path}: the folder {path.parent} does not exist.")
        if self.part_path.exists():
            _rescue_interrupted_recording(self.part_path)
        try:
            self._container = av.open(
                str(self.part_path),
                "w",
                format="mp4",
                options={"movflags": "frag_keyframe+empty_moov+default_base_moof", "flush_packets": "1"},
            )
        except (av.FFmpegError, OSError) as error:
            raise OutputError(f"Cannot record to {path}: {error}") from error
        rate = Fraction(fps).limit_denominator(1001)
        self._stream = self._container.add_stream("libx264", rate=rate)
        self._stream.width, self._stream.height = self.width, self.height
        self._stream.pix_fmt = "yuv420p"
        # A keyframe every second = a fragment every second: what a crash can lose at most.
        self._stream.options = {"crf": "21", "preset": "veryfast", "g": str(max(1, round(fps)))}
        self._stream.codec_context.time_base = _TIME_BASE
        try:  # create the file and write its header now, so a path that cannot be written fails here
            self._container.start_encoding()
        except (av.FFmpegError, OSError) as error:
            self._container.close()
            raise OutputError(f"Cannot record to {path}: {error}") from error
        self._thread = threading.Thread(target=self._write_loop, name="faceswap-recorder", daemon=True)
        self._thread.start()
        logger.info("Recording to %s", self.part_path)

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
        return f"{state}: {target} {seconds // 60:02d}:{seconds % 60:02d} ({self.frames_written} frames{dropped})"

    def _write_loop(self) -> None:
        """Recorder thread: encode queued frames until the end marker, then finalise and rename."""
        first_captured_at_s: float | None = None
        last_pts_ms = -1
        try:
            while True:
                item = self._queue.get()
                if item is None:
                    break
                image_bgr, captured_at_s = item
                if first_captured_at_s is None:
                    first_captured_at_s = captured_at_s
                pts_ms = max(last_pts_ms + 1, round((captured_at_s - first_captured_at_s) * 1000))
                frame = av.VideoFrame.from_ndarray(fit_frame(image_bgr, self.width, self.height), format="bgr24")
                frame.pts, frame.time_base = pts_ms, _TIME_BASE
                self._container.mux(self._stream.encode(frame))
                last_pts_ms = self._recorded_ms = pts_ms
                self.frames_written += 1
            self._container.mux(self._stream.encode(None))
            self._container.close()
        except Exception as error:  # full disk, removed drive, encoder failure: keep what was written
            self._fail(error)
            return
        if self.frames_written == 0:
            self.part_path.unlink(missing_ok=True)
            logger.info("Nothing was recorded; no file written.")
            return
        self.part_path.replace(self.path)
        self.finished = True
        add_content_credentials(self.path)

    def _fail(self, error: Exception) -> None:
        try:
            self._container.close()
        except Exception:  # the trailer cannot be written either (same full disk): the fragments already are
            logger.debug("Closing the failed recording also failed", exc_info=True)
        saved: Path | None = None
        try:
            saved = recover_partial_recording(self.part_path)
        except OSError:
            logger.exception("Could not tidy up %s", self.part_path)
        reason = f"the disk is full ({self.path.parent})" if _is_full_disk(error) else f"writing failed ({error})"
        kept = f"what was recorded until then is saved in {saved}" if saved is not None else "nothing could be saved"
        self.error = OutputError(f"Recording stopped: {reason}; {kept}.")
        logger.error("%s", self.error)
        # Free the queued frames; later sends are ignored.
        while not self._queue.empty():
            self._queue.get_nowait()
