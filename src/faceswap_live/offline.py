"""Offline work on files: swap a face through a video or a photo (keeping the audio), and the benchmark run."""

from __future__ import annotations

import errno
import logging
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path

import av
import cv2
import numpy as np

from faceswap_live.config import AppConfig
from faceswap_live.engines.base import ModelLocator
from faceswap_live.errors import CameraError, OutputError
from faceswap_live.inputs.capture import IMAGE_SUFFIXES
from faceswap_live.inputs.target_photo import read_image
from faceswap_live.outputs.recorder import add_content_credentials
from faceswap_live.runtime.pipeline import Pipeline
from faceswap_live.types import BgrImage, Frame, FrameResult, TargetFace

logger = logging.getLogger(__name__)

# Audio codecs an MP4/MOV file can carry as they are; anything else (e.g. WMA) is re-encoded to AAC.
MP4_AUDIO_CODECS = frozenset({"aac", "mp3", "alac", "opus", "ac3", "eac3", "flac"})

MAX_VIDEO_PIXELS = 7680 * 4320
"""Larger frames are refused before decoding (a few bytes can promise gigabytes of pixels)."""

ProgressCallback = Callable[[int, int], None]
"""(frames done, total frames or 0 if unknown)."""


@dataclass(frozen=True)
class SwapSummary:
    frames: int
    faces_swapped_frames: int
    output_path: Path
    had_audio: bool


def is_image_path(path: Path) -> bool:
    return path.suffix.lower() in IMAGE_SUFFIXES


def swap_image_file(pipeline: Pipeline, input_path: Path, output_path: Path) -> SwapSummary:
    """Swap the face(s) in one photo and write the result (format from the output suffix)."""
    image = read_image(input_path)
    result = pipeline.process(Frame(image_bgr=image, index=0, captured_at_s=0.0))
    _write_atomically(output_path, lambda temporary: _write_image(temporary, result.output_bgr, output_path.suffix))
    return SwapSummary(1, int(result.swapped), output_path, had_audio=False)


def _write_image(path: Path, image_bgr: BgrImage, suffix: str) -> None:
    ok, encoded = cv2.imencode(suffix or ".png", image_bgr)
    if not ok:
        raise OutputError(f"Cannot write images of type {suffix!r}; use .jpg, .png or .webp.")
    path.write_bytes(encoded.tobytes())


def current_umask() -> int:
    """The process's file-creation mask, read without changing it where the system allows (Linux)."""
    try:
        for line in Path("/proc/self/status").read_text(encoding="ascii").splitlines():
            if line.startswith("Umask:"):
                return int(line.split()[1], 8)
    except (OSError, ValueError):
        pass
    mask = os.umask(0o022)
    os.umask(mask)
    return mask


def _write_atomically(output_path: Path, write: Callable[[Path], None]) -> None:
    """Write to a temporary file of this run's own beside the output, sign it, then rename it over the output.

    A failure (or Ctrl-C, SIGTERM) never leaves a half-written file under any name, and two runs writing one output
    never share a temporary file: the output is always one run's complete, signed file.
    """
    _check_output_folder(output_path)
    try:
        descriptor, name = tempfile.mkstemp(
            prefix=f".{output_path.stem}.", suffix=f".partial{output_path.suffix}", dir=output_path.parent
        )
    except OSError as error:
        raise OutputError(
            f"Cannot write into {output_path.parent} ({error.strerror or error}); choose a folder you can write to."
        ) from error
    os.close(descriptor)
    temporary = Path(name)
    try:
        os.chmod(temporary, 0o666 & ~current_umask())  # like any file the user makes (mkstemp makes 0600)
        write(temporary)
        add_content_credentials(temporary, title=output_path.name)
        temporary.replace(output_path)
    except OSError as error:
        temporary.unlink(missing_ok=True)
        if error.errno in (errno.ENOSPC, errno.EDQUOT, errno.EFBIG):
            raise OutputError(
                f"The disk is full: {output_path} was not written. Free some space and try again."
            ) from error
        raise OutputError(f"Could not write {output_path}: {error.strerror or error}.") from error
    except BaseException:
        temporary.unlink(missing_ok=True)
        raise


def swap_video_file(
    pipeline: Pipeline, input_path: Path, output_path: Path, progress: ProgressCallback | None = None
) -> SwapSummary:
    """Swap every frame of a video into an H.264 file with the same frame count, size and frame rate.

    The input's first audio track is kept (copied when the container allows, else re-encoded to AAC).
    Raises CameraError for an unreadable input and OutputError for an unwritable output.
    """
    counts = {"frames": 0, "swapped": 0, "audio": 0}

    def write(temporary: Path) -> None:
        try:
            source = av.open(str(input_path))
        except (av.error.FFmpegError, OSError) as error:
            raise CameraError(f"{input_path.name} could not be opened as a video: {error}") from error
        try:
            with source, av.open(str(temporary), "w", format=_container_format(output_path)) as destination:
                counts.update(_transcode(pipeline, source, destination, progress))
        except av.error.FFmpegError as error:
            if isinstance(error, OSError) and error.errno not in (None, errno.EINVAL):  # writing: full disk, …
                raise
            raise CameraError(f"{input_path.name} could not be decoded as a video: {error}") from error

    _write_atomically(output_path, write)
    return SwapSummary(counts["frames"], counts["swapped"], output_path, had_audio=bool(counts["audio"]))


def _container_format(path: Path) -> str | None:
    return {".mp4": "mp4", ".m4v": "mp4", ".mov": "mov", ".mkv": "matroska", ".avi": "avi"}.get(path.suffix.lower())


def _display_turn(source: av.container.InputContainer) -> int:
    """Degrees clockwise (0, 90, 180, 270) the first frame must turn to be shown upright (a phone's portrait video is
    stored on its side with a display rotation). Rewinds the input afterwards."""
    turn = 0
    if source.streams.video:
        frame = next(iter(source.decode(source.streams.video[0])), None)
        if frame is not None:
            turn = round(-frame.rotation / 90) * 90 % 360
        source.seek(0)
    return turn


def _transcode(
    pipeline: Pipeline,
    source: av.container.InputContainer,
    destination: av.container.OutputContainer,
    progress: ProgressCallback | None,
) -> dict[str, int]:
    """Swap every frame of `source` into `destination`, turned upright (a phone's display rotation applied)."""
    if not source.streams.video:
        raise CameraError("The input file has no video track.")
    video_in = source.streams.video[0]
    video_in.thread_type = "AUTO"
    turn = _display_turn(source)
    rate = video_in.average_rate or video_in.guessed_rate or Fraction(30)
    width, height = video_in.codec_context.width, video_in.codec_context.height
    if width * height > MAX_VIDEO_PIXELS:
        raise CameraError(f"The input video is {width}x{height} pixels; videos up to 8K (7680x4320) are accepted.")
    quarter_turns = {90: -1, 180: 2, 270: 1}.get(turn, 0)  # np.rot90 turns counter-clockwise
    if turn in (90, 270):
        width, height = height, width
    video_out = destination.add_stream("libx264", rate=rate)
    video_out.width, video_out.height = width, height
    # 4:2:0 needs even sizes; odd-sized inputs keep their size with 4:4:4 instead of being cropped.
    video_out.pix_fmt = "yuv420p" if width % 2 == 0 and height % 2 == 0 else "yuv444p"
    video_out.options = {"crf": "18", "preset": "veryfast"}
    video_out.time_base = Fraction(1) / Fraction(rate)

    audio_in = source.streams.audio[0] if source.streams.audio else None
    audio_out = None
    copy_audio = False
    if audio_in is not None:
        copy_audio = audio_in.codec_context.name in MP4_AUDIO_CODECS
        audio_out = (
            destination.add_stream_from_template(audio_in)
            if copy_audio
            else destination.add_stream("aac", rate=audio_in.codec_context.sample_rate or 48000)
        )

    def upright_frames() -> Iterator[Frame]:
        """The video's frames, turned upright; the audio is written out as it comes."""
        index = 0
        for packet in source.demux([video_in] + ([audio_in] if audio_in is not None else [])):
            if packet.stream is audio_in and audio_out is not None:
                if copy_audio:
                    if packet.dts is not None:
                        packet.stream = audio_out
                        destination.mux(packet)
                else:
                    for audio_frame in packet.decode():
                        assert isinstance(audio_frame, av.AudioFrame)
                        audio_frame.pts = None
                        destination.mux(audio_out.encode(audio_frame))
                continue
            for video_frame in packet.decode():
                assert isinstance(video_frame, av.VideoFrame)
                image = np.asarray(video_frame.to_ndarray(format="bgr24"), dtype=np.uint8)
                if quarter_turns:
                    image = np.ascontiguousarray(np.rot90(image, quarter_turns))
                yield Frame(image_bgr=image, index=index, captured_at_s=index / float(rate))
                index += 1

    total = video_in.frames or 0
    frames = swapped = 0
    for result in pipeline.process_all(upright_frames()):
        swapped += int(result.swapped)
        out_frame = av.VideoFrame.from_ndarray(result.output_bgr, format="bgr24")
        out_frame.pts = frames
        destination.mux(video_out.encode(out_frame))
        frames += 1
        if progress is not None:
            progress(frames, total)
    destination.mux(video_out.encode())
    if audio_out is not None and not copy_audio:
        destination.mux(audio_out.encode())
    if frames == 0:
        raise CameraError("The input video holds no readable frames.")
    return {"frames": frames, "swapped": swapped, "audio": int(audio_in is not None)}


def _check_output_folder(output_path: Path) -> None:
    """Raise OutputError unless output_path names a file in an existing folder that this process can write into."""
    if output_path.is_dir():
        raise OutputError(f"{output_path} is a folder; name the file to write, e.g. {output_path / 'swapped.mp4'}.")
    if not output_path.parent.is_dir():
        raise OutputError(f"Folder {output_path.parent} does not exist.")
    try:
        with tempfile.TemporaryFile(dir=output_path.parent):
            pass
    except OSError as error:
        raise OutputError(
            f"Cannot write into {output_path.parent} ({error.strerror or error}); choose a folder you can write to."
        ) from error


def check_output_type(input_path: Path, output_path: Path) -> None:
    """A photo gives a photo, a video a video, in a folder that can be written: raise OutputError saying what to
    change otherwise. Cheap, so commands check it before any slow work."""
    _check_output_folder(output_path)
    if is_image_path(input_path):
        if not is_image_path(output_path):
            raise OutputError("A photo in gives a photo out: name the output .jpg, .png or .webp.")
    elif _container_format(output_path) is None:
        raise OutputError("A video in gives a video out: name the output .mp4, .mov, .mkv or .avi.")


def swap_file(
    config: AppConfig,
    landmark_model_path: Path,
    target: TargetFace,
    input_path: Path,
    output_path: Path,
    store: ModelLocator | None = None,
    progress: ProgressCallback | None = None,
    face_targets: list[TargetFace] | None = None,
) -> SwapSummary:
    """Swap `target` into a photo or a video file. See swap_image_file / swap_video_file.

    face_targets: one target per person, given to the people in the first frame from left to right (the others
    keep their faces); None swaps `target` onto everyone.
    """
    if not input_path.is_file():
        raise CameraError(f"Input {input_path} does not exist.")
    if input_path.resolve() == output_path.resolve():
        raise OutputError("The output must be a different file from the input (the input would be lost).")
    check_output_type(input_path, output_path)
    pipeline = Pipeline(config, landmark_model_path, store=store)
    try:
        pipeline.set_target(target)
        if face_targets:
            pipeline.map_faces(face_targets)
        if is_image_path(input_path):
            summary = swap_image_file(pipeline, input_path, output_path)
        else:
            summary = swap_video_file(pipeline, input_path, output_path, progress)
    finally:
        pipeline.close()
    return summary


def read_video_frames(path: Path, max_frames: int) -> tuple[list[BgrImage], float]:
    """Decode up to max_frames frames (BGR) and the frame rate, for benchmarks."""
    capture = cv2.VideoCapture(str(path))
    if not capture.isOpened():
        raise CameraError(f"{path} could not be opened as a video.")
    fps = float(capture.get(cv2.CAP_PROP_FPS)) or 30.0
    frames: list[BgrImage] = []
    while len(frames) < max_frames:
        ok, image = capture.read()
        if not ok:
            break
        frames.append(np.asarray(image, dtype=np.uint8))
    capture.release()
    if not frames:
        raise CameraError(f"{path} holds no readable frames.")
    return frames, fps


def process_frames(pipeline: Pipeline, frames: list[BgrImage], fps: float) -> Iterator[FrameResult]:
    """Run the pipeline over in-memory frames with the video's own clock (no pacing)."""
    return pipeline.process_all(
        Frame(image_bgr=image, index=index, captured_at_s=index / fps) for index, image in enumerate(frames)
    )
