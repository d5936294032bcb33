"""Five-point keypoints and similarity-transform alignment to named templates (pure functions)."""

from __future__ import annotations

from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.stages import mesh_topology as mesh
from faceswap_live.types import Affine2x3, AlignedFace, BgrImage, Points2D, Points3D

# ArcFace 5-point template for a 112 px crop (eyes, nose tip, mouth corners; image-left first).
ARCFACE_112: Final = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)

TEMPLATE_NAMES: Final = ("arcface", "inswapper")


def keypoints_from_mesh(points_px: Points3D) -> Points2D:
    """5×2 ArcFace-order keypoints from a 478×3 MediaPipe mesh, in the mesh's pixel space: the person's right eye
    (on the image's left), left eye, nose tip, right mouth corner, left mouth corner.

    Eye centres are the midpoints of the eye corners rather than the irises, so gaze does not move the alignment.
    """
    points = points_px[:, :2]
    return np.stack(
        [
            points[list(mesh.RIGHT_EYE_CORNERS)].mean(axis=0),
            points[list(mesh.LEFT_EYE_CORNERS)].mean(axis=0),
            points[mesh.NOSE_TIP],
            points[mesh.MOUTH_CORNERS[0]],
            points[mesh.MOUTH_CORNERS[1]],
        ]
    ).astype(np.float32)


def template_points(name: str, size: int) -> npt.NDArray[np.float64]:
    """5×2 template keypoints for a square crop of `size` px.

    "arcface": the ArcFace template scaled from 112 px. "inswapper": the same template as insightface aligns the
    128 px swap model's input, scaled from 128 px with the +8 px shift in x.
    """
    if name == "arcface":
        return ARCFACE_112 * (size / 112.0)
    if name == "inswapper":
        scale = size / 128.0
        shifted = ARCFACE_112.copy()
        shifted[:, 0] += 8.0
        return shifted * scale
    raise ValueError(f"Unknown alignment template {name!r}; known: {', '.join(TEMPLATE_NAMES)}")


def umeyama(
    source_points: npt.ArrayLike, destination_points: npt.ArrayLike
) -> tuple[float, npt.NDArray[np.float64], npt.NDArray[np.float64]]:
    """Least-squares similarity mapping N×D source points onto N×D destination points (Umeyama 1991), any D.

    Returns (scale, rotation D×D, translation D) with destination ≈ scale · rotation @ source + translation. The
    rotation is proper (determinant +1): a best fit that would need a mirror image gets the nearest rotation
    instead. Degenerate sources (all points equal) give scale 1. Pure function.
    """
    source = np.asarray(source_points, dtype=np.float64)
    destination = np.asarray(destination_points, dtype=np.float64)
    source_mean, destination_mean = source.mean(axis=0), destination.mean(axis=0)
    source_centred, destination_centred = source - source_mean, destination - destination_mean
    covariance = destination_centred.T @ source_centred / len(source)
    # OpenCV's SVD and determinant: a few times faster than numpy's LAPACK calls on 2×2 and 3×3 (this runs several
    # times a frame).
    singular_values, u, vt = cv2.SVDecomp(covariance)
    singular_values = singular_values.ravel()
    sign = np.ones(source.shape[1])
    if cv2.determinant(u) * cv2.determinant(vt) < 0:
        sign[-1] = -1.0  # a reflection is not a pose
    rotation = (u * sign) @ vt
    variance = float((source_centred**2).sum()) / len(source)
    scale = float((singular_values * sign).sum()) / variance if variance > 0 else 1.0
    translation = destination_mean - scale * rotation @ source_mean
    return scale, rotation, translation


def estimate_similarity(source_points: npt.ArrayLike, destination_points: npt.ArrayLike) -> Affine2x3:
    """Least-squares similarity (rotation, uniform scale, translation) mapping N×2 source onto destination, as a 2×3
    affine (see umeyama)."""
    scale, rotation, translation = umeyama(source_points, destination_points)
    return np.hstack([scale * rotation, translation[:, None]])


def invert_affine(matrix: Affine2x3) -> Affine2x3:
    return np.asarray(cv2.invertAffineTransform(matrix), dtype=np.float64)


def transform_points(matrix: Affine2x3, points: npt.ArrayLike) -> npt.NDArray[np.float64]:
    """Apply a 2×3 affine to N×2 points."""
    array = np.asarray(points, dtype=np.float64)[:, :2]
    return array @ matrix[:, :2].T + matrix[:, 2]


def estimate_crop_transform(keypoints_px: Points2D, template: str, size: int) -> Affine2x3:
    """crop_from_frame for a face: frame pixels → template crop pixels."""
    return estimate_similarity(keypoints_px, template_points(template, size))


def align_face(frame_bgr: BgrImage, keypoints_px: Points2D, template: str, size: int) -> AlignedFace:
    """Crop a face into a `size`×`size` template frame. Any thread; pure."""
    crop_from_frame = estimate_crop_transform(keypoints_px, template, size)
    crop = cv2.warpAffine(
        frame_bgr, crop_from_frame, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REPLICATE
    )
    return AlignedFace(
        crop_bgr=np.asarray(crop, dtype=np.uint8),
        crop_from_frame=crop_from_frame,
        frame_from_crop=invert_affine(crop_from_frame),
        size=size,
    )
