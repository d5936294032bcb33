"""Target faces from photos: read (EXIF orientation honoured), find every face (small ones too), crop the chosen one."""

from __future__ import annotations

import logging
from pathlib import Path

import cv2
import numpy as np

from faceswap_live.config import LandmarkConfig
from faceswap_live.errors import ModelError, TargetFaceError
from faceswap_live.stages.align import keypoints_from_mesh
from faceswap_live.stages.landmarks import FaceLandmarkDetector
from faceswap_live.types import BgrImage, Box, FaceLandmarks, TargetFace

logger = logging.getLogger(__name__)

MAX_IMAGE_PIXELS = 120_000_000  # larger files are refused before decoding (a 100 MP photo decodes to 300 MB)
MAX_FILE_BYTES = 200 * 1024 * 1024
DETECTION_MAX_SIDE_PX = 1280
TARGET_FACE_MAX_SIDE_PX = 512  # the target crop is scaled so the face box is at most this big: detail enough, fast
SUPPORTED_FORMATS = "JPEG, PNG, WebP, BMP or TIFF"


def read_image(path: Path) -> BgrImage:
    """Decode a photo to H×W×3 uint8 BGR with its EXIF orientation applied. Raises TargetFaceError."""
    try:
        size_bytes = path.stat().st_size
        if size_bytes > MAX_FILE_BYTES:
            raise TargetFaceError(f"{path.name} is {size_bytes / 2**20:.0f} MB; photos over 200 MB are not accepted.")
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError as error:
        raise TargetFaceError(f"Photo {path} does not exist.") from error
    except IsADirectoryError as error:
        raise TargetFaceError(f"{path} is a folder, not a photo.") from error
    except OSError as error:
        raise TargetFaceError(f"Photo {path} could not be read: {error.strerror or error}.") from error
    # Refuse decompression bombs from the header alone, before allocating the pixels.
    header_ok, header = _image_size_from_header(data)
    if header_ok and header[0] * header[1] > MAX_IMAGE_PIXELS:
        raise TargetFaceError(f"{path.name} is {header[0]}x{header[1]} pixels; please use a photo under 120 megapixels.")
    image = cv2.imdecode(data, cv2.IMREAD_COLOR)  # applies EXIF orientation
    if image is None:
        raise TargetFaceError(f"{path.name} is not an image this app can read; use a {SUPPORTED_FORMATS} file.")
    return np.asarray(image, dtype=np.uint8)


def _image_size_from_header(data: np.ndarray) -> tuple[bool, tuple[int, int]]:
    try:
        from PIL import Image  # Pillow comes with matplotlib (a MediaPipe dependency); only used to peek at headers
        import io

        with Image.open(io.BytesIO(data.tobytes())) as image:
            return True, image.size
    except Exception:  # noqa: BLE001 - an unreadable header is reported by the decoder below
        return False, (0, 0)


def _detections_to_faces(points_list: list[np.ndarray]) -> list[FaceLandmarks]:
    return [
        FaceLandmarks(points_px=points, keypoints_px=keypoints_from_mesh(points), box=Box.around(points), track_id=index)
        for index, points in enumerate(points_list)
    ]


def find_faces_in_photo(image_bgr: BgrImage, model_path: Path, max_faces: int = 8) -> list[FaceLandmarks]:
    """Every face in a photo, largest first, landmarks in the photo's pixels.

    The whole photo is searched at up to 1280 px, then overlapping tiles, so faces that are small in a group photo
    are found too. Slow (up to a second for a large photo): call it when a target is added, not per frame.
    """
    height, width = image_bgr.shape[:2]
    found: list[np.ndarray] = []
    config = LandmarkConfig(max_faces=max_faces, min_detection_confidence=0.5)
    try:
        detector = FaceLandmarkDetector(model_path, config, mode="image")
    except ModelError:
        raise
    with detector:
        for grid in (1, 2, 3):
            if grid > 1 and max(width, height) < DETECTION_MAX_SIDE_PX * (grid - 1) * 0.6:
                break
            tile_w, tile_h = width / grid, height / grid
            overlap_x, overlap_y = tile_w * 0.25, tile_h * 0.25
            for row in range(grid):
                for column in range(grid):
                    x0 = int(max(0, column * tile_w - overlap_x))
                    y0 = int(max(0, row * tile_h - overlap_y))
                    x1 = int(min(width, (column + 1) * tile_w + overlap_x))
                    y1 = int(min(height, (row + 1) * tile_h + overlap_y))
                    tile = image_bgr[y0:y1, x0:x1]
                    scale = min(1.0, DETECTION_MAX_SIDE_PX / max(tile.shape[:2]))
                    if scale < 1.0:
                        tile = cv2.resize(tile, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
                    for detection in detector.detect(np.ascontiguousarray(tile)):
                        points = detection.points_px / scale + np.array([x0, y0, 0], dtype=np.float32)
                        box = Box.around(points)
                        if all(box.iou(Box.around(other)) < 0.3 for other in found):
                            found.append(points.astype(np.float32))
    found.sort(key=lambda points: -Box.around(points).area)
    return _detections_to_faces(found)


def crop_target(image_bgr: BgrImage, face: FaceLandmarks, name: str, source_path: Path | None = None) -> TargetFace:
    """Cut the face with a generous margin and scale it so the face box is at most 512 px."""
    height, width = image_bgr.shape[:2]
    region = face.box.expanded(2.0).clipped(width, height)
    crop = image_bgr[region.y0 : region.y1, region.x0 : region.x1]
    scale = min(1.0, TARGET_FACE_MAX_SIDE_PX / max(face.box.width, face.box.height))
    points = face.points_px - np.array([region.x0, region.y0, 0], dtype=np.float32)
    if scale < 1.0:
        crop = cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA)
        points = points * scale
    landmarks = FaceLandmarks(points_px=points, keypoints_px=keypoints_from_mesh(points), box=Box.around(points))
    return TargetFace(image_bgr=np.ascontiguousarray(crop), landmarks=landmarks, name=name, source_path=source_path)


def load_target_face(path: Path, model_path: Path, face_index: int | None = None) -> TargetFace:
    """Read a photo and return the chosen face (the largest by default) as a TargetFace.

    Raises TargetFaceError (unreadable, not an image, too big, no face, index out of range) with a message for the
    user, or ModelError when the landmark model cannot be loaded.
    """
    image = read_image(path)
    faces = find_faces_in_photo(image, model_path)
    if not faces:
        raise TargetFaceError(
            f"No face was found in {path.name}. Use a photo where the face is clearly visible, "
            "looking roughly towards the camera, and not too small or dark."
        )
    index = 0 if face_index is None else face_index
    if not 0 <= index < len(faces):
        raise TargetFaceError(f"{path.name} holds {len(faces)} face(s); face number {index + 1} does not exist.")
    if face_index is None and len(faces) > 1:
        logger.info("%s holds %d faces; using the largest", path.name, len(faces))
    return crop_target(image, faces[index], name=path.stem, source_path=path)
