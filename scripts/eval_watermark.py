"""Measure the faceswap-live watermark on what the app writes: robustness, false positives, invisibility, cost.

Marked outputs, made the way the app makes them (label + watermark by OutputMarker, then the app's own encoder):
* every shared clip (../shared/data/faces/videos) as `swap` writes it (native size, H.264 CRF 18), as `live --record`
  writes it (640×480, CRF 21) and as a 720×1280 portrait-orientation swap (centre crop, CRF 18);
* every shared portrait photo and both public-domain photos (scikit-image astronaut, matplotlib Grace Hopper) as
  `swap` writes a photo (JPEG, OpenCV's default quality 95).
Every output is then transformed (translation, letterbox, scaling, rotation, aspect change, crop, mirror flip,
H.264 at 300 kbit/s, JPEG q50, two kinds of screenshot) and judged as `faceswap-live verify` judges it: a photo on
its own, a video by several frames together. False positives: every untouched shared file and both photos.
Invisibility: PSNR of the watermark alone and the worst 8×8 block in flat regions. Prints a Markdown report.

    python scripts/eval_watermark.py [--shared ../shared] [--frames 48] [--sampled 8]
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
Image = np.ndarray
Transform = Callable[[Image], Image]


def read_clip(path: Path, frames: int) -> list[Image]:
    """The first `frames` frames of a video, BGR at native size."""
    result = []
    with av.open(str(path)) as container:
        for frame in container.decode(video=0):
            result.append(frame.to_ndarray(format="bgr24"))
            if len(result) >= frames:
                break
    return result


def h264(frames: list[Image], options: dict[str, str], bit_rate: int | None = None) -> list[Image]:
    """Encode with libx264 (yuv420p, 30 fps) and decode again."""
    buffer = io.BytesIO()
    height, width = frames[0].shape[:2]
    with av.open(buffer, "w", format="mp4") as container:
        stream = container.add_stream("libx264", rate=30)
        stream.width, stream.height = width - width % 2, height - height % 2
        stream.pix_fmt = "yuv420p"
        if bit_rate:
            stream.bit_rate = bit_rate
        stream.options = options
        for image in frames:
            even = np.ascontiguousarray(image[: stream.height, : stream.width])
            for packet in stream.encode(av.VideoFrame.from_ndarray(even, format="bgr24")):
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


def resize(image: Image, fx: float, fy: float) -> Image:
    interpolation = cv2.INTER_AREA if fx * fy < 1.0 else cv2.INTER_LINEAR
    return cv2.resize(image, None, fx=fx, fy=fy, interpolation=interpolation)


def rotate(image: Image, degrees: float) -> Image:
    """Rotate about the centre, same canvas (black corners), as a video editor's rotate does."""
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height), flags=cv2.INTER_LINEAR)


def crop(image: Image, fraction: float) -> Image:
    """Cut `fraction` of the width and of the height, unevenly (60% left/top, 40% right/bottom)."""
    height, width = image.shape[:2]
    top, left = round(height * fraction * 0.6), round(width * fraction * 0.6)
    return image[top : top + round(height * (1 - fraction)), left : left + round(width * (1 - fraction))]


def translate(image: Image) -> Image:
    """Move the picture 13 px right and 7 px down inside the same canvas (the uncovered edge is black)."""
    moved = np.zeros_like(image)
    moved[7:, 13:] = image[:-7, :-13]
    return moved


def letterbox(image: Image) -> Image:
    """Fit into the other orientation's 16:9 canvas with black bars (4:3 → 16:9 pillarbox, portrait → landscape)."""
    height, width = image.shape[:2]
    canvas_w, canvas_h = (round(height * 16 / 9), height) if width >= height * 0.99 else (width, round(width * 9 / 16))
    if width < height:
        canvas_w, canvas_h = round(height * 16 / 9 * 0.6), round(height * 0.6)
    scale = min(canvas_w / width, canvas_h / height)
    inner = resize(image, scale, scale)
    canvas = np.zeros((canvas_h, canvas_w, 3), dtype=np.uint8)
    y0, x0 = (canvas_h - inner.shape[0]) // 2, (canvas_w - inner.shape[1]) // 2
    canvas[y0 : y0 + inner.shape[0], x0 : x0 + inner.shape[1]] = inner
    return canvas


def _draw_ui_text(canvas: Image, text: str, origin: tuple[int, int], colour: tuple[int, int, int]) -> None:
    cv2.putText(canvas, text, origin, cv2.FONT_HERSHEY_SIMPLEX, 0.5, colour, 1, cv2.LINE_AA)


def screenshot_window(image: Image) -> Image:
    """The frame shown at 1.25× in a desktop window with margins (title bar, toolbar, side and bottom margins)."""
    shown = resize(image, 1.25, 1.25)
    height, width = shown.shape[:2]
    top, bottom, side = 72, 48, 36
    canvas = np.full((height + top + bottom, width + 2 * side, 3), 236, dtype=np.uint8)
    canvas[:30] = (60, 60, 60)
    _draw_ui_text(canvas, "faceswap-live output - Viewer", (10, 20), (240, 240, 240))
    for index, label in enumerate(("File", "Edit", "View", "Help")):
        _draw_ui_text(canvas, label, (12 + 60 * index, 55), (30, 30, 30))
    canvas[top : top + height, side : side + width] = shown
    _draw_ui_text(canvas, "1.25x  |  frame 120 / 300", (side, top + height + 30), (30, 30, 30))
    return canvas


def screenshot_player(image: Image) -> Image:
    """The frame at 1:1 inside a media player: title bar above, a control bar with buttons and a seek bar below."""
    height, width = image.shape[:2]
    title, controls = 32, 64
    canvas = np.full((height + title + controls, width + 2, 3), 24, dtype=np.uint8)
    canvas[:title] = (48, 48, 48)
    _draw_ui_text(canvas, "clip.mp4 - Media Player", (8, 21), (230, 230, 230))
    canvas[title : title + height, 1 : 1 + width] = image
    bar_y = title + height + 16
    cv2.rectangle(canvas, (12, bar_y), (width - 12, bar_y + 4), (90, 90, 90), cv2.FILLED)
    cv2.rectangle(canvas, (12, bar_y), (12 + (width - 24) // 3, bar_y + 4), (40, 140, 240), cv2.FILLED)
    cv2.circle(canvas, (12 + (width - 24) // 3, bar_y + 2), 6, (250, 250, 250), cv2.FILLED, cv2.LINE_AA)
    for index in range(3):
        centre = (24 + 36 * index, bar_y + 30)
        cv2.circle(canvas, centre, 11, (200, 200, 200), 1, cv2.LINE_AA)
    _draw_ui_text(canvas, "0:04 / 0:12", (width - 110, bar_y + 35), (220, 220, 220))
    return canvas


GEOMETRIC: dict[str, Transform] = {
    "translation (13, 7) px": translate,
    "letterbox / pillarbox": letterbox,
    "scale 0.5×": lambda image: resize(image, 0.5, 0.5),
    "scale 2×": lambda image: resize(image, 2.0, 2.0),
    "rotation +5°": lambda image: rotate(image, 5.0),
    "rotation −5°": lambda image: rotate(image, -5.0),
    "aspect +10 % (wider)": lambda image: resize(image, 1.1, 1.0),
    "aspect −10 % (flatter)": lambda image: resize(image, 1.0, 0.9),
    "crop 25 % of width and height": lambda image: crop(image, 0.25),
    "mirror flip": lambda image: np.ascontiguousarray(image[:, ::-1]),
    "JPEG q50": lambda image: jpeg(image, 50),
    "screenshot: 1.25× in a window with margins": screenshot_window,
    "screenshot: 1:1 in a player with title bar and controls": screenshot_player,
}
H264_LOW = "H.264 300 kbit/s"


def flat_block_worst(original: Image, marked: Image) -> float | None:
    """Largest mean |luma change| over the 8×8 blocks inside flat regions of the original; None if there are none.

    Flat region: every 8×8 block within 1/40 of the picture's shorter side (at least one block) has a luma standard
    deviation under 1.5 grey levels: a plain wall or a clear sky, not a small gap between two textured areas.
    """
    grey_a = cv2.cvtColor(original, cv2.COLOR_BGR2GRAY).astype(np.float32)
    grey_b = cv2.cvtColor(marked, cv2.COLOR_BGR2GRAY).astype(np.float32)
    rows, columns = grey_a.shape[0] // 8 * 8, grey_a.shape[1] // 8 * 8
    blocks_a = grey_a[:rows, :columns].reshape(rows // 8, 8, columns // 8, 8)
    blocks_d = np.abs(grey_b - grey_a)[:rows, :columns].reshape(rows // 8, 8, columns // 8, 8)
    flat = (blocks_a.std(axis=(1, 3)) < 1.5).astype(np.uint8)
    reach = max(1, round(min(grey_a.shape) / 40 / 8))
    kernel = np.ones((2 * reach + 1, 2 * reach + 1), np.uint8)
    flat = cv2.erode(flat, kernel, borderType=cv2.BORDER_CONSTANT, borderValue=0).astype(bool)
    if not flat.any():
        return None
    return float(blocks_d.mean(axis=(1, 3))[flat].max())


class Tally:
    """Detections per transformation and output kind."""

    def __init__(self) -> None:
        self.hits: dict[str, dict[str, list[bool]]] = {}
        self.scores: dict[str, list[float]] = {}
        self.misses: dict[str, list[str]] = {}

    def add(self, transform: str, kind: str, name: str, frames: list[Image]) -> bool:
        detection = detect_watermark(frames)
        self.hits.setdefault(transform, {}).setdefault(kind, []).append(detection.marked)
        self.scores.setdefault(transform, []).append(detection.score_z)
        if not detection.marked:
            self.misses.setdefault(transform, []).append(f"{name} ({kind}, z {detection.score_z:.1f})")
        return detection.marked


def rate(values: list[bool]) -> str:
    return f"{sum(values)}/{len(values)} ({100.0 * sum(values) / max(1, len(values)):.0f} %)" if values else "–"


def timing_ms(function: Callable[[], object], repeats: int) -> float:
    function()
    samples = []
    for _ in range(repeats):
        start = time.perf_counter()
        function()
        samples.append((time.perf_counter() - start) * 1000.0)
    return statistics.median(samples)


def public_domain_photos() -> dict[str, Image]:
    import matplotlib
    from skimage import data

    hopper = cv2.imread(str(Path(matplotlib.get_data_path()) / "sample_data" / "grace_hopper.jpg"), cv2.IMREAD_COLOR)
    astronaut = np.ascontiguousarray(cv2.cvtColor(data.astronaut(), cv2.COLOR_RGB2BGR))
    return {"astronaut (public domain)": astronaut, "grace_hopper (public domain)": hopper}


def portrait_orientation(image: Image) -> Image:
    """Centre crop to 9:16 and resize to 720×1280 (a phone-style portrait swap output)."""
    height, width = image.shape[:2]
    crop_width = min(width, round(height * 9 / 16))
    x0 = (width - crop_width) // 2
    return cv2.resize(image[:, x0 : x0 + crop_width], (720, 1280), interpolation=cv2.INTER_LINEAR)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    default_shared = Path(os.environ.get("FACESWAP_LIVE_SHARED", Path(__file__).resolve().parents[1].parent / "shared"))
    parser.add_argument("--shared", type=Path, default=default_shared)
    parser.add_argument("--frames", type=int, default=48, help="consecutive frames of each clip that are marked")
    parser.add_argument("--sampled", type=int, default=8, help="frames of a video judged together, as verify does")
    parser.add_argument("--limit", type=int, default=0, help="only the first N clips and N photos (a quick look)")
    arguments = parser.parse_args()
    faces = arguments.shared / "data" / "faces"
    videos = sorted((faces / "videos").iterdir())
    portraits = sorted((faces / "portraits").iterdir())
    if arguments.limit:
        videos, portraits = videos[: arguments.limit], portraits[: arguments.limit]
    if not videos or not portraits:
        print(f"No shared videos or portraits under {faces}", file=sys.stderr)
        return 1
    config = MarkingConfig()
    tally = Tally()
    frame_rates: list[float] = []
    psnr: list[float] = []
    flat_worst: list[float] = []
    false_files: list[bool] = []
    unmarked_scores: list[float] = []

    def judge_invisibility(originals: list[Image]) -> None:
        embedder = WatermarkEmbedder(VERSION, config.watermark_strength)
        for original in originals:
            marked = embedder.apply(original.copy())
            psnr.append(cv2.PSNR(original, marked))
            worst = flat_block_worst(original, marked)
            if worst is not None:
                flat_worst.append(worst)

    def judge(
        kind: str, name: str, written: list[Image], reencode: Callable[[list[Image]], list[Image]] | None
    ) -> None:
        step = max(1, len(written) // arguments.sampled)
        sampled = written[::step][: arguments.sampled]
        tally.add("as written", kind, name, sampled)
        if len(sampled) > 1:
            frame_rates.append(sum(detect_watermark(frame).marked for frame in sampled) / len(sampled))
        for transform_name, transform in GEOMETRIC.items():
            tally.add(transform_name, kind, name, [transform(frame) for frame in sampled])
        if reencode is not None:
            tally.add(H264_LOW, kind, name, reencode(written)[::step][: arguments.sampled])

    started = time.monotonic()
    for video in videos:
        clip = read_clip(video, arguments.frames)
        if not clip:
            continue
        step = max(1, len(clip) // arguments.sampled)
        detection = detect_watermark(clip[::step][: arguments.sampled])
        false_files.append(detection.marked)
        unmarked_scores.append(detection.score_z)
        judge_invisibility(clip[::step][:2])
        outputs = {
            "swap, native size (CRF 18)": (clip, {"crf": "18", "preset": "veryfast"}),
            "live --record 640×480 (CRF 21)": (
                [cv2.resize(frame, (640, 480), interpolation=cv2.INTER_AREA) for frame in clip],
                {"crf": "21", "preset": "veryfast", "g": "30"},
            ),
            "swap, 720×1280 portrait (CRF 18)": (
                [portrait_orientation(frame) for frame in clip],
                {"crf": "18", "preset": "veryfast"},
            ),
        }
        for kind, (frames, options) in outputs.items():
            marker = OutputMarker(config, VERSION)
            marked = [marker.apply(frame.copy()) for frame in frames]
            written = h264(marked, options)
            judge(kind, video.name, written, lambda frames: h264(frames, {"preset": "veryfast"}, 300_000))
        print(f"done {video.name} ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)

    photos: dict[str, Image] = {}
    for portrait in portraits:
        image = cv2.imread(str(portrait), cv2.IMREAD_COLOR)
        if image is not None:
            photos[portrait.name] = image
    photos.update(public_domain_photos())
    for name, image in photos.items():
        detection = detect_watermark(image)
        false_files.append(detection.marked)
        unmarked_scores.append(detection.score_z)
        judge_invisibility([image])
        written = jpeg(OutputMarker(config, VERSION).apply(image.copy()), 95)
        judge("photo (JPEG q95)", name, [written], None)
    print(f"done photos ({time.monotonic() - started:.0f} s)", file=sys.stderr, flush=True)

    kinds = [
        "swap, native size (CRF 18)",
        "live --record 640×480 (CRF 21)",
        "swap, 720×1280 portrait (CRF 18)",
        "photo (JPEG q95)",
    ]
    print(
        f"Watermark v2, strength {DEFAULT_STRENGTH} grey levels in texture, threshold z ≥ {DETECTION_THRESHOLD_Z} "
        f"(false-positive bound {false_positive_probability(DETECTION_THRESHOLD_Z):.0e} per file). "
        f"{len(videos)} shared clips × 3 output sizes ({arguments.frames} frames marked and encoded, "
        f"{arguments.sampled} judged together), {len(photos)} photos ({len(photos) - 2} shared portraits + 2 public "
        f"domain).\n"
    )
    print("| transformation | " + " | ".join(kinds) + " | all files | median z |")
    print("|---" * (len(kinds) + 3) + "|")
    for transform_name, by_kind in tally.hits.items():
        everything = [hit for hits in by_kind.values() for hit in hits]
        cells = " | ".join(rate(by_kind.get(kind, [])) for kind in kinds)
        median = statistics.median(tally.scores[transform_name])
        print(f"| {transform_name} | {cells} | **{rate(everything)}** | {median:.1f} |")
    print()
    if frame_rates:
        print(
            "Frames of written videos that carry the mark on their own: median "
            f"{100 * statistics.median(frame_rates):.0f} %, lowest file {100 * min(frame_rates):.0f} %."
        )
    print(
        f"False positives on untouched files: {rate(false_files)} flagged; highest score z "
        f"{max(unmarked_scores):.2f} (threshold {DETECTION_THRESHOLD_Z})."
    )
    print(
        f"Invisibility (watermark alone, {len(psnr)} pictures): PSNR median {statistics.median(psnr):.1f} dB, "
        f"min {min(psnr):.1f} dB; worst 8×8 flat block (mean |Δluma|): median "
        f"{statistics.median(flat_worst):.2f}, max {max(flat_worst):.2f} grey levels."
    )
    print("\nMisses:")
    for transform_name, names in tally.misses.items():
        print(f"- {transform_name}: {', '.join(names)}")

    print(
        "\n| frame size | watermark + label (ms, median) | watermark only (median) | watermark only (mean) "
        "| detection of one still (ms, median) |"
    )
    print("|---|---|---|---|---|")
    rng = np.random.default_rng(0)
    for width, height in ((640, 480), (1280, 720), (720, 1280)):
        frame = rng.integers(0, 256, (height, width, 3), dtype=np.uint8)
        marker = OutputMarker(MarkingConfig(), VERSION)
        only = WatermarkEmbedder(VERSION)
        both_ms = timing_ms(lambda marker=marker, frame=frame: marker.apply(frame), 400)  # type: ignore[misc]
        samples = []
        for _ in range(400):
            start = time.perf_counter()
            only.apply(frame)
            samples.append((time.perf_counter() - start) * 1000.0)
        detect_ms = timing_ms(lambda frame=frame: detect_watermark(frame), 10)  # type: ignore[misc]
        print(
            f"| {width}×{height} | {both_ms:.2f} | {statistics.median(samples):.2f} | {statistics.mean(samples):.2f} "
            f"| {detect_ms:.0f} |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
