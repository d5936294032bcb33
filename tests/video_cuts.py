"""Short cuts of the real shared videos, made in a temporary folder: the first frames and the sound that goes with them;
and frames encoded as a call or an upload would encode them (encode_h264).

A cut is re-encoded with the codecs of its container's family (H.264 + AAC in .mp4, WMV2 + WMA in .wmv), so a test
exercises the same decoding and audio paths as on the whole clip, in a fraction of the time. Cuts never leave the
temporary folder (the shared videos are not ours to copy).
"""

from __future__ import annotations

from fractions import Fraction
from pathlib import Path
from typing import BinaryIO

import av
import numpy as np

_CODECS = {".mp4": ("libx264", "aac"), ".wmv": ("wmv2", "wmav2")}


def cut_video(source: Path, destination: Path, frames: int) -> Path:
    """Write the first `frames` frames of `source` (same size and frame rate) and its sound for as long, if any."""
    video_codec, audio_codec = _CODECS[destination.suffix]
    with av.open(str(source)) as reader, av.open(str(destination), "w") as writer:
        video_in = reader.streams.video[0]
        rate = Fraction(video_in.average_rate or 30)
        video_out = writer.add_stream(video_codec, rate=rate)
        video_out.width, video_out.height = video_in.codec_context.width, video_in.codec_context.height
        video_out.pix_fmt, video_out.time_base = "yuv420p", 1 / rate
        audio_in = reader.streams.audio[0] if reader.streams.audio else None
        audio_out = None
        if audio_in is not None:
            audio_out = writer.add_stream(audio_codec, rate=audio_in.codec_context.sample_rate)
            audio_out.layout = audio_in.codec_context.layout.name
            audio_out.bit_rate = 64_000  # WMA's encoder wants one; it does not matter to AAC
        end_s = float(frames / rate)
        written, sound_done = 0, audio_out is None
        streams = [video_in] + ([audio_in] if audio_in is not None else [])
        for packet in reader.demux(streams):
            for frame in packet.decode():
                if isinstance(frame, av.VideoFrame) and written < frames:
                    picture = av.VideoFrame.from_ndarray(frame.to_ndarray(format="bgr24"), format="bgr24")
                    picture.pts, written = written, written + 1
                    writer.mux(video_out.encode(picture))
                elif isinstance(frame, av.AudioFrame) and audio_out is not None and not sound_done:
                    sound_done = (frame.time or 0.0) >= end_s
                    if not sound_done:
                        frame.pts = None
                        writer.mux(audio_out.encode(frame))
            if written >= frames and sound_done:
                break
        writer.mux(video_out.encode())
        if audio_out is not None:
            writer.mux(audio_out.encode())
    return destination


def encode_h264(destination: Path | BinaryIO, frames: list[np.ndarray], bit_rate: int) -> None:
    """BGR frames encoded with libx264 at a fixed bitrate (like a call or an upload) into an MP4 file or buffer."""
    target = str(destination) if isinstance(destination, Path) else destination
    with av.open(target, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bit_rate
        stream.options = {"preset": "veryfast"}
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
