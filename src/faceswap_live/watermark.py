"""Invisible spread-spectrum watermark saying "made by faceswap-live <version>", on numpy and OpenCV only.

Scheme (version 1)
------------------
* A secret-less but fixed key (a seed derived from a SHA-256 of a scheme name) draws a 32×32 *tile* of chips. Half
  the chips carry a fixed pseudo-random ±1 **sync** pattern; the other half carry the **payload**: 32 bits (16 bits of
  app version + a 16-bit CRC), each bit spread over 16 chips of the tile with its own ±1 signs.
* The tile repeats over the whole frame. One chip is 1/48 of the frame height (10 px at 480 lines, 15 px at 720),
  so the mark lives in a low spatial frequency band that JPEG, H.264 and down-scaling keep. The chip grid is smoothed
  (Gaussian) so no sharp chip edges show, and it is added to the luma (the same delta on B, G and R moves Y by exactly
  that delta and leaves the chroma alone).
* Detection resizes the frame so that one chip is 4 px (a canonical height of 192 px), removes the picture's own low
  frequencies (a difference-of-Gaussians band-pass), normalises local contrast and clips, folds the frame onto one
  tile period (sum of all tile-sized windows) and correlates the folded tile with the sync pattern for every circular
  shift at once with an FFT. The correlation map is turned into z-scores; the peak z is the detection score.
  Cropping moves the tile (found by the shift search) and changes the scale relative to the frame height, so the
  search also tries a few canonical heights (crops of up to 12% of the height).
* A video is judged by summing the folded tiles of several frames before correlating (the mark is the same in every
  frame, the picture is not), which makes detection on re-encoded video much stronger than on one frame.

False positives: without a mark the correlation at each (scale, shift) is close to a standard normal variable, so the
chance that the largest of the N = 8 scales × 128² shifts tested values exceeds a threshold t is at most N·Q(t) (union
bound; neighbouring shifts are correlated, which only makes the true figure smaller). DETECTION_THRESHOLD_Z = 6.5
gives N·Q(t) ≈ 5e-6 per file (N = 131,072); see `false_positive_probability`. The payload (version) is reported
only when its CRC matches (Chase decoding over the 5 least reliable bits), so a wrong version is shown with at most
a 5e-4 chance.

Invisibility: at the default strength (4 grey levels peak) the PSNR of a marked frame against the original is about
39.6 dB (measured in tests/unit/test_watermark.py and scripts/eval_watermark.py).
"""

from __future__ import annotations

import functools
import hashlib
import math
import re
from collections.abc import Iterable
from dataclasses import dataclass

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.types import BgrImage

SCHEME_NAME = "faceswap-live watermark v1"
TILE_CHIPS = 32
"""The tile is TILE_CHIPS × TILE_CHIPS chips and repeats over the frame."""
CHIPS_PER_FRAME_HEIGHT = 48
"""Chip size = frame height / this: the mark scales with the frame."""
CANONICAL_CHIP_PX = 4
CANONICAL_TILE_PX = TILE_CHIPS * CANONICAL_CHIP_PX
CANONICAL_HEIGHT_PX = CHIPS_PER_FRAME_HEIGHT * CANONICAL_CHIP_PX
PAYLOAD_BITS = 32
VERSION_BITS = 16
DEFAULT_STRENGTH = 4.0
"""Peak luma change in grey levels (0–255 scale)."""
HEIGHT_FACTORS: tuple[float, ...] = (0.88, 0.90, 0.92, 0.94, 0.96, 0.98, 1.0, 1.02)
"""Canonical heights tried at detection, relative to an uncropped frame: 0.95 ≈ 5% of the height cropped away."""
DETECTION_THRESHOLD_Z = 6.5
"""Peak z-score at or above which a file counts as marked (false-positive bound: see module docstring)."""
SMOOTHING_SIGMA_CANONICAL_PX = 1.2
CHASE_BITS = 5
BAND_FINE_SIGMA_PX = 1.0
BAND_COARSE_SIGMA_PX = 3.0

FloatArray = npt.NDArray[np.float32]


@dataclass(frozen=True, slots=True)
class _Key:
    """The pseudo-random layout of one tile: chip roles and signs."""

    sync_chips: npt.NDArray[np.float32]
    """TILE_CHIPS² signs, 0 on payload chips."""
    bit_of_chip: npt.NDArray[np.int64]
    """Payload bit index per chip, -1 on sync chips."""
    payload_signs: npt.NDArray[np.float32]
    """±1 per chip (used on payload chips)."""


@functools.cache
def _key() -> _Key:
    seed = int.from_bytes(hashlib.sha256(SCHEME_NAME.encode()).digest()[:8], "little")
    generator = np.random.default_rng(seed)
    chip_count = TILE_CHIPS * TILE_CHIPS
    order = generator.permutation(chip_count)
    sync_count = chip_count // 2
    signs = generator.choice(np.array([-1.0, 1.0], dtype=np.float32), size=chip_count)
    sync = np.zeros(chip_count, dtype=np.float32)
    sync[order[:sync_count]] = signs[order[:sync_count]]
    bit_of_chip = np.full(chip_count, -1, dtype=np.int64)
    payload_chips = order[sync_count:]
    bit_of_chip[payload_chips] = np.arange(payload_chips.size) % PAYLOAD_BITS
    return _Key(sync_chips=sync, bit_of_chip=bit_of_chip, payload_signs=signs)


def _crc16(data: bytes) -> int:
    """CRC-16/CCITT-FALSE, so a payload read from noise is recognised as such (2⁻¹⁶ chance to pass)."""
    crc = 0xFFFF
    for byte in data:
        crc ^= byte << 8
        for _ in range(8):
            crc = ((crc << 1) ^ 0x1021) if crc & 0x8000 else (crc << 1)
            crc &= 0xFFFF
    return crc


def encode_version(version: str) -> int:
    """Pack "major.minor.patch" (anything after is ignored) into 16 bits: 4 + 6 + 6; parts out of range saturate."""
    numbers = [int(part) for part in re.findall(r"\d+", version.split("+")[0])[:3]]
    major, minor, patch = (numbers + [0, 0, 0])[:3]
    return (min(major, 15) << 12) | (min(minor, 63) << 6) | min(patch, 63)


def decode_version(code: int) -> str:
    """The "major.minor.patch" that `encode_version` packed into 16 bits."""
    return f"{code >> 12}.{(code >> 6) & 63}.{code & 63}"


def payload_bits(version: str) -> npt.NDArray[np.float32]:
    """The 32 payload bits as ±1: 16 version bits then a 16-bit CRC of them, most significant bit first."""
    code = encode_version(version)
    word = (code << 16) | _crc16(code.to_bytes(2, "big"))
    bits = [(word >> (PAYLOAD_BITS - 1 - index)) & 1 for index in range(PAYLOAD_BITS)]
    return np.array([1.0 if bit else -1.0 for bit in bits], dtype=np.float32)


def _bits_to_version(soft_bits: npt.NDArray[np.float32]) -> str | None:
    """Decode 32 soft bits (sign = bit, size = reliability); None when no candidate passes the CRC.

    Chase decoding: besides the hard decision, try flipping any of the CHASE_BITS least reliable bits, most likely
    candidate first. That corrects the one or two weak bits a damaged frame typically has, at the price of a
    2^CHASE_BITS / 2^16 ≈ 5e-4 chance of accepting a wrong version when the payload is pure noise.
    """
    hard = [int(value > 0) for value in soft_bits]
    weakest = np.argsort(np.abs(soft_bits))[:CHASE_BITS]
    candidates = []
    for mask in range(1 << CHASE_BITS):
        flipped = [int(weakest[index]) for index in range(CHASE_BITS) if mask >> index & 1]
        penalty = float(sum(abs(float(soft_bits[index])) for index in flipped))
        candidates.append((penalty, flipped))
    for _, flipped in sorted(candidates, key=lambda candidate: candidate[0]):
        bits = list(hard)
        for index in flipped:
            bits[index] ^= 1
        word = 0
        for bit in bits:
            word = (word << 1) | bit
        code, crc = word >> 16, word & 0xFFFF
        if _crc16(code.to_bytes(2, "big")) == crc:
            return decode_version(code)
    return None


def _chip_tile(version: str) -> FloatArray:
    """TILE_CHIPS × TILE_CHIPS chip values (±1) for this version."""
    key = _key()
    bits = payload_bits(version)
    payload = np.where(key.bit_of_chip >= 0, key.payload_signs * bits[np.maximum(key.bit_of_chip, 0)], 0.0)
    return (key.sync_chips + payload).astype(np.float32).reshape(TILE_CHIPS, TILE_CHIPS)


def _canonical_tile(chips: FloatArray) -> FloatArray:
    """Chips upsampled to CANONICAL_CHIP_PX and smoothed with wrap-around (the tile stays seamless when repeated)."""
    upsampled = np.repeat(np.repeat(chips, CANONICAL_CHIP_PX, axis=0), CANONICAL_CHIP_PX, axis=1)
    padded = np.tile(upsampled, (3, 3))
    blurred = cv2.GaussianBlur(padded, (0, 0), SMOOTHING_SIGMA_CANONICAL_PX)
    size = CANONICAL_TILE_PX
    return np.ascontiguousarray(blurred[size : 2 * size, size : 2 * size], dtype=np.float32)


def watermark_pattern(height: int, width: int, version: str) -> FloatArray:
    """The luma delta (peak ≈ ±1) for a height×width frame, float32 H×W; multiply by the strength in grey levels."""
    tile = _canonical_tile(_chip_tile(version))
    tile /= float(np.abs(tile).max())
    scale = CANONICAL_HEIGHT_PX / height  # canonical pixels per frame pixel
    map_x = ((np.arange(width, dtype=np.float32) + 0.5) * scale - 0.5) % CANONICAL_TILE_PX
    map_y = ((np.arange(height, dtype=np.float32) + 0.5) * scale - 0.5) % CANONICAL_TILE_PX
    grid_x, grid_y = np.meshgrid(map_x, map_y)
    pattern = cv2.remap(tile, grid_x, grid_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return np.asarray(pattern, dtype=np.float32)


class WatermarkEmbedder:
    """Adds the watermark to frames; the pattern is computed once per frame size (about 1 ms per frame after that).

    Not thread-safe: use one per thread (the pipeline's processing thread owns one).
    """

    def __init__(self, version: str, strength: float = DEFAULT_STRENGTH) -> None:
        self.version = version
        self.strength = strength
        self._size: tuple[int, int] | None = None
        self._add_bgr: BgrImage | None = None
        self._subtract_bgr: BgrImage | None = None

    def _prepare(self, height: int, width: int) -> tuple[BgrImage, BgrImage]:
        if self._size != (height, width) or self._add_bgr is None or self._subtract_bgr is None:
            delta = np.rint(watermark_pattern(height, width, self.version) * self.strength)
            # Two saturating uint8 passes (add the positive part, subtract the negative part) are faster than any
            # int16 round trip and clip at 0/255 the way the eye expects.
            add = np.clip(delta, 0, 255).astype(np.uint8)
            subtract = np.clip(-delta, 0, 255).astype(np.uint8)
            self._add_bgr = np.ascontiguousarray(np.repeat(add[:, :, None], 3, axis=2))
            self._subtract_bgr = np.ascontiguousarray(np.repeat(subtract[:, :, None], 3, axis=2))
            self._size = (height, width)
        return self._add_bgr, self._subtract_bgr

    def apply(self, image_bgr: BgrImage) -> BgrImage:
        """Mark an H×W×3 uint8 BGR frame in place (a non-contiguous input is copied) and return it."""
        if not image_bgr.flags.c_contiguous:
            image_bgr = np.ascontiguousarray(image_bgr)
        add, subtract = self._prepare(image_bgr.shape[0], image_bgr.shape[1])
        cv2.add(image_bgr, add, dst=image_bgr)
        cv2.subtract(image_bgr, subtract, dst=image_bgr)
        return image_bgr


def embed_watermark(image_bgr: BgrImage, version: str, strength: float = DEFAULT_STRENGTH) -> BgrImage:
    """A marked copy of one H×W×3 uint8 BGR image (for files; frames in a stream use a WatermarkEmbedder)."""
    return WatermarkEmbedder(version, strength).apply(image_bgr.copy())


# ---------------------------------------------------------------------------------------------------------- detection


def _band_pass(canonical: FloatArray) -> FloatArray:
    """Keep the chip band: remove the picture's low frequencies and pixel noise, then equalise local contrast.

    Local contrast normalisation stops a few strong edges (hair, a window frame) from outvoting the weak mark spread
    over the whole picture.
    """
    band = cv2.GaussianBlur(canonical, (0, 0), BAND_FINE_SIGMA_PX) - cv2.GaussianBlur(
        canonical, (0, 0), BAND_COARSE_SIGMA_PX
    )
    local_energy = cv2.GaussianBlur(band * band, (0, 0), 3.0)
    normalised = band / np.sqrt(local_energy + 0.25)
    return np.asarray(np.clip(normalised, -1.5, 1.5), dtype=np.float32)


def _fold(band: FloatArray) -> FloatArray:
    """Sum all tile-sized windows of a canonical image into one CANONICAL_TILE_PX² tile (zero padding at the end)."""
    size = CANONICAL_TILE_PX
    rows = -(-band.shape[0] // size) * size
    columns = -(-band.shape[1] // size) * size
    padded = np.zeros((rows, columns), dtype=np.float32)
    padded[: band.shape[0], : band.shape[1]] = band
    return np.asarray(padded.reshape(rows // size, size, columns // size, size).sum(axis=(0, 2)), dtype=np.float32)


@functools.cache
def _templates() -> tuple[npt.NDArray[np.complex64], FloatArray]:
    """FFT of the band-passed sync tile, and the band-passed per-bit templates as a PAYLOAD_BITS × tile² matrix."""
    key = _key()
    sync_tile = _canonical_tile(key.sync_chips.reshape(TILE_CHIPS, TILE_CHIPS))
    sync_fft = np.fft.fft2(_band_pass_periodic(sync_tile)).astype(np.complex64)
    bit_rows = []
    for bit in range(PAYLOAD_BITS):
        chips = np.where(key.bit_of_chip == bit, key.payload_signs, 0.0).astype(np.float32)
        bit_rows.append(_band_pass_periodic(_canonical_tile(chips.reshape(TILE_CHIPS, TILE_CHIPS))).ravel())
    return sync_fft, np.stack(bit_rows).astype(np.float32)


def _band_pass_periodic(tile: FloatArray) -> FloatArray:
    """The linear part of `_band_pass` on a repeating tile: what the mark looks like after detection filtering."""
    size = CANONICAL_TILE_PX
    padded = np.tile(tile, (3, 3))
    band = cv2.GaussianBlur(padded, (0, 0), BAND_FINE_SIGMA_PX) - cv2.GaussianBlur(padded, (0, 0), BAND_COARSE_SIGMA_PX)
    return np.ascontiguousarray(band[size : 2 * size, size : 2 * size], dtype=np.float32)


def false_positive_probability(score_z: float) -> float:
    """Upper bound on the chance that an unmarked file scores at least score_z (union bound over all tested shifts)."""
    tests = len(HEIGHT_FACTORS) * CANONICAL_TILE_PX * CANONICAL_TILE_PX
    tail = 0.5 * math.erfc(score_z / math.sqrt(2.0))
    return min(1.0, tests * tail)


@dataclass(frozen=True, slots=True)
class WatermarkDetection:
    """What detection found in one image or a set of frames of one video.

    score_z: peak correlation z-score (about 0–5 without a mark). marked: score_z ≥ DETECTION_THRESHOLD_Z.
    confidence: 1 − false_positive_probability(score_z), in [0, 1]. version: decoded app version, None when the
    payload's CRC does not match (too damaged) or no mark. height_factor / shift_px: where the tile was found.
    """

    marked: bool
    score_z: float
    confidence: float
    version: str | None
    frames: int
    height_factor: float
    shift_px: tuple[int, int]


class WatermarkAccumulator:
    """Collects the evidence of several frames of one video (same geometry) and judges them together.

    Usage: `add(frame)` for each sampled frame (any size, BGR or grey uint8), then `result()`. Any thread.
    """

    def __init__(self) -> None:
        self._folded: dict[float, FloatArray] = {}
        self.frames = 0

    def add(self, image: npt.NDArray[np.uint8]) -> None:
        """Add one H×W×3 BGR or H×W grey uint8 frame."""
        grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
        grey_float = grey.astype(np.float32)
        height, width = grey.shape[:2]
        for factor in HEIGHT_FACTORS:
            canonical_height = CANONICAL_HEIGHT_PX * factor
            scale = canonical_height / height
            size = (max(8, round(width * scale)), max(8, round(canonical_height)))
            canonical = cv2.resize(grey_float, size, interpolation=cv2.INTER_AREA)
            folded = _fold(_band_pass(np.asarray(canonical, dtype=np.float32)))
            if factor in self._folded:
                self._folded[factor] += folded
            else:
                self._folded[factor] = folded
        self.frames += 1

    def result(self) -> WatermarkDetection:
        """Judge all frames added so far; an empty accumulator gives an unmarked result with score 0."""
        if not self._folded:
            return WatermarkDetection(False, 0.0, 0.0, None, 0, 1.0, (0, 0))
        sync_fft, bit_templates = _templates()
        best: tuple[float, float, int, int] = (-math.inf, 1.0, 0, 0)
        for factor, folded in self._folded.items():
            correlation = np.fft.ifft2(np.fft.fft2(folded) * np.conj(sync_fft)).real
            spread = float(correlation.std())
            if spread <= 0:
                continue
            z_map = (correlation - float(correlation.mean())) / spread
            peak = int(np.argmax(z_map))
            shift_y, shift_x = divmod(peak, CANONICAL_TILE_PX)
            if float(z_map.flat[peak]) > best[0]:
                best = (float(z_map.flat[peak]), factor, shift_y, shift_x)
        score_z, factor, shift_y, shift_x = best
        if not math.isfinite(score_z):
            return WatermarkDetection(False, 0.0, 0.0, None, self.frames, 1.0, (0, 0))
        aligned = np.roll(self._folded[factor], (-shift_y, -shift_x), axis=(0, 1)).ravel()
        bit_values = bit_templates @ aligned
        version = _bits_to_version(bit_values)
        marked = score_z >= DETECTION_THRESHOLD_Z
        return WatermarkDetection(
            marked=marked,
            score_z=score_z,
            confidence=1.0 - false_positive_probability(score_z),
            version=version if marked else None,
            frames=self.frames,
            height_factor=factor,
            shift_px=(shift_x, shift_y),
        )


def detect_watermark(images: npt.NDArray[np.uint8] | Iterable[npt.NDArray[np.uint8]]) -> WatermarkDetection:
    """Look for the mark in one image (H×W×3 BGR or H×W grey uint8) or in several frames of one video together."""
    accumulator = WatermarkAccumulator()
    if isinstance(images, np.ndarray):
        accumulator.add(images)
    else:
        for image in images:
            accumulator.add(image)
    return accumulator.result()
