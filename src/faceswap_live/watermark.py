"""Invisible spread-spectrum watermark saying "made by faceswap-live <version>", on numpy and OpenCV only.

Scheme (version 2)
------------------
* A fixed, public key (a seed derived from a SHA-256 of the scheme name) draws a TILE_CHIPS × TILE_CHIPS *tile* of
  chips. Three quarters of the chips carry a pseudo-random ±1 **sync** pattern (what detection looks for); the rest
  carry the **payload**: 32 bits (16 bits of app version + a 16-bit CRC), each bit spread over two chips per tile.
* The tile repeats over the whole frame, starting at its top-left corner. One chip is 1/CHIPS_PER_SHORT_SIDE of the
  frame's shorter side (6 px at 480 lines, 9 px at 720), so the mark scales with the frame. The chip grid is smoothed
  (Gaussian) so no chip edges show, and it is added to the luma (the same delta on B, G and R).
* Perceptual masking: the delta is multiplied by a gain that follows the local contrast of the picture (local
  standard deviation of the luma on a grid of 1/160 of the shorter side, the weakest neighbour deciding): up to
  `strength` grey levels in texture (hair, fabric, faces), FLAT_GAIN of it (under one grey level) on flat areas such
  as a plain wall, where a pattern would show. A stream refreshes this map every MASK_REFRESH_FRAMES frames.
* Detection does not need to know the frame's geometry. Because the mark is periodic, the autocorrelation of the
  (band-passed, contrast-normalised) picture has peaks on the tile's lattice, wherever the frame sits in the image
  and however it was scaled, rotated, stretched, cropped, padded or mirrored. Candidate lattice vectors (periods
  0.5–1.7× the unchanged one, rotations up to ±8°) are scored on the autocorrelation's peaks and refined on all the
  lattice's peaks. Each gives the affine map back to the canonical tile: the picture is warped with it, folded onto
  one tile, and the folded tile is correlated (FFT, every circular shift at once) with the sync pattern in each of
  its 8 orientations (the square's rotations and mirror images, which the lattice alone cannot tell apart). The peak
  z-score over shifts, orientations and candidate lattices is the detection score.
* A video is judged by adding the band-passed frames before the search (the mark is the same in every frame, the
  picture is not), which makes detection on re-encoded video stronger than on one frame.

False positives: without a mark the correlation at each tested (lattice, orientation, shift) is close to a standard
normal variable, so the chance that the largest of the N tested values exceeds a threshold t is at most N·Q(t) (union
bound). DETECTION_THRESHOLD_Z gives N·Q(t) ≈ 1e-5 per file; see `false_positive_probability`. The payload (version)
is reported only when its CRC matches (Chase decoding over the 5 least reliable bits).

Limits, stated plainly: the key is public (this code), so anyone can compute the pattern, subtract it, or stamp it on
a picture that faceswap-live never touched (`embed_watermark`). The watermark says "this looks like faceswap-live
output", not "this is authentic"; the visible label and the signed C2PA manifest are the other two layers.
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

SCHEME_NAME = "faceswap-live watermark v2"
TILE_CHIPS = 16
"""The tile is TILE_CHIPS × TILE_CHIPS chips and repeats over the frame."""
CHIPS_PER_SHORT_SIDE = 80
"""Chip size = the frame's shorter side / this: the mark scales with the frame (5 tiles across 480 lines)."""
CANONICAL_CHIP_PX = 4
CANONICAL_TILE_PX = TILE_CHIPS * CANONICAL_CHIP_PX
WORKING_SHORT_SIDE_PX = CHIPS_PER_SHORT_SIDE * CANONICAL_CHIP_PX
"""Detection resizes the image so that its shorter side is this long: an unchanged frame has 4 px chips there."""
PERIOD_RANGE = (0.5, 1.7)
"""Tile periods searched, relative to an unchanged frame's: covers padding to half the image, crops of 40%."""
PAYLOAD_BITS = 32
DEFAULT_STRENGTH = 6.0
"""Peak luma change in grey levels (0–255 scale) in textured areas."""
FLAT_GAIN = 0.15
"""Share of the strength used on flat areas."""
TEXTURE_STD_GREY = 5.0
"""Local standard deviation (grey levels) from which an area counts as textured (full strength)."""
MASK_REFRESH_FRAMES = 8
"""A stream's strength map is recomputed every this many frames (a scene changes slowly; this keeps marking cheap)."""
DETECTION_THRESHOLD_Z = 6.5
"""Peak z-score at or above which a file counts as marked (false-positive bound: see module docstring)."""
LATTICE_CANDIDATES = 8
"""Candidate lattices (pairs of autocorrelation peaks) tried per image."""
SIDES_KEPT = 3
"""Best candidates for each side of the tile that candidate lattices are built from."""
MAX_ROTATION_DEG = 8
"""Rotations searched (either way); the issue's ±5° with a margin."""
SMOOTHING_SIGMA_CANONICAL_PX = 1.0
CHASE_BITS = 5
BAND_FINE_SIGMA_PX = 0.8
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
    sync_count = chip_count * 3 // 4
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
    scale = WORKING_SHORT_SIDE_PX / min(height, width)  # canonical pixels per frame pixel
    map_x = ((np.arange(width, dtype=np.float32) + 0.5) * scale - 0.5) % CANONICAL_TILE_PX
    map_y = ((np.arange(height, dtype=np.float32) + 0.5) * scale - 0.5) % CANONICAL_TILE_PX
    grid_x, grid_y = np.meshgrid(map_x, map_y)
    pattern = cv2.remap(tile, grid_x, grid_y, interpolation=cv2.INTER_LINEAR, borderMode=cv2.BORDER_WRAP)
    return np.asarray(pattern, dtype=np.float32)


def strength_map(image_bgr: BgrImage, strength: float) -> npt.NDArray[np.uint8]:
    """Per-pixel peak amplitude for this picture, in quarter grey levels (uint8 H×W): `strength` in texture,
    FLAT_GAIN of it on flat areas.

    The local standard deviation of the luma is measured on a grid of about 1/160 of the frame's shorter side (3 px
    at 480 lines: fine enough that a flat patch next to hair stays weak, cheap enough to do often), then scaled back.
    """
    height, width = image_bgr.shape[:2]
    step = max(1, min(height, width) // 160)
    small = cv2.cvtColor(np.ascontiguousarray(image_bgr[::step, ::step]), cv2.COLOR_BGR2GRAY).astype(np.float32)
    detail = small - cv2.GaussianBlur(small, (0, 0), 1.0)
    local_std = np.sqrt(cv2.GaussianBlur(detail * detail, (0, 0), 1.0))
    # The weakest neighbour decides: a flat patch keeps a weak mark right up to the edge of a textured one.
    local_std = cv2.erode(local_std, np.ones((3, 3), np.uint8))
    gain = np.clip(local_std / TEXTURE_STD_GREY, FLAT_GAIN, 1.0)
    quarter_levels = np.clip(np.rint(gain * strength * 4.0), 0, 255).astype(np.uint8)
    return np.asarray(cv2.resize(quarter_levels, (width, height), interpolation=cv2.INTER_LINEAR), dtype=np.uint8)


class WatermarkEmbedder:
    """Adds the watermark to frames. The pattern is computed once per frame size; the strength map (perceptual
    masking) every MASK_REFRESH_FRAMES frames, so most frames cost two saturating adds.

    Not thread-safe: use one per thread (the pipeline's processing thread owns one).
    """

    def __init__(self, version: str, strength: float = DEFAULT_STRENGTH) -> None:
        self.version = version
        self.strength = strength
        self._size: tuple[int, int] | None = None
        self._positive: npt.NDArray[np.uint8] | None = None
        self._negative: npt.NDArray[np.uint8] | None = None
        self._frames_since_refresh = 0
        self._add_bgr: BgrImage | None = None
        self._subtract_bgr: BgrImage | None = None

    def _prepare(self, image_bgr: BgrImage) -> tuple[BgrImage, BgrImage]:
        height, width = image_bgr.shape[:2]
        if self._size != (height, width) or self._positive is None or self._negative is None:
            pattern = watermark_pattern(height, width, self.version)
            # The pattern's two halves in 1/64 units, so one uint8 multiply by the strength map gives grey levels.
            self._positive = np.rint(np.clip(pattern, 0.0, 1.0) * 64.0).astype(np.uint8)
            self._negative = np.rint(np.clip(-pattern, 0.0, 1.0) * 64.0).astype(np.uint8)
            self._size = (height, width)
            self._add_bgr = None
        if self._add_bgr is None or self._subtract_bgr is None or self._frames_since_refresh >= MASK_REFRESH_FRAMES:
            gain = strength_map(image_bgr, self.strength)
            add = cv2.multiply(self._positive, gain, scale=1.0 / 256.0)
            subtract = cv2.multiply(self._negative, gain, scale=1.0 / 256.0)
            # Two saturating uint8 passes (add the positive part, subtract the negative part) are faster than any
            # int16 round trip and clip at 0/255 the way the eye expects.
            self._add_bgr = np.asarray(cv2.merge((add, add, add)), dtype=np.uint8)
            self._subtract_bgr = np.asarray(cv2.merge((subtract, subtract, subtract)), dtype=np.uint8)
            self._frames_since_refresh = 0
        self._frames_since_refresh += 1
        return self._add_bgr, self._subtract_bgr

    def apply(self, image_bgr: BgrImage) -> BgrImage:
        """Mark an H×W×3 uint8 BGR frame in place (a non-contiguous input is copied) and return it."""
        if not image_bgr.flags.c_contiguous:
            image_bgr = np.ascontiguousarray(image_bgr)
        add, subtract = self._prepare(image_bgr)
        cv2.add(image_bgr, add, dst=image_bgr)
        cv2.subtract(image_bgr, subtract, dst=image_bgr)
        return image_bgr


def embed_watermark(image_bgr: BgrImage, version: str, strength: float = DEFAULT_STRENGTH) -> BgrImage:
    """A marked copy of one H×W×3 uint8 BGR image (for files; frames in a stream use a WatermarkEmbedder).

    Anyone can call this on any picture: the mark alone says nothing about where a picture really came from.
    """
    return WatermarkEmbedder(version, strength).apply(image_bgr.copy())


# ---------------------------------------------------------------------------------------------------------- detection


def _band_pass(image: FloatArray) -> FloatArray:
    """Keep the chip band: remove the picture's low frequencies and pixel noise, then equalise local contrast.

    Local contrast normalisation stops a few strong edges (hair, a window frame, a letterbox border) from outvoting
    the weak mark spread over the whole picture.
    """
    band = cv2.GaussianBlur(image, (0, 0), BAND_FINE_SIGMA_PX) - cv2.GaussianBlur(image, (0, 0), BAND_COARSE_SIGMA_PX)
    local_energy = cv2.GaussianBlur(band * band, (0, 0), 4.0)
    normalised = band / np.sqrt(local_energy + 0.25)
    return np.asarray(np.clip(normalised, -1.5, 1.5), dtype=np.float32)


def _band_pass_periodic(tile: FloatArray) -> FloatArray:
    """The linear part of `_band_pass` on a repeating tile: what the mark looks like after detection filtering."""
    size = CANONICAL_TILE_PX
    padded = np.tile(tile, (3, 3))
    band = cv2.GaussianBlur(padded, (0, 0), BAND_FINE_SIGMA_PX) - cv2.GaussianBlur(padded, (0, 0), BAND_COARSE_SIGMA_PX)
    return np.ascontiguousarray(band[size : 2 * size, size : 2 * size], dtype=np.float32)


def _orient(tile: FloatArray, orientation: int) -> FloatArray:
    """One of the 8 symmetries of the square (0–3: rotations by 90°; 4–7: the same after a mirror flip)."""
    flipped = tile.T if orientation >= 4 else tile
    return np.ascontiguousarray(np.rot90(flipped, orientation % 4))


def _unorient(tile: FloatArray, orientation: int) -> FloatArray:
    """The inverse of `_orient`."""
    turned = np.rot90(tile, -(orientation % 4))
    return np.ascontiguousarray(turned.T if orientation >= 4 else turned)


@functools.cache
def _templates() -> tuple[tuple[npt.NDArray[np.complex64], ...], FloatArray]:
    """FFTs of the band-passed sync tile in its 8 orientations, and the per-bit templates (PAYLOAD_BITS × tile²)."""
    key = _key()
    sync = _band_pass_periodic(_canonical_tile(key.sync_chips.reshape(TILE_CHIPS, TILE_CHIPS)))
    sync_ffts = tuple(np.fft.fft2(_orient(sync, orientation)).astype(np.complex64) for orientation in range(8))
    bit_rows = []
    for bit in range(PAYLOAD_BITS):
        chips = np.where(key.bit_of_chip == bit, key.payload_signs, 0.0).astype(np.float32)
        bit_rows.append(_band_pass_periodic(_canonical_tile(chips.reshape(TILE_CHIPS, TILE_CHIPS))).ravel())
    return sync_ffts, np.stack(bit_rows).astype(np.float32)


def _tests_per_file() -> int:
    return LATTICE_CANDIDATES * 8 * CANONICAL_TILE_PX * CANONICAL_TILE_PX


def false_positive_probability(score_z: float) -> float:
    """Upper bound on the chance that an unmarked file scores at least score_z (union bound over all tested values)."""
    tail = 0.5 * math.erfc(score_z / math.sqrt(2.0))
    return min(1.0, _tests_per_file() * tail)


@dataclass(frozen=True, slots=True)
class WatermarkDetection:
    """What detection found in one image or a set of frames of one video.

    score_z: peak correlation z-score (about 0–5 without a mark). marked: score_z ≥ DETECTION_THRESHOLD_Z.
    confidence: 1 − false_positive_probability(score_z), in [0, 1]. version: decoded app version, None when the
    payload's CRC does not match (too damaged) or no mark. frames: frames judged together.
    scale: the frame's size relative to the image (1.0 unchanged, below 1 padded, above 1 cropped), rotation_deg and
    mirrored: how the frame sits in the image, as far as the mark tells (0, False when nothing was found).
    """

    marked: bool
    score_z: float
    confidence: float
    version: str | None
    frames: int
    scale: float = 1.0
    rotation_deg: float = 0.0
    mirrored: bool = False


def _working_grey(image: npt.NDArray[np.uint8]) -> FloatArray:
    """The image in grey, resized so that its shorter side is WORKING_SHORT_SIDE_PX."""
    grey = cv2.cvtColor(image, cv2.COLOR_BGR2GRAY) if image.ndim == 3 else image
    height, width = grey.shape[:2]
    scale = WORKING_SHORT_SIDE_PX / min(height, width)
    size = (max(8, round(width * scale)), max(8, round(height * scale)))
    interpolation = cv2.INTER_AREA if scale < 1.0 else cv2.INTER_LINEAR
    return np.asarray(cv2.resize(grey.astype(np.float32), size, interpolation=interpolation), dtype=np.float32)


def _subpixel_peak(surface: FloatArray, row: int, column: int) -> tuple[float, float]:
    """Peak position refined by a parabola through the neighbours along each axis."""
    rows, columns = surface.shape

    def offset(before: float, centre: float, after: float) -> float:
        curvature = before - 2.0 * centre + after
        return 0.0 if curvature >= 0 else float(np.clip(0.5 * (before - after) / curvature, -0.5, 0.5))

    if not (0 < row < rows - 1 and 0 < column < columns - 1):
        return float(row), float(column)
    dy = offset(surface[row - 1, column], surface[row, column], surface[row + 1, column])
    dx = offset(surface[row, column - 1], surface[row, column], surface[row, column + 1])
    return row + dy, column + dx


def _lattice_candidates(band: FloatArray) -> list[tuple[npt.NDArray[np.float64], npt.NDArray[np.float64]]]:
    """Pairs of lattice vectors (x, y in working pixels) that the autocorrelation suggests, most likely first.

    The tile's two sides are searched separately, each over periods (PERIOD_RANGE) and angles (±MAX_ROTATION_DEG,
    a quarter turn apart): a side scores the mean height of the autocorrelation peaks at 1–4 times its vector. The
    best sides are paired and refined on all the lattice's peaks.
    """
    # Zero padding to twice the size: a circular autocorrelation would also show the lattice wrapped around the
    # image's edges, at lags that are no multiple of the tile.
    padded_shape = (cv2.getOptimalDFTSize(2 * band.shape[0]), cv2.getOptimalDFTSize(2 * band.shape[1]))
    spectrum = np.fft.rfft2(band, s=padded_shape)
    magnitude = np.abs(spectrum)  # square root of the power: whitens the picture's spectrum, keeps the mark's lines
    autocorrelation = np.fft.fftshift(np.fft.irfft2(magnitude, s=padded_shape)).astype(np.float32)
    rows, columns = autocorrelation.shape
    centre_x, centre_y = columns // 2, rows // 2
    # Divide by the overlap at each lag, so that short periods are not favoured just for overlapping more.
    overlap_y = np.maximum(band.shape[0] - np.abs(np.arange(rows) - centre_y), band.shape[0] // 4)
    overlap_x = np.maximum(band.shape[1] - np.abs(np.arange(columns) - centre_x), band.shape[1] // 4)
    autocorrelation /= np.outer(overlap_y, overlap_x).astype(np.float32)
    # Peaks stand out from the local background: subtract a smoothed version; a small max filter tolerates the
    # rounding of predicted peak positions.
    detail = autocorrelation - cv2.GaussianBlur(autocorrelation, (0, 0), 3.0)
    tolerant = cv2.dilate(detail, np.ones((3, 3), np.uint8))
    nominal = float(CANONICAL_TILE_PX)
    periods = np.arange(nominal * PERIOD_RANGE[0], nominal * PERIOD_RANGE[1], 0.5)
    angles = np.deg2rad(np.arange(-MAX_ROTATION_DEG, MAX_ROTATION_DEG + 0.5, 1.0))
    multiples = np.arange(1, 5, dtype=np.float64)
    sides = []
    for quarter in (0.0, math.pi / 2):
        directions = np.stack([np.cos(angles + quarter), np.sin(angles + quarter)], axis=-1)  # A × 2
        points = directions[:, None, None, :] * periods[None, :, None, None] * multiples[None, None, :, None]
        xs = np.rint(centre_x + points[..., 0]).astype(np.int64)
        ys = np.rint(centre_y - points[..., 1]).astype(np.int64)
        inside = (xs >= 0) & (xs < columns) & (ys >= 0) & (ys < rows)
        values = np.where(inside, tolerant[np.clip(ys, 0, rows - 1), np.clip(xs, 0, columns - 1)], 0.0)
        score = values.sum(axis=2) / np.maximum(inside.sum(axis=2), 1)  # A × P
        score[inside.sum(axis=2) == 0] = -np.inf
        found: list[npt.NDArray[np.float64]] = []
        for flat_index in np.argsort(score, axis=None)[::-1]:
            angle_index, period_index = divmod(int(flat_index), periods.size)
            vector = directions[angle_index] * periods[period_index] * np.array([1.0, -1.0])
            if any(np.linalg.norm(vector - known) < 4.0 for known in found):
                continue
            found.append(vector)
            if len(found) >= SIDES_KEPT:
                break
        sides.append(found)
    pairs: list[tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]] = []
    for a in sides[0]:
        for b in sides[1]:
            ratio = float(np.linalg.norm(a) / np.linalg.norm(b))
            if not 0.7 <= ratio <= 1.43:
                continue
            refined_a, refined_b, support = _refine_lattice(detail, a, b)
            pairs.append((support, refined_a, refined_b))
    pairs.sort(key=lambda pair: pair[0], reverse=True)
    # The geometry the file was written with is always tried too: heavy compression can leave a grid of coding blocks
    # whose own autocorrelation peaks outvote the mark's when the lattice is searched for.
    unchanged = (np.array([nominal, 0.0]), np.array([0.0, nominal]))
    return [(a, b) for _, a, b in pairs[: LATTICE_CANDIDATES - 1]] + [unchanged]


def _refine_lattice(
    detail: FloatArray, a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]
) -> tuple[npt.NDArray[np.float64], npt.NDArray[np.float64], float]:
    """Refine lattice vectors a, b with all the lattice's peaks in the autocorrelation (up to 3 periods out), and
    measure how well the lattice is supported (mean peak height over its points).

    A tile misjudged by 1 % drifts by a whole chip across 25 tiles: the many far peaks pin the period down much more
    precisely than the first two alone.
    """
    rows, columns = detail.shape
    centre = np.array([columns // 2, rows // 2], dtype=np.float64)
    support = 0.0
    for reach in (1, 2, 3, 4):  # near peaks first: each pass predicts the farther ones more precisely
        indices, observed, weights = [], [], []
        support_values = []
        for i in range(-reach, reach + 1):
            for j in range(-reach, reach + 1):
                if i == 0 and j == 0:
                    continue
                predicted = centre + i * a + j * b
                x, y = round(predicted[0]), round(predicted[1])
                if not (3 <= x < columns - 3 and 3 <= y < rows - 3):
                    continue
                window = detail[y - 2 : y + 3, x - 2 : x + 3]
                support_values.append(float(detail[y, x]))
                dy, dx = divmod(int(np.argmax(window)), 5)
                peak_y, peak_x = _subpixel_peak(detail, y - 2 + dy, x - 2 + dx)
                value = float(window.flat[dy * 5 + dx])
                if value > 0:
                    indices.append((i, j))
                    observed.append((peak_x - centre[0], peak_y - centre[1]))
                    weights.append(value)
        support = float(np.mean(support_values)) if support_values else 0.0
        if len(indices) < 3:
            break
        design = np.array(indices, dtype=np.float64) * np.sqrt(np.array(weights))[:, None]
        target = np.array(observed, dtype=np.float64) * np.sqrt(np.array(weights))[:, None]
        solution, *_ = np.linalg.lstsq(design, target, rcond=None)
        a, b = solution[0], solution[1]
    return a, b, support


def _fold_along(band: FloatArray, a: npt.NDArray[np.float64], b: npt.NDArray[np.float64]) -> FloatArray:
    """Warp the band-passed image so that lattice vectors a, b become the canonical tile's sides, and fold it."""
    size = CANONICAL_TILE_PX
    basis = np.column_stack([a, b]) / size  # canonical → working
    to_canonical = np.linalg.inv(basis)
    rows, columns = band.shape
    corners = np.array([[0, 0], [columns, 0], [0, rows], [columns, rows]], dtype=np.float64)
    mapped = corners @ to_canonical.T
    origin = mapped.min(axis=0)
    extent = mapped.max(axis=0) - origin
    if extent.max() > 8 * max(rows, columns):
        return np.zeros((size, size), dtype=np.float32)
    matrix = np.hstack([to_canonical, -origin[:, None]]).astype(np.float64)
    out_columns = -(-math.ceil(extent[0]) // size) * size
    out_rows = -(-math.ceil(extent[1]) // size) * size
    warped = cv2.warpAffine(band, matrix, (out_columns, out_rows), flags=cv2.INTER_LINEAR, borderValue=0.0)
    folded = warped.reshape(out_rows // size, size, out_columns // size, size).sum(axis=(0, 2))
    return np.asarray(folded, dtype=np.float32)


@dataclass(frozen=True, slots=True)
class _Match:
    score_z: float
    folded: FloatArray
    orientation: int
    shift: tuple[int, int]
    a: npt.NDArray[np.float64]
    b: npt.NDArray[np.float64]


def _search(band: FloatArray) -> _Match | None:
    """The best (lattice, orientation, shift) for a band-passed working image, None when no lattice shows."""
    sync_ffts, _ = _templates()
    best: _Match | None = None
    for a, b in _lattice_candidates(band):
        folded = _fold_along(band, a, b)
        folded_fft = np.fft.fft2(folded)
        for orientation, template in enumerate(sync_ffts):
            correlation = np.fft.ifft2(folded_fft * np.conj(template)).real
            spread = float(correlation.std())
            if spread <= 0:
                continue
            z_map = (correlation - float(correlation.mean())) / spread
            peak = int(np.argmax(z_map))
            score = float(z_map.flat[peak])
            if best is None or score > best.score_z:
                shift_y, shift_x = divmod(peak, CANONICAL_TILE_PX)
                best = _Match(score, folded, orientation, (shift_y, shift_x), a, b)
    return best


def _describe(match: _Match, frames: int) -> WatermarkDetection:
    _, bit_templates = _templates()
    aligned = np.roll(match.folded, (-match.shift[0], -match.shift[1]), axis=(0, 1))
    bit_values = bit_templates @ _unorient(aligned, match.orientation).ravel()
    marked = match.score_z >= DETECTION_THRESHOLD_Z
    version = _bits_to_version(bit_values) if marked else None
    # Lattice vectors versus the canonical tile side: shorter vectors mean the frame fills less of the image.
    determinant = float(np.linalg.det(np.column_stack([match.a, match.b])))
    scale = math.sqrt(abs(determinant)) / CANONICAL_TILE_PX
    angle = math.degrees(math.atan2(match.a[1], match.a[0])) % 90.0
    rotation = angle - 90.0 if angle > 45.0 else angle
    mirrored = (determinant < 0) != (match.orientation >= 4)
    return WatermarkDetection(
        marked=marked,
        score_z=match.score_z,
        confidence=1.0 - false_positive_probability(match.score_z),
        version=version,
        frames=frames,
        scale=scale if marked else 1.0,
        rotation_deg=rotation if marked else 0.0,
        mirrored=mirrored if marked else False,
    )


class WatermarkAccumulator:
    """Collects the evidence of several frames of one video and judges them together.

    Usage: `add(frame)` for each sampled frame (BGR or grey uint8, all of one size), then `result()`. Any thread.
    Frames of another size than the first are judged on their own size's sum (a stream that changed resolution).
    """

    def __init__(self) -> None:
        self._sums: dict[tuple[int, int], FloatArray] = {}
        self._counts: dict[tuple[int, int], int] = {}
        self.frames = 0

    def add(self, image: npt.NDArray[np.uint8]) -> None:
        """Add one H×W×3 BGR or H×W grey uint8 frame."""
        band = _band_pass(_working_grey(image))
        shape = (band.shape[0], band.shape[1])
        if shape in self._sums:
            self._sums[shape] += band
        else:
            self._sums[shape] = band
        self._counts[shape] = self._counts.get(shape, 0) + 1
        self.frames += 1

    def result(self) -> WatermarkDetection:
        """Judge all frames added so far; an empty accumulator gives an unmarked result with score 0."""
        best: WatermarkDetection | None = None
        for shape, band in self._sums.items():
            match = _search(band)
            if match is None:
                continue
            detection = _describe(match, self._counts[shape])
            if best is None or detection.score_z > best.score_z:
                best = detection
        if best is None:
            return WatermarkDetection(False, 0.0, 0.0, None, self.frames)
        return WatermarkDetection(
            best.marked,
            best.score_z,
            best.confidence,
            best.version,
            self.frames,
            best.scale,
            best.rotation_deg,
            best.mirrored,
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
