"""`verify`: marked images and re-encoded videos are recognised, unmarked ones are not, credentials are reported."""

from __future__ import annotations

from pathlib import Path

import av
import cv2
import numpy as np
import pytest

from faceswap_live import provenance
from faceswap_live.config import MarkingConfig
from faceswap_live.stages.marking import OutputMarker, mark_image
from faceswap_live.verify import VerificationError, format_verification, verify_file
from faceswap_live.watermark import embed_watermark
from video_cuts import encode_h264

VERSION = "0.2.5"


@pytest.fixture()
def identity_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A signing identity in a temporary folder instead of the user's data dir."""
    directory = tmp_path / "provenance"
    monkeypatch.setattr(provenance, "provenance_dir", lambda: directory)
    return directory


def write_video(path: Path, frames: list[np.ndarray], bitrate: int) -> Path:
    encode_h264(path, frames, bitrate)
    return path


def moving_frames(face_bgr: np.ndarray, count: int) -> list[np.ndarray]:
    """A 640×480 clip of the face drifting sideways, like a person in a call."""
    base = cv2.resize(face_bgr, (700, 480), interpolation=cv2.INTER_AREA)
    return [np.ascontiguousarray(base[:, index * 2 : index * 2 + 640]) for index in range(count)]


def test_marked_jpeg_is_verified_and_unmarked_is_not(tmp_path: Path, astronaut_bgr: np.ndarray) -> None:
    frame = np.ascontiguousarray(cv2.resize(astronaut_bgr, (640, 480), interpolation=cv2.INTER_AREA))
    marked_path, plain_path = tmp_path / "marked.jpg", tmp_path / "plain.jpg"
    cv2.imwrite(str(marked_path), mark_image(frame, MarkingConfig(), VERSION), [cv2.IMWRITE_JPEG_QUALITY, 80])
    cv2.imwrite(str(plain_path), frame, [cv2.IMWRITE_JPEG_QUALITY, 80])

    marked = verify_file(marked_path)
    assert marked.marked and marked.watermark_found
    assert marked.confidence > 0.9999
    assert marked.frames_checked == 1 and marked.c2pa is None
    text = format_verification(marked)
    assert text.startswith("Watermark found: faceswap-live 0.2.5 watermark found")
    assert "no content credentials" in text and "can add it to any picture" in text

    plain = verify_file(plain_path)
    assert not plain.marked and plain.confidence == 0.0
    assert format_verification(plain).startswith("Neither a faceswap-live watermark")


def test_video_reencoded_at_call_bitrate_is_verified_with_its_version(tmp_path: Path, hopper_bgr: np.ndarray) -> None:
    marker = OutputMarker(MarkingConfig(), VERSION)
    frames = [marker.apply(image) for image in moving_frames(hopper_bgr, 45)]
    path = write_video(tmp_path / "call.mp4", frames, bitrate=600_000)
    result = verify_file(path, video_frames=8)
    assert result.marked and result.watermark_found
    assert result.version == VERSION
    assert result.frames_checked == 8
    assert result.frames_marked >= 6
    assert f"in {result.frames_marked} of 8 frames checked" in result.message


def test_unmarked_video_is_not_flagged(tmp_path: Path, hopper_bgr: np.ndarray) -> None:
    path = write_video(tmp_path / "plain.mp4", moving_frames(hopper_bgr, 30), bitrate=600_000)
    result = verify_file(path, video_frames=8)
    assert not result.marked and result.frames_marked == 0


def test_signed_file_reports_its_credentials_and_tampering_breaks_them(
    tmp_path: Path, astronaut_bgr: np.ndarray, identity_dir: Path
) -> None:
    path = tmp_path / "swapped.jpg"
    cv2.imwrite(str(path), mark_image(astronaut_bgr, MarkingConfig(), VERSION))
    provenance.sign_file(path, VERSION)
    assert (identity_dir / provenance.KEY_FILE).stat().st_mode & 0o077 == 0  # the key is private to the user

    result = verify_file(path)
    manifest = result.c2pa
    assert manifest is not None and manifest.present
    assert manifest.valid and not manifest.trusted and manifest.signed_by_this_machine
    assert manifest.ai_modified and manifest.claim_generator == f"faceswap-live {VERSION}"
    assert "c2pa.edited" in manifest.actions
    assert result.marked
    text = format_verification(result)
    assert text.startswith("AI-modified by faceswap-live: faceswap-live")
    assert "content credentials found and valid" in text and "content credentials (C2PA): Valid" in text

    # Change the picture after signing (as an editor would): the credentials no longer validate.
    data = bytearray(path.read_bytes())
    data[-200] ^= 0xFF
    path.write_bytes(bytes(data))
    tampered = provenance.read_manifest(path)
    assert tampered is not None and not tampered.valid


def test_credentials_without_watermark_and_a_forged_watermark_are_told_apart(
    tmp_path: Path, hopper_bgr: np.ndarray, identity_dir: Path
) -> None:
    """Each kind of evidence is named on its own; the public watermark can be stamped on any photo, and verify says
    what it sees (a watermark), not that the photo is authentic or AI-made."""
    signed_only = tmp_path / "signed.jpg"
    cv2.imwrite(str(signed_only), hopper_bgr)
    provenance.sign_file(signed_only, VERSION)
    result = verify_file(signed_only)
    assert result.marked and not result.watermark_found
    assert result.message.startswith("Content credentials found and valid: AI-modified")
    assert "no faceswap-live watermark" in result.message and "Watermark found" not in result.message

    forged = tmp_path / "forged.png"
    cv2.imwrite(str(forged), embed_watermark(hopper_bgr, VERSION))
    result = verify_file(forged)
    assert result.watermark_found and result.c2pa is None
    assert result.message.startswith("Watermark found:")
    assert "anyone can add it to any picture" in format_verification(result)


def test_recording_mp4_is_signed_and_still_plays(tmp_path: Path, hopper_bgr: np.ndarray, identity_dir: Path) -> None:
    frames = moving_frames(hopper_bgr, 20)
    path = write_video(tmp_path / "recording.mp4", frames, bitrate=1_000_000)
    provenance.sign_file(path, VERSION)
    manifest = provenance.read_manifest(path)
    assert manifest is not None and manifest.valid and manifest.ai_modified
    with av.open(str(path)) as container:
        assert sum(1 for _ in container.decode(video=0)) == 20


def test_unsupported_or_missing_files_raise_clear_errors(tmp_path: Path, identity_dir: Path) -> None:
    with pytest.raises(VerificationError, match="does not exist"):
        verify_file(tmp_path / "missing.mp4")
    garbage = tmp_path / "garbage.mp4"
    garbage.write_bytes(b"not a video at all" * 10)
    with pytest.raises(VerificationError):
        verify_file(garbage)
    text_file = tmp_path / "notes.txt"
    text_file.write_text("hello", encoding="utf-8")
    from faceswap_live.errors import OutputError

    with pytest.raises(OutputError, match="cannot be added"):
        provenance.sign_file(text_file, VERSION)


def test_shared_videos_are_not_flagged(shared_dir: Path) -> None:
    for video in sorted((shared_dir / "data" / "faces" / "videos").iterdir())[:4]:
        result = verify_file(video, video_frames=6)
        assert not result.marked, video.name
