"""Target faces from photos: read (EXIF orientation honoured), find every face (small ones too), crop the chosen one."""

from __future__ import annotations

import io
import logging
import warnings
from pathlib import Path

import cv2
import numpy as np
from PIL import Image  # Pillow comes with MediaPipe (via matplotlib); used only to read image headers

from faceswap_live.config import LandmarkConfig
from faceswap_live.errors import TargetFaceError
from faceswap_live.native_log import native_stderr_to_debug
from faceswap_live.stages.align import keypoints_from_mesh
from faceswap_live.stages.landmarks import DetectedFace, FaceLandmarkDetector
from faceswap_live.types import BgrImage, Box, FaceLandmarks, TargetFace

logger = logging.getLogger(__name__)

MAX_IMAGE_PIXELS = 120_000_000  # larger files are refused before decoding (a 100 MP photo decodes to 300 MB)
MAX_FILE_BYTES = 200 * 1024 * 1024
DETECTION_MAX_SIDE_PX = 1280
MIN_TILE_SIDE_PX = 640
TARGET_FACE_MAX_SIDE_PX = 512  # the target crop is scaled so the face box is at most this big: detail enough, fast
SUPPORTED_FORMATS = "JPEG, PNG, WebP, BMP or TIFF"


def read_image(path: Path) -> BgrImage:
    """Decode a photo to H×W×3 uint8 BGR with its EXIF orientation applied. Raises TargetFaceError."""
    try:
        size_bytes = path.stat().st_size
        if size_bytes > MAX_FILE_BYTES:
            raise TargetFaceError(f"{path.name} is {size_bytes / 2**20:.0f} MB; photos over 200 MB are not accepted.")
        if size_bytes == 0:
            raise TargetFaceError(f"{path.name} is empty (0 bytes); use a {SUPPORTED_FORMATS} photo.")
        data = np.fromfile(path, dtype=np.uint8)
    except FileNotFoundError as error:
        raise TargetFaceError(f"Photo {path} does not exist.") from error
    except IsADirectoryError as error:
        raise TargetFaceError(f"{path} is a folder, not a photo.") from error
    except OSError as error:
        raise TargetFaceError(f"Photo {path} could not be read: {error.strerror or error}.") from error
    check_image_size(data, path.name)
    with native_stderr_to_debug():  # libpng/libjpeg complain on stderr about broken files
        image = cv2.imdecode(data, cv2.IMREAD_COLOR)  # applies EXIF orientation
    if image is None:
        raise TargetFaceError(f"{path.name} is not an image this app can read; use a {SUPPORTED_FORMATS} file.")
    return np.asarray(image, dtype=np.uint8)


def check_image_size(data: np.ndarray, name: str) -> None:
    """Refuse decompression bombs from the header alone, before the pixels are allocated. Raises TargetFaceError."""
    width, height = _image_size_from_header(data, name)
    if width * height > MAX_IMAGE_PIXELS:
        raise TargetFaceError(f"{name} is {width}x{height} pixels; please use a photo under 120 megapixels.")


def _image_size_from_header(data: np.ndarray, name: str) -> tuple[int, int]:
    """(width, height) from the file header without decoding pixels; (0, 0) if the header is unreadable."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", Image.DecompressionBombWarning)
        try:
            with Image.open(io.BytesIO(data.tobytes())) as image:
                return image.size
        except Image.DecompressionBombError as error:
            raise TargetFaceError(f"{name} is far over 120 megapixels; please use a smaller photo.") from error
        except Exception:
            return 0, 0


def _detections_to_faces(found: list[DetectedFace]) -> list[FaceLandmarks]:
    return [
        FaceLandmarks(
            points_px=face.points_px,
            keypoints_px=keypoints_from_mesh(face.points_px),
            box=Box.around(face.points_px),
            track_id=index,
            blendshapes=face.blendshapes,
        )
        for index, face in enumerate(found)
    ]


def _tile_boxes(width: int, height: int) -> list[Box]:
    """Overlapping square tiles from the whole photo down to 640 px, coarse first.

    The detector needs a face to span about a tenth of its input, so a small face in a big photo is only found in a
    tile a few times its size. Tiles overlap by a third so every face small enough to need them lies inside one.
    """
    boxes = [Box(0, 0, width, height)]
    side = max(width, height) // 2
    while True:
        side = max(side, MIN_TILE_SIDE_PX)
        if side >= max(width, height):
            break
        stride = max(1, side * 2 // 3)
        for y0 in range(0, max(1, height - side + stride), stride):
            for x0 in range(0, max(1, width - side + stride), stride):
                boxes.append(Box(x0, y0, min(width, x0 + side), min(height, y0 + side)))
        if side == MIN_TILE_SIDE_PX:
            break
        side //= 2
    return boxes


def find_faces_in_photo(image_bgr: BgrImage, model_path: Path, max_faces: int = 8) -> list[FaceLandmarks]:
    """Every face in a photo, largest first, landmarks in the photo's pixels.

    Searches the whole photo, then overlapping tiles (see _tile_boxes), so faces that are small in a group photo
    are found too. Takes up to a second or two for a large photo: call it when a target is added, never per frame.
    Raises ModelError when the landmark model cannot be loaded.
    """
    height, width = image_bgr.shape[:2]
    found: list[DetectedFace] = []
    config = LandmarkConfig(max_faces=max_faces, min_detection_confidence=0.5)
    whole = Box(0, 0, width, height)
    # Blendshapes: the mesh engine takes the photo's own expression out of its face (stages/expression.py).
    with FaceLandmarkDetector(model_path, config, mode="image", with_blendshapes=True) as detector:
        for tile_box in _tile_boxes(width, height):
            for face in _detect_in(detector, image_bgr, tile_box):
                box = Box.around(face.points_px)
                if _cut_by_tile_edge(box, tile_box, width, height):
                    continue  # a face cut by the tile edge is found whole in an overlapping tile
                if any(_same_face(box, Box.around(other.points_px)) for other in found):
                    continue
                if tile_box != whole:
                    # Confirm in a crop framed on the face, where the detector is at its best: patterns on
                    # clothes that passed for a face in a tile do not pass again, and real faces get finer points.
                    confirmed = [
                        again
                        for again in _detect_in(detector, image_bgr, box.expanded(2.5).clipped(width, height))
                        if Box.around(again.points_px).iou(box) > 0.5
                    ]
                    if not confirmed:
                        continue
                    face = confirmed[0]
                found.append(face)
    found.sort(key=lambda face: -Box.around(face.points_px).area)
    return _detections_to_faces(found)


def _detect_in(detector: FaceLandmarkDetector, image_bgr: BgrImage, region: Box) -> list[DetectedFace]:
    """Meshes found in one region of the photo, in photo pixels (the region is scaled down to at most 1280 px)."""
    tile = image_bgr[region.y0 : region.y1, region.x0 : region.x1]
    scale = min(1.0, DETECTION_MAX_SIDE_PX / max(tile.shape[:2]))
    if scale < 1.0:
        tile = np.asarray(cv2.resize(tile, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)
    offset = np.array([region.x0, region.y0, 0], dtype=np.float32)
    return [
        DetectedFace((face.points_px / scale + offset).astype(np.float32), face.blendshapes)
        for face in detector.detect(np.ascontiguousarray(tile))
    ]


def _cut_by_tile_edge(face: Box, tile: Box, width: int, height: int) -> bool:
    margin = 2
    return (
        (tile.x0 > 0 and face.x0 <= tile.x0 + margin)
        or (tile.y0 > 0 and face.y0 <= tile.y0 + margin)
        or (tile.x1 < width and face.x1 >= tile.x1 - margin)
        or (tile.y1 < height and face.y1 >= tile.y1 - margin)
    )


def _same_face(box: Box, other: Box) -> bool:
    centre_x, centre_y = (box.x0 + box.x1) / 2, (box.y0 + box.y1) / 2
    return box.iou(other) > 0.3 or (other.x0 <= centre_x <= other.x1 and other.y0 <= centre_y <= other.y1)


def crop_target(image_bgr: BgrImage, face: FaceLandmarks, name: str, source_path: Path | None = None) -> TargetFace:
    """Cut the face with a generous margin and scale it so the face box is at most 512 px."""
    height, width = image_bgr.shape[:2]
    region = face.box.expanded(2.0).clipped(width, height)
    crop = image_bgr[region.y0 : region.y1, region.x0 : region.x1]
    scale = min(1.0, TARGET_FACE_MAX_SIDE_PX / max(face.box.width, face.box.height))
    points = face.points_px - np.array([region.x0, region.y0, 0], dtype=np.float32)
    if scale < 1.0:
        crop = np.asarray(cv2.resize(crop, None, fx=scale, fy=scale, interpolation=cv2.INTER_AREA), dtype=np.uint8)
        points = points * scale
    landmarks = FaceLandmarks(
        points_px=points, keypoints_px=keypoints_from_mesh(points), box=Box.around(points), blendshapes=face.blendshapes
    )
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
