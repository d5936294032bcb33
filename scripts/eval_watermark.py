"""Measure the faceswap-live watermark: robustness, false positives, invisibility and cost per frame.

Marked frames come from the shared face videos (../shared/data/faces/videos, resized to 640×480, marked with the
default strength). Each transformation is applied and every frame is judged on its own; re-encoded videos are also
judged as clips (8 frames together, as `faceswap-live verify` does). False positives: the unmarked shared videos (per
frame and per file) and portraits. Prints a Markdown report.

    python scripts/eval_watermark.py [--shared ../shared] [--frames-per-video 12]
"""

from __future__ import annotations

import argparse
import io
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import av
import cv2
import numpy as np

from faceswap_live.config import MarkingConfig
from faceswap_live.stages.marking import OutputMarker
from faceswap_live.watermark import (
    DEFAULT_STRENGTH,
    DETECTION_THRESHOLD_Z,
    WatermarkEmbedder,
    detect_watermark,
    false_positive_probability,
)

VERSION = "0.1.0"
SIZE = (640, 480)
CLIP_FRAMES = 60
Image = np.ndarray


def read_clip(path: Path, frames: int) -> list[Image]:
    """The first `frames` frames of a video, resized to 640×480 (what a webcam pipeline would output)."""
    result = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            result.append(cv2.resize(frame.to_ndarray(format="bgr24"), SIZE, interpolation=cv2.INTER_AREA))
            if len(result) >= frames:
                break
    return result


def h264(frames: list[Image], bitrate: int) -> list[Image]:
    """Encode with libx264 at a constant target bitrate (like a video call) and decode again."""
    buffer = io.BytesIO()
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = frames[0].shape[1], frames[0].shape[0]
        stream.pix_fmt = "yuv420p"
        stream.bit_rate = bitrate
        stream.options = {"preset": "veryfast", "tune": "zerolatency"}
        for image in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(image, format="bgr24")):
                container.mux(packet)
        for packet in stream.encode():
            container.mux(packet)
    buffer.seek(0)
    with av.open(buffer) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def jpeg(image: Image, quality: int) -> Image:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def half(image: Image) -> Image:
    return cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA)


def crop(image: Image, fraction: float = 0.05) -> Image:
    """Cut `fraction` of the width and of the height, unevenly (60% left/top, 40% right/bottom)."""
    height, width = image.shape[:2]
    top, left = round(height * fraction * 0.6), round(width * fraction * 0.6)
    return image[top : top + round(height * (1 - fraction)), left : left + round(width * (1 - fraction))]


def rate(values: list[bool]) -> str:
    return f"{sum(values)}/{len(values)} ({100.0 * sum(values) / max(1, len(values)):.1f}%)"


def timing_ms(function: Callable[[], object], repeats: int = 200) -> float:
    function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = Path(os.environ.get("FACESWAP_LIVE_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
    parser.add_argument("--shared", type=Path, default=default_shared)
    parser.add_argument("--frames-per-video", type=int, default=12)
    arguments = parser.parse_args()
    faces = arguments.shared / "data" / "faces"
    videos = sorted((faces / "videos").iterdir())
    portraits = sorted((faces / "portraits").iterdir())
    if not videos:
        print(f"No videos in {faces / 'videos'}", file=sys.stderr)
        return 1
    step = CLIP_FRAMES // arguments.frames_per_video
    embedder = WatermarkEmbedder(VERSION, DEFAULT_STRENGTH)

    single: dict[str, list[bool]] = {}
    versions: dict[str, list[bool]] = {}
    clips: dict[str, list[bool]] = {}
    scores: dict[str, list[float]] = {}
    psnr: list[float] = []
    unmarked_frames: list[bool] = []
    unmarked_files: list[bool] = []
    unmarked_scores: list[float] = []
    transforms: dict[str, Callable[[Image], Image]] = {
        "none": lambda image: image,
        "JPEG q90": lambda image: jpeg(image, 90),
        "JPEG q75": lambda image: jpeg(image, 75),
        "JPEG q50": lambda image: jpeg(image, 50),
        "half size (320×240)": half,
        "5% crop (width and height)": crop,
        "half size + JPEG q75": lambda image: jpeg(half(image), 75),
    }
    for video in videos:
        clip = read_clip(video, CLIP_FRAMES)
        marked = [embedder.apply(image.copy()) for image in clip]
        psnr += [cv2.PSNR(original, mark) for original, mark in zip(clip[::step], marked[::step], strict=True)]
        for name, transform in transforms.items():
            for image in marked[::step]:
                detection = detect_watermark(transform(image))
                single.setdefault(name, []).append(detection.marked)
                versions.setdefault(name, []).append(detection.version == VERSION)
                scores.setdefault(name, []).append(detection.score_z)
        for name, bitrate in (("H.264 1 Mbit/s 640×480", 1_000_000), ("H.264 500 kbit/s 640×480", 500_000)):
            decoded = h264(marked, bitrate)[::step]
            for image in decoded:
                detection = detect_watermark(image)
                single.setdefault(name, []).append(detection.marked)
                versions.setdefault(name, []).append(detection.version == VERSION)
                scores.setdefault(name, []).append(detection.score_z)
            together = detect_watermark(decoded[:8])
            clips.setdefault(name, []).append(together.marked)
            versions.setdefault(name + " (clip)", []).append(together.version == VERSION)
        for image in clip[::step]:
            detection = detect_watermark(image)
            unmarked_frames.append(detection.marked)
            unmarked_scores.append(detection.score_z)
        unmarked_files.append(detect_watermark(clip[::step]).marked)
        print(f"done {video.name}", file=sys.stderr, flush=True)
    unmarked_photos: list[bool] = []
    for portrait in portraits:
        image = cv2.imread(str(portrait), cv2.IMREAD_COLOR)
        if image is None:
            continue
        detection = detect_watermark(image)
        unmarked_photos.append(detection.marked)
        unmarked_scores.append(detection.score_z)

    print(
        f"Watermark v1, strength {DEFAULT_STRENGTH} grey levels, threshold z ≥ {DETECTION_THRESHOLD_Z} "
        f"(false-positive bound {false_positive_probability(DETECTION_THRESHOLD_Z):.1e} per file). "
        f"{len(videos)} shared videos, {arguments.frames_per_video} marked frames each at 640×480.\n"
    )
    print("| transformation | frames detected | version read | median score z | clips detected (8 frames) |")
    print("|---|---|---|---|---|")
    for name in single:
        clip_cell = rate(clips[name]) if name in clips else "–"
        print(
            f"| {name} | {rate(single[name])} | {rate(versions[name])} | "
            f"{statistics.median(scores[name]):.1f} | {clip_cell} |"
        )
    print()
    print("| unmarked (false positives) | flagged |")
    print("|---|---|")
    print(f"| shared video frames | {rate(unmarked_frames)} |")
    print(f"| shared video files (12 frames together) | {rate(unmarked_files)} |")
    print(f"| shared portraits | {rate(unmarked_photos)} |")
    print(f"\nHighest unmarked score z: {max(unmarked_scores):.2f} (threshold {DETECTION_THRESHOLD_Z}).")
    print(f"PSNR marked vs original: median {statistics.median(psnr):.1f} dB, min {min(psnr):.1f} dB.\n")

    print("| frame size | watermark + label (ms, median) | watermark only | detection of one frame |")
    print("|---|---|---|---|")
    rng = np.random.default_rng(0)
    for width, height in ((640, 480), (1280, 720)):
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        marker = OutputMarker(MarkingConfig(), VERSION)
        only = WatermarkEmbedder(VERSION)
        both_ms = timing_ms(lambda marker=marker, frame=frame: marker.apply(frame))  # type: ignore[misc]
        only_ms = timing_ms(lambda only=only, frame=frame: only.apply(frame))  # type: ignore[misc]
        detect_ms = timing_ms(lambda frame=frame: detect_watermark(frame), repeats=10)  # type: ignore[misc]
        print(f"| {width}×{height} | {both_ms:.2f} | {only_ms:.2f} | {detect_ms:.0f} |")
    return 0


if __name__ == "__main__":
    sys.exit(main())
