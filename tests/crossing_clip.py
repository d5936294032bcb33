"""A synthetic two-person clip whose faces cross: the astronaut walks right in front of Grace Hopper walking left.

Both are public-domain photos (the `astronaut_bgr` and `hopper_bgr` fixtures). Each face, cut out with some hair and
shoulders and scaled to about 130 px, slides across a plain background; in the middle of the clip the astronaut
hides Hopper completely for several frames. The clip comes with its truth: where each face is in every frame, and
whether it is visible.
"""

from __future__ import annotations

from dataclasses import dataclass

import cv2
import numpy as np

from faceswap_live.types import Box

FRAME_SIZE = (640, 400)
FACE_HEIGHT_PX = 130
PATCH_MARGIN = 1.7
"""The cut-out around each face, in face sizes (a little hair, forehead and neck)."""
ASTRONAUT_FACE = Box(180, 71, 272, 179)
HOPPER_FACE = Box(170, 132, 357, 336)
"""MediaPipe's mesh boxes of the two faces in the original photos."""


@dataclass(frozen=True)
class CrossingClip:
    frames: list[np.ndarray]
    astronaut_boxes: list[Box]
    hopper_boxes: list[Box]
    hopper_visible: list[bool]
    """False while the astronaut covers three quarters or more of Hopper's face (no face to draw on)."""


def _patch(image: np.ndarray, face: Box) -> tuple[np.ndarray, Box]:
    """The face cut out with a margin and scaled to FACE_HEIGHT_PX; and the face's box inside the cut-out."""
    height, width = image.shape[:2]
    region = face.expanded(PATCH_MARGIN).clipped(width, height)
    scale = FACE_HEIGHT_PX / face.height
    patch = cv2.resize(image[region.y0 : region.y1, region.x0 : region.x1], None, fx=scale, fy=scale)
    inner = Box(
        round((face.x0 - region.x0) * scale),
        round((face.y0 - region.y0) * scale),
        round((face.x1 - region.x0) * scale),
        round((face.y1 - region.y0) * scale),
    )
    return patch, inner


def _shifted(box: Box, x: int, y: int) -> Box:
    return Box(box.x0 + x, box.y0 + y, box.x1 + x, box.y1 + y)


def make_crossing_clip(astronaut_bgr: np.ndarray, hopper_bgr: np.ndarray, frame_count: int = 72) -> CrossingClip:
    astronaut, astronaut_face = _patch(astronaut_bgr, ASTRONAUT_FACE)
    hopper, hopper_face = _patch(hopper_bgr, HOPPER_FACE)
    width, height = FRAME_SIZE
    top = 40
    frames, astronaut_boxes, hopper_boxes, visible = [], [], [], []
    for index in range(frame_count):
        progress = index / (frame_count - 1)
        astronaut_x = round(10 + progress * (width - astronaut.shape[1] - 20))
        hopper_x = round(width - hopper.shape[1] - 10 - progress * (width - hopper.shape[1] - 20))
        frame = np.full((height, width, 3), (120, 135, 150), dtype=np.uint8)
        frame[top : top + hopper.shape[0], hopper_x : hopper_x + hopper.shape[1]] = hopper[: height - top]
        frame[top : top + astronaut.shape[0], astronaut_x : astronaut_x + astronaut.shape[1]] = astronaut[
            : height - top
        ]
        astronaut_box = _shifted(astronaut_face, astronaut_x, top)
        hopper_box = _shifted(hopper_face, hopper_x, top)
        astronaut_patch = Box(astronaut_x, top, astronaut_x + astronaut.shape[1], top + astronaut.shape[0])
        covered = Box(
            max(hopper_box.x0, astronaut_patch.x0),
            max(hopper_box.y0, astronaut_patch.y0),
            min(hopper_box.x1, astronaut_patch.x1),
            min(hopper_box.y1, astronaut_patch.y1),
        )
        covered_share = covered.area / hopper_box.area if covered.width > 0 and covered.height > 0 else 0.0
        frames.append(frame)
        astronaut_boxes.append(astronaut_box)
        hopper_boxes.append(hopper_box)
        visible.append(covered_share < 0.75)
    return CrossingClip(frames, astronaut_boxes, hopper_boxes, visible)
