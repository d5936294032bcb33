"""Target photos: formats, EXIF orientation, small faces in group photos, and clear errors for bad files."""

from __future__ import annotations

import struct
import zlib
from pathlib import Path

import cv2
import numpy as np
import pytest
from PIL import Image

from faceswap_live.errors import TargetFaceError
from faceswap_live.inputs.target_photo import find_faces_in_photo, load_target_face, read_image


def test_a_portrait_gives_one_target_with_its_landmarks_inside_the_crop(
    landmark_model_path: Path, hopper_path: Path
) -> None:
    target = load_target_face(hopper_path, landmark_model_path)
    height, width = target.image_bgr.shape[:2]
    points = target.landmarks.points_px
    assert points.shape == (478, 3)
    assert points[:, 0].min() >= 0 and points[:, 0].max() < width
    assert points[:, 1].min() >= 0 and points[:, 1].max() < height
    assert target.name == "hopper"


def test_webp_files_load(landmark_model_path: Path, tmp_path: Path, astronaut_bgr: np.ndarray) -> None:
    path = tmp_path / "astronaut.webp"
    cv2.imwrite(str(path), astronaut_bgr, [cv2.IMWRITE_WEBP_QUALITY, 90])
    assert load_target_face(path, landmark_model_path).landmarks.box.area > 0


def test_exif_orientation_is_honoured(landmark_model_path: Path, tmp_path: Path, hopper_bgr: np.ndarray) -> None:
    # Stored sideways with EXIF orientation 6 ("rotate 90° clockwise to display"), as phones save portraits.
    sideways = cv2.rotate(hopper_bgr, cv2.ROTATE_90_COUNTERCLOCKWISE)
    path = tmp_path / "phone.jpg"
    exif = Image.Exif()
    exif[0x0112] = 6
    Image.fromarray(cv2.cvtColor(sideways, cv2.COLOR_BGR2RGB)).save(path, exif=exif.tobytes(), quality=95)
    image = read_image(path)
    assert image.shape[:2] == hopper_bgr.shape[:2]
    left_eye, _, nose, mouth_left, _ = load_target_face(path, landmark_model_path).landmarks.keypoints_px
    assert left_eye[1] < nose[1] < mouth_left[1]  # upright: eyes above nose above mouth


def test_small_faces_in_a_large_group_photo_are_found_and_chosen_by_size_or_index(
    landmark_model_path: Path, tmp_path: Path, hopper_bgr: np.ndarray, astronaut_bgr: np.ndarray
) -> None:
    canvas = np.full((2400, 3600, 3), 200, dtype=np.uint8)
    small_hopper = cv2.resize(hopper_bgr, None, fx=0.45, fy=0.45)  # face about 70 px tall in a 3600 px photo
    small_astronaut = cv2.resize(astronaut_bgr, None, fx=0.8, fy=0.8)  # face about 85 px tall
    canvas[300 : 300 + small_hopper.shape[0], 400 : 400 + small_hopper.shape[1]] = small_hopper
    canvas[1500 : 1500 + small_astronaut.shape[0], 2600 : 2600 + small_astronaut.shape[1]] = small_astronaut
    faces = find_faces_in_photo(canvas, landmark_model_path)
    assert len(faces) == 2
    assert faces[0].box.area >= faces[1].box.area
    centres = sorted((face.box.x0 + face.box.x1) / 2 for face in faces)
    assert centres[0] < 1000 and centres[1] > 2600

    path = tmp_path / "group.jpg"
    cv2.imwrite(str(path), canvas)
    largest = load_target_face(path, landmark_model_path)
    second = load_target_face(path, landmark_model_path, face_index=1)
    photo = cv2.imread(str(path))
    for target, face in ((largest, faces[0]), (second, faces[1])):  # each crop is cut around the face asked for
        found = cv2.minMaxLoc(cv2.matchTemplate(photo, target.image_bgr, cv2.TM_SQDIFF_NORMED))[2]
        centre_x = found[0] + target.image_bgr.shape[1] / 2
        centre_y = found[1] + target.image_bgr.shape[0] / 2
        assert face.box.x0 <= centre_x <= face.box.x1 and face.box.y0 <= centre_y <= face.box.y1
    with pytest.raises(TargetFaceError, match="2 face"):
        load_target_face(path, landmark_model_path, face_index=2)


def test_a_photo_without_a_face_says_so(landmark_model_path: Path, tmp_path: Path) -> None:
    path = tmp_path / "wall.png"
    cv2.imwrite(str(path), np.full((480, 640, 3), 128, dtype=np.uint8))
    with pytest.raises(TargetFaceError, match="No face was found in wall.png"):
        load_target_face(path, landmark_model_path)


def test_unreadable_missing_and_non_image_files_get_clear_errors(tmp_path: Path) -> None:
    text = tmp_path / "notes.jpg"
    text.write_text("not a photo")
    with pytest.raises(TargetFaceError, match="not an image .* JPEG, PNG, WebP"):
        read_image(text)
    with pytest.raises(TargetFaceError, match="does not exist"):
        read_image(tmp_path / "missing.png")
    with pytest.raises(TargetFaceError, match="folder"):
        read_image(tmp_path)


def _png_chunk(kind: bytes, payload: bytes) -> bytes:
    return struct.pack(">I", len(payload)) + kind + payload + struct.pack(">I", zlib.crc32(kind + payload))


def test_a_decompression_bomb_is_refused_before_decoding(tmp_path: Path) -> None:
    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)  # 900 megapixels, RGB
    path = tmp_path / "huge.png"
    path.write_bytes(b"\x89PNG\r\n\x1a\n" + _png_chunk(b"IHDR", header) + _png_chunk(b"IEND", b""))
    with pytest.raises(TargetFaceError, match="megapixels"):
        read_image(path)
