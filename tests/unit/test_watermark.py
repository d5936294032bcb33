"""The invisible watermark: found after what calls and uploads do to frames, absent from unmarked photos, invisible."""

from __future__ import annotations

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

VERSION = "0.3.7"


@pytest.fixture(scope="module")
def frame_bgr(astronaut_bgr: np.ndarray) -> np.ndarray:
    """The astronaut as a 640×480 webcam-sized frame."""
    return np.ascontiguousarray(cv2.resize(astronaut_bgr, (640, 480), interpolation=cv2.INTER_AREA))


@pytest.fixture(scope="module")
def marked_bgr(frame_bgr: np.ndarray) -> np.ndarray:
    return embed_watermark(frame_bgr, VERSION)


def jpeg(image: np.ndarray, quality: int) -> np.ndarray:
    ok, data = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, quality])
    assert ok
    return cv2.imdecode(data, cv2.IMREAD_COLOR)


def test_marked_frame_is_detected(marked_bgr: np.ndarray) -> None:
    detection = detect_watermark(marked_bgr)
    assert detection.marked
    assert detection.score_z >= DETECTION_THRESHOLD_Z
    assert detection.confidence > 0.9999


@pytest.mark.parametrize(
    "transform",
    [
        pytest.param(lambda image: jpeg(image, 75), id="jpeg-q75"),
        pytest.param(lambda image: jpeg(image, 50), id="jpeg-q50"),
        pytest.param(lambda image: cv2.resize(image, (320, 240), interpolation=cv2.INTER_AREA), id="half-size"),
        pytest.param(lambda image: image[10:466, 19:627], id="crop-5pct"),
    ],
)
def test_mark_survives_common_transformations(marked_bgr: np.ndarray, transform: object) -> None:
    assert callable(transform)
    assert detect_watermark(transform(marked_bgr)).marked


@pytest.mark.parametrize("face", ["astronaut_bgr", "hopper_bgr"])
def test_unmarked_photos_are_not_flagged(face: str, request: pytest.FixtureRequest) -> None:
    image = request.getfixturevalue(face)
    detection = detect_watermark(image)
    assert not detection.marked
    assert detection.version is None


def test_version_is_read_from_several_frames(frame_bgr: np.ndarray) -> None:
    """A video gives several frames; together they carry enough evidence to read the version."""
    embedder = WatermarkEmbedder(VERSION)
    rng = np.random.default_rng(1)
    frames = []
    for shift in range(8):
        moved = np.roll(frame_bgr, shift * 3, axis=1)  # the person moves; the mark stays put
        noisy = np.clip(moved.astype(np.int16) + rng.integers(-3, 4, moved.shape), 0, 255).astype(np.uint8)
        frames.append(jpeg(embedder.apply(noisy), 80))
    detection = detect_watermark(frames)
    assert detection.marked
    assert detection.version == VERSION


def test_mark_is_invisible_by_psnr(frame_bgr: np.ndarray, marked_bgr: np.ndarray) -> None:
    assert cv2.PSNR(frame_bgr, marked_bgr) >= 38.0
    assert int(np.abs(marked_bgr.astype(np.int16) - frame_bgr).max()) <= 4


def test_embedder_marks_in_place_and_keeps_shape(frame_bgr: np.ndarray) -> None:
    image = frame_bgr.copy()
    result = WatermarkEmbedder(VERSION).apply(image)
    assert result is image
    assert result.shape == frame_bgr.shape and result.dtype == np.uint8
    assert not np.array_equal(result, frame_bgr)


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
    assert false_positive_probability(DETECTION_THRESHOLD_Z) < 1e-5
    assert false_positive_probability(3.0) == 1.0
