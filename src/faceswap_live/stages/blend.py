"""Compositing a swapped face into the frame: face mask, colour match, alpha blend. Pure functions."""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np

from faceswap_live.config import SwapConfig
from faceswap_live.types import BgrImage, FaceLandmarks, Mask, SwappedFace

# MediaPipe face-oval contour, in order around the face.
FACE_OVAL: Final = (
    10, 338, 297, 332, 284, 251, 389, 356, 454, 323, 361, 288, 397, 365, 379, 378, 400, 377,
    152, 148, 176, 149, 150, 136, 172, 58, 132, 93, 234, 127, 162, 21, 54, 103, 67, 109,
)  # fmt: skip


def build_face_mask(face: FaceLandmarks, swapped: SwappedFace, feather: float) -> Mask:
    """Feathered face-oval mask in the swapped region's pixels, times the engine's coverage."""
    region = swapped.region
    mask = np.zeros((region.height, region.width), dtype=np.uint8)
    oval = face.points_px[list(FACE_OVAL), :2] - np.array([region.x0, region.y0], dtype=np.float32)
    cv2.fillConvexPoly(mask, np.round(oval).astype(np.int32), 255, lineType=cv2.LINE_AA)
    face_size = max(face.box.width, face.box.height)
    kernel = int(face_size * feather) | 1
    if kernel > 1:
        # Erode first so the feather fades inside the oval instead of spilling past the jaw line.
        mask = cv2.erode(mask, cv2.getStructuringElement(cv2.MORPH_ELLIPSE, (kernel, kernel)))
        mask = cv2.GaussianBlur(mask, (kernel, kernel), 0)
    return (mask.astype(np.float32) / 255.0) * swapped.coverage


def match_colour(face_bgr: BgrImage, reference_bgr: BgrImage, mask: Mask) -> BgrImage:
    """Shift face_bgr's Lab mean and spread inside the mask to those of reference_bgr (same shape)."""
    weights = mask > 0.5
    if weights.sum() < 16:
        return face_bgr
    face_lab = cv2.cvtColor(face_bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
    reference_lab = cv2.cvtColor(reference_bgr, cv2.COLOR_BGR2LAB).astype(np.float32)
    face_mean, face_std = face_lab[weights].mean(axis=0), face_lab[weights].std(axis=0) + 1e-3
    reference_mean, reference_std = reference_lab[weights].mean(axis=0), reference_lab[weights].std(axis=0) + 1e-3
    matched = (face_lab - face_mean) * (reference_std / face_std) + reference_mean
    return np.asarray(cv2.cvtColor(np.clip(matched, 0, 255).astype(np.uint8), cv2.COLOR_LAB2BGR), dtype=np.uint8)


def blend_face(frame_bgr: BgrImage, swapped: SwappedFace, face: FaceLandmarks, settings: SwapConfig) -> None:
    """Composite one swapped face into frame_bgr in place (only the face region is touched)."""
    region = swapped.region
    if region.width <= 0 or region.height <= 0:
        return
    destination = frame_bgr[region.y0 : region.y1, region.x0 : region.x1]
    mask = build_face_mask(face, swapped, settings.mask_feather)
    face_bgr = swapped.face_bgr
    if settings.colour_match:
        face_bgr = match_colour(face_bgr, destination, mask)
    alpha = mask[:, :, None]
    destination[:] = (face_bgr * alpha + destination * (1.0 - alpha)).astype(np.uint8)
