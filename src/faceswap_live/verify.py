"""`faceswap-live verify FILE`: is this image or video marked as made by faceswap-live, and what do its credentials say?

Two independent kinds of evidence, reported separately: the invisible watermark (survives re-encoding, scaling,
rotation, cropping, padding, mirroring and screenshots, but its pattern is public, so it can be removed or forged) and
the C2PA manifest (cryptographically signed, but lost when a platform re-encodes or strips metadata). Either one makes
the file count as marked.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass
from pathlib import Path

import av
import cv2
import numpy as np

from faceswap_live.errors import FaceswapError
from faceswap_live.inputs.capture import IMAGE_SUFFIXES
from faceswap_live.native_log import native_stderr_to_debug
from faceswap_live.provenance import ManifestSummary, read_manifest
from faceswap_live.types import BgrImage
from faceswap_live.watermark import (
    DETECTION_THRESHOLD_Z,
    WatermarkAccumulator,
    WatermarkDetection,
    false_positive_probability,
)

logger = logging.getLogger(__name__)

DEFAULT_VIDEO_FRAMES = 16
MAX_DECODE_SIDE_PX = 1920  # larger frames are reduced before detection (detection works at 192 lines anyway)


class VerificationError(FaceswapError):
    """The file to verify cannot be read as an image or a video."""


@dataclass(frozen=True, slots=True)
class VerificationResult:
    """The verdict on one file.

    marked: the watermark was found or a C2PA manifest says the file is AI-modified by faceswap-live.
    confidence: 1 − the chance that an unmarked file shows watermark evidence this strong (0 when no mark).
    version: the faceswap-live version carried by the watermark (or the manifest), None if unreadable.
    frames_checked: frames examined (1 for an image). frames_marked: those marked on their own.
    watermark_score_z: the watermark detector's peak z-score (threshold DETECTION_THRESHOLD_Z).
    c2pa: the manifest summary, None when the file carries none.
    message: one line for a person.
    """

    path: Path
    marked: bool
    confidence: float
    version: str | None
    frames_checked: int
    frames_marked: int
    watermark_found: bool
    watermark_score_z: float
    c2pa: ManifestSummary | None
    message: str


def _read_image(path: Path) -> BgrImage:
    from faceswap_live.inputs.target_photo import check_image_size

    try:
        data = np.fromfile(path, dtype=np.uint8)
    except OSError as error:
        raise VerificationError(f"{path} cannot be read: {error.strerror or error}.") from error
    try:
        check_image_size(data, path.name)  # a decompression bomb is refused from its header, as `swap` does
    except FaceswapError as error:
        raise VerificationError(str(error)) from error
    with native_stderr_to_debug():  # libpng/libjpeg complain on stderr about broken files
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)
    if image is None:
        raise VerificationError(f"{path.name} is not an image this app can read.")
    return np.asarray(image, dtype=np.uint8)


def _reduce(image_bgr: BgrImage) -> BgrImage:
    longest = max(image_bgr.shape[:2])
    if longest <= MAX_DECODE_SIDE_PX:
        return image_bgr
    scale = MAX_DECODE_SIDE_PX / longest
    return np.asarray(cv2.resize(image_bgr, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)


def sample_video_frames(path: Path, count: int = DEFAULT_VIDEO_FRAMES) -> list[BgrImage]:
    """Up to `count` BGR frames spread evenly over the video (seeking keeps long files fast).

    Raises VerificationError when the file is not a readable video.
    """
    frames: list[BgrImage] = []
    try:
        with av.open(str(path)) as container:
            if not container.streams.video:
                raise VerificationError(f"{path.name} has no video stream.")
            stream = container.streams.video[0]
            duration_s = (
                float(stream.duration * stream.time_base)
                if stream.duration and stream.time_base
                else (container.duration / av.time_base if container.duration else 0.0)
            )
            if duration_s > 2.0 and stream.time_base:
                for index in range(count):
                    position_s = duration_s * (index + 0.5) / count
                    container.seek(int(position_s / stream.time_base), stream=stream, backward=True)
                    for frame in container.decode(stream):
                        frames.append(_reduce(np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)))
                        break
            else:  # short or length unknown: decode from the start, every third frame
                for frame_index, frame in enumerate(container.decode(stream)):
                    if frame_index % 3 == 0:
                        frames.append(_reduce(np.asarray(frame.to_ndarray(format="bgr24"), dtype=np.uint8)))
                    if len(frames) >= count:
                        break
    except av.error.FFmpegError as error:
        raise VerificationError(f"{path.name} could not be read as a video: {error}") from error
    if not frames:
        raise VerificationError(f"No frame could be decoded from {path.name}.")
    return frames


def _message(
    watermark: WatermarkDetection,
    frames_marked: int,
    frames_checked: int,
    c2pa_summary: ManifestSummary | None,
    credentials_say_ai: bool,
) -> str:
    """One headline that says which of the two kinds of evidence was found: watermark, credentials, both, neither."""
    if watermark.marked:
        version = f" {watermark.version}" if watermark.version else ""
        in_frames = f" in {frames_marked} of {frames_checked} frames checked" if frames_checked > 1 else ""
        false_alarm = false_positive_probability(watermark.score_z)
        found = (
            f"faceswap-live{version} watermark found{in_frames} (score {watermark.score_z:.1f}, threshold "
            f"{DETECTION_THRESHOLD_Z:.1f}; chance of a false alarm ≤ {false_alarm:.0e})"
        )
    signed = f"AI-modified, signed by {c2pa_summary.signer or 'unknown'}" if c2pa_summary else ""
    if c2pa_summary is None:
        credentials = "no content credentials (C2PA)"
    elif credentials_say_ai:
        credentials = f"content credentials found and valid: {signed}"
    elif not c2pa_summary.valid:
        credentials = "content credentials found but INVALID (changed after signing)"
    else:
        credentials = (
            f"content credentials found and valid, but not from faceswap-live ({c2pa_summary.signer or 'unknown'})"
        )
    if watermark.marked and credentials_say_ai:
        return f"AI-modified by faceswap-live: {found}; {credentials}."
    if watermark.marked:
        return f"Watermark found: {found}; {credentials}."
    if credentials_say_ai:
        return (
            f"Content credentials found and valid: {signed}; no faceswap-live watermark "
            f"(score {watermark.score_z:.1f} < {DETECTION_THRESHOLD_Z:.1f})."
        )
    return (
        f"Neither a faceswap-live watermark (score {watermark.score_z:.1f} < {DETECTION_THRESHOLD_Z:.1f}) nor "
        f"faceswap-live content credentials found; {credentials}. This does not prove the file is unedited."
    )


def verify_file(path: Path, video_frames: int = DEFAULT_VIDEO_FRAMES) -> VerificationResult:
    """Check an image or a video for the faceswap-live watermark and C2PA credentials. Any thread.

    Video: `video_frames` frames spread over the file are judged together (their evidence adds up).
    Raises VerificationError when the file is missing or cannot be decoded.
    """
    if not path.is_file():
        raise VerificationError(f"{path} does not exist or is not a file.")
    try:
        if path.stat().st_size == 0:
            raise VerificationError(f"{path.name} is empty (0 bytes); there is nothing to check.")
    except OSError as error:
        raise VerificationError(f"{path} cannot be read: {error.strerror or error}.") from error
    images = [_reduce(_read_image(path))] if path.suffix.lower() in IMAGE_SUFFIXES else None
    if images is None:
        images = sample_video_frames(path, video_frames)
    accumulator = WatermarkAccumulator()
    frames_marked = 0
    for image in images:
        single = WatermarkAccumulator()
        single.add(image)
        frames_marked += int(single.result().marked)
        accumulator.add(image)
    watermark = accumulator.result()
    try:
        c2pa_summary = read_manifest(path)
    except FaceswapError as error:
        logger.warning("Could not read content credentials of %s: %s", path, error)
        c2pa_summary = None
    credentials_say_ai = bool(
        c2pa_summary
        and c2pa_summary.valid
        and c2pa_summary.ai_modified
        and (c2pa_summary.claim_generator or "").startswith("faceswap-live")
    )
    marked = watermark.marked or credentials_say_ai
    version = watermark.version
    if version is None and credentials_say_ai and c2pa_summary and c2pa_summary.claim_generator:
        version = c2pa_summary.claim_generator.removeprefix("faceswap-live").strip() or None
    confidence = watermark.confidence if watermark.marked else (1.0 if credentials_say_ai else 0.0)
    return VerificationResult(
        path=path,
        marked=marked,
        confidence=confidence,
        version=version,
        frames_checked=len(images),
        frames_marked=frames_marked,
        watermark_found=watermark.marked,
        watermark_score_z=watermark.score_z,
        c2pa=c2pa_summary,
        message=_message(watermark, frames_marked, len(images), c2pa_summary, credentials_say_ai),
    )


def format_verification(result: VerificationResult) -> str:
    """A few lines for the terminal: the verdict first, then the evidence."""
    lines = [result.message, f"  file: {result.path}", f"  confidence: {result.confidence:.6f}"]
    lines.append(
        f"  watermark: {'yes' if result.watermark_found else 'no'} (score {result.watermark_score_z:.1f}, "
        f"threshold {DETECTION_THRESHOLD_Z:.1f}; version {result.version or 'unknown'}; "
        f"{result.frames_marked} of {result.frames_checked} frame(s) marked on their own)"
    )
    manifest = result.c2pa
    if manifest is None:
        lines.append("  content credentials (C2PA): none")
    else:
        lines.append(
            f"  content credentials (C2PA): {manifest.validation_state or 'unknown'}"
            f"{', trusted' if manifest.trusted else ''}"
            f"{', signed with this computer’s faceswap-live key' if manifest.signed_by_this_machine else ''}"
        )
        lines.append(f"    signer: {manifest.signer or 'unknown'} (issuer: {manifest.issuer or 'unknown'})")
        lines.append(f"    made by: {manifest.claim_generator or 'unknown'}")
        lines.append(f"    actions: {', '.join(manifest.actions) or 'none'}")
        if manifest.ai_modified:
            lines.append("    says: AI-modified (trained algorithmic media)")
        if manifest.failures:
            lines.append(f"    validation notes: {', '.join(manifest.failures)}")
    if result.watermark_found and not (manifest and manifest.valid and manifest.ai_modified):
        lines.append(
            "  note: the watermark's pattern is public (open source): anyone can add it to any picture or remove it; "
            "only valid content credentials prove who signed a file."
        )
    return "\n".join(lines)
