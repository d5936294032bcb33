"""The invisible watermark: found wherever the frame ends up (moved, padded, scaled, rotated, stretched, cropped,
mirrored, compressed as JPEG or H.264, screenshotted), absent from unmarked pictures, and invisible on flat areas."""

from __future__ import annotations

import io
from collections.abc import Callable

import av
import cv2
import numpy as np
import pytest

from faceswap_live.watermark import (
    DETECTION_THRESHOLD_Z,
    WatermarkEmbedder,
    decode_version,
    detect_watermark,
    embed_watermark,
    encode_version,
    false_positive_probability,
    payload_bits,
)
from faceswap_live.watermark import _bits_to_version as bits_to_version
from video_cuts import encode_h264

VERSION = "0.3.7"
Image = np.ndarray


def synthetic_clip(frames: int = 3, width: int = 480, height: int = 360, grain: float = 14.0) -> list[Image]:
    """A small clip: a textured scene (soft blobs and fine grain, like fabric and hair) drifting sideways, with a
    plain wall on its left third."""
    rng = np.random.default_rng(7)
    wide = width + 8 * frames
    coarse = cv2.resize(rng.uniform(40, 210, (height // 16, wide // 16, 3)), (wide, height))
    noise = rng.normal(0, grain, (height, wide, 1))
    scene = np.clip(coarse + noise, 0, 255).astype(np.uint8)
    clip = []
    for index in range(frames):
        frame = np.ascontiguousarray(scene[:, index * 8 : index * 8 + width])
        frame[:, : width // 3] = (150, 160, 170)  # the plain wall
        clip.append(frame)
    return clip


def marked_clip() -> list[Image]:
    embedder = WatermarkEmbedder(VERSION)
    return [embedder.apply(frame.copy()) for frame in synthetic_clip()]


def jpeg(image: Image, quality: int) -> Image:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def rotate(image: Image, degrees: float) -> Image:
    height, width = image.shape[:2]
    matrix = cv2.getRotationMatrix2D((width / 2, height / 2), degrees, 1.0)
    return cv2.warpAffine(image, matrix, (width, height))


def in_player(image: Image) -> Image:
    """A 1:1 screenshot inside a player window: dark title bar above, control bar below, thin border."""
    height, width = image.shape[:2]
    canvas = np.full((height + 96, width + 2, 3), 30, dtype=np.uint8)
    canvas[32 : 32 + height, 1 : 1 + width] = image
    cv2.rectangle(canvas, (10, height + 48), (width - 10, height + 52), (200, 200, 200), cv2.FILLED)
    return canvas


def in_window(image: Image) -> Image:
    """A screenshot of the frame shown at 1.25× in a light window with margins on every side."""
    shown = cv2.resize(image, None, fx=1.25, fy=1.25, interpolation=cv2.INTER_LINEAR)
    canvas = np.full((shown.shape[0] + 110, shown.shape[1] + 70, 3), 236, dtype=np.uint8)
    canvas[70 : 70 + shown.shape[0], 35 : 35 + shown.shape[1]] = shown
    return canvas


def letterbox(image: Image) -> Image:
    height, width = image.shape[:2]
    canvas = np.zeros((height, round(height * 16 / 9), 3), dtype=np.uint8)
    x0 = (canvas.shape[1] - width) // 2
    canvas[:, x0 : x0 + width] = image
    return canvas


TRANSFORMS: dict[str, Callable[[Image], Image]] = {
    "translation": lambda image: np.ascontiguousarray(image[7:, 13:]),
    "letterbox": letterbox,
    "scale-0.5x": lambda image: cv2.resize(image, None, fx=0.5, fy=0.5, interpolation=cv2.INTER_AREA),
    "scale-2x": lambda image: cv2.resize(image, None, fx=2.0, fy=2.0, interpolation=cv2.INTER_LINEAR),
    "rotation+5deg": lambda image: rotate(image, 5.0),
    "rotation-5deg": lambda image: rotate(image, -5.0),
    "aspect-wider-10pct": lambda image: cv2.resize(image, None, fx=1.1, fy=1.0),
    "aspect-flatter-10pct": lambda image: cv2.resize(image, None, fx=1.0, fy=0.9),
    "crop-25pct": lambda image: np.ascontiguousarray(image[54:324, 72:432]),
    "mirror-flip": lambda image: np.ascontiguousarray(image[:, ::-1]),
    "jpeg-q50": lambda image: jpeg(image, 50),
    "screenshot-player": in_player,
    "screenshot-window": in_window,
}


@pytest.fixture(scope="module")
def clip() -> list[Image]:
    return marked_clip()


def test_marked_clip_is_detected_with_its_version(clip: list[Image]) -> None:
    detection = detect_watermark(clip)
    assert detection.marked and detection.score_z >= DETECTION_THRESHOLD_Z
    assert detection.confidence > 0.9999
    assert detection.version == VERSION
    assert detection.frames == len(clip)
    assert all(detect_watermark(frame).marked for frame in clip)  # each frame carries it on its own too


@pytest.mark.parametrize("name", list(TRANSFORMS))
def test_mark_is_found_after_what_people_do_to_a_video(clip: list[Image], name: str) -> None:
    detection = detect_watermark([TRANSFORMS[name](frame) for frame in clip])
    assert detection.marked, f"{name}: score {detection.score_z:.1f}"


def test_geometry_is_reported(clip: list[Image]) -> None:
    mirrored = detect_watermark([TRANSFORMS["mirror-flip"](frame) for frame in clip])
    assert mirrored.mirrored
    assert not detect_watermark(clip).mirrored
    rotated = detect_watermark([rotate(frame, 4.0) for frame in clip])
    assert abs(abs(rotated.rotation_deg) - 4.0) < 1.0
    padded = detect_watermark([in_window(frame) for frame in clip])
    assert 0.75 < padded.scale < 0.85  # the frame, shown at 1.25×, fills 450 of the window's 560 lines


def h264_round_trip(frames: list[Image], bit_rate: int) -> list[Image]:
    """Encode with libx264 at a fixed bitrate (like a call or an upload) and decode again."""
    buffer = io.BytesIO()
    encode_h264(buffer, frames, bit_rate)
    buffer.seek(0)
    with av.open(buffer) as container:
        return [frame.to_ndarray(format="bgr24") for frame in container.decode(video=0)]


def test_mark_is_found_after_h264_at_300_kbits() -> None:
    """A 640×480 recording squeezed to 300 kbit/s (a poor video call) still shows the mark over 5 frames."""
    clip = synthetic_clip(frames=15, width=640, height=480)
    embedder = WatermarkEmbedder(VERSION)
    decoded = h264_round_trip([embedder.apply(frame.copy()) for frame in clip], 300_000)
    assert detect_watermark(decoded[::3]).marked
    assert not detect_watermark(h264_round_trip(clip, 300_000)[::3]).marked


@pytest.mark.parametrize("face", ["astronaut_bgr", "hopper_bgr"])
def test_photos_are_detected_when_marked_and_not_flagged_when_not(face: str, request: pytest.FixtureRequest) -> None:
    image = request.getfixturevalue(face)
    plain = detect_watermark(image)
    assert not plain.marked and plain.version is None and plain.score_z < 5.0
    assert detect_watermark(jpeg(embed_watermark(image, VERSION), 90)).marked


def test_unmarked_synthetic_clip_is_not_flagged() -> None:
    frames = synthetic_clip()
    assert not detect_watermark(frames).marked
    assert not any(detect_watermark(TRANSFORMS["mirror-flip"](frame)).marked for frame in frames)


def test_strength_follows_the_picture_weak_on_a_plain_wall() -> None:
    original = synthetic_clip(frames=1)[0]
    marked = embed_watermark(original, VERSION)
    change = np.abs(marked.astype(np.int16) - original.astype(np.int16)).max(axis=2)
    wall, texture = change[20:-20, 20:140], change[20:-20, 200:-20]
    assert wall.max() <= 1  # at most one grey level on the plain wall: nothing to see
    assert texture.max() >= 4 and texture.mean() > 3 * wall.mean()  # the mark's energy goes where texture hides it
    plain_grey = np.full((480, 640, 3), 128, dtype=np.uint8)
    assert np.abs(embed_watermark(plain_grey, VERSION).astype(np.int16) - 128).max() <= 1


def test_mark_is_invisible_by_psnr(astronaut_bgr: np.ndarray) -> None:
    marked = embed_watermark(astronaut_bgr, VERSION)
    assert cv2.PSNR(astronaut_bgr, marked) >= 37.0
    assert int(np.abs(marked.astype(np.int16) - astronaut_bgr).max()) <= 6


def test_embedder_marks_in_place_and_keeps_shape(clip: list[Image]) -> None:
    image = synthetic_clip(frames=1)[0]
    result = WatermarkEmbedder(VERSION).apply(image)
    assert result is image
    assert result.shape == (360, 480, 3) and result.dtype == np.uint8


def test_version_packing_round_trips_and_saturates() -> None:
    assert decode_version(encode_version("1.2.3")) == "1.2.3"
    assert decode_version(encode_version("0.0.0+source")) == "0.0.0"
    assert decode_version(encode_version("99.99.99")) == "15.63.63"


def test_weak_bit_errors_are_corrected_and_strong_ones_rejected() -> None:
    bits = payload_bits(VERSION)
    assert bits_to_version(bits) == VERSION
    reliability = 1.0 + np.arange(bits.size, dtype=np.float32) * 0.01
    weak_error = bits * reliability
    weak_error[7] = -0.05 * bits[7]  # wrong, but barely: the decoder flips it back
    assert bits_to_version(weak_error) == VERSION
    strong_errors = bits * reliability
    strong_errors[[10, 20, 30]] *= -1  # wrong and confident: the CRC refuses rather than guessing
    assert bits_to_version(strong_errors) is None


def test_false_positive_bound_at_the_threshold_is_small() -> None:
    assert false_positive_probability(DETECTION_THRESHOLD_Z) < 2e-5
    assert false_positive_probability(3.0) == 1.0
