"""Morphs for the built-in engine: several target faces blended into one target face, and faces of no one.

The result is an ordinary TargetFace, so the engine needs no change: its mesh is the weighted mean of the faces'
meshes (each first brought into the first face's frame by a 3D similarity on points expression hardly moves), and
its photo is each face's photo warped onto that mean mesh (the engine's own piecewise-affine warp, with the mesh
taken exactly as given) and blended by weight. Shape and skin both move smoothly from one face to the other as the
weights change. A face of no one is such a morph of several consented faces with random, seeded weights.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.config import SwapConfig
from faceswap_live.engines.mesh_swapper import MeshFaceSwapper, fit_similarity_3d
from faceswap_live.errors import TargetFaceError
from faceswap_live.stages.align import keypoints_from_mesh, umeyama
from faceswap_live.stages.mesh_topology import IDENTITY_FIT_POINTS, MESH_POINT_COUNT
from faceswap_live.types import Box, FaceLandmarks, TargetFace

RANDOM_MORPH_FACES: Final = 5
"""Faces drawn into a face of no one (fewer if fewer are given)."""
RANDOM_MORPH_CONCENTRATION: Final = 8.0
"""Dirichlet concentration of the random weights: high enough that no one face dominates the mix."""


def morph_faces(faces: Sequence[TargetFace], weights: Sequence[float], name: str | None = None) -> TargetFace:
    """One target face blending `faces` by `weights` (any non-negative numbers, normalised here).

    Faces of weight 0 take no part; a single face left over is returned as it is (a morph of weights (1, 0) is
    exactly the first face). Raises TargetFaceError for mismatched or all-zero weights.
    """
    if len(faces) != len(weights) or not faces:
        raise TargetFaceError("A face mix needs one weight for each face.")
    if any(weight < 0 for weight in weights) or sum(weights) <= 0:
        raise TargetFaceError("Face mix weights must not be negative, and at least one must be above 0.")
    used = [(face, weight / sum(weights)) for face, weight in zip(faces, weights, strict=True) if weight > 0]
    if len(used) == 1:
        return used[0][0]
    reference = used[0][0]
    height, width = reference.image_bgr.shape[:2]
    reference_points = _mesh_3d(reference)
    aligned = [fit_similarity_3d(_mesh_3d(face), reference_points, IDENTITY_FIT_POINTS) for face, _ in used]
    mean_points = np.zeros_like(reference_points, dtype=np.float32)
    for (_, weight), points in zip(used, aligned, strict=True):
        mean_points += np.float32(weight) * points.astype(np.float32)
    mean_face = FaceLandmarks(
        points_px=mean_points, keypoints_px=keypoints_from_mesh(mean_points), box=Box.around(mean_points)
    )
    warp_settings = SwapConfig(mouth_from_user=False, colour_match=False)
    blended = np.zeros((height, width, 3), dtype=np.float32)
    for (face, weight), points in zip(used, aligned, strict=True):
        # Around the face (hair, neck), the photo moved by the similarity that fits its face to the mean; on the face,
        # the photo warped triangle by triangle onto the mean mesh.
        scale, rotation, translation = umeyama(_mesh_3d(face)[:, :2], points[:, :2])
        similarity = np.hstack([scale * rotation, translation[:, None]]).astype(np.float32)
        photo = np.asarray(
            cv2.warpAffine(face.image_bgr, similarity, (width, height), borderMode=cv2.BORDER_REFLECT), dtype=np.uint8
        )
        warper = MeshFaceSwapper(identity_weight=0.0, fade_start_deg=89.0, fade_end_deg=90.0, map_side_px=512)
        warper.set_target(face)
        warped = warper.swap_face(photo, mean_face, None, warp_settings)
        layer = photo.astype(np.float32)
        if warped is not None:
            region = warped.region
            coverage = warped.coverage[:, :, None]
            inside = layer[region.y0 : region.y1, region.x0 : region.x1]
            inside[:] = coverage * warped.face_bgr.astype(np.float32) + (1.0 - coverage) * inside
        blended += weight * layer
    label = name or " + ".join(f"{face.name} {weight:.0%}" for face, weight in used)
    image = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return TargetFace(image_bgr=image, landmarks=mean_face, name=label)


def face_of_no_one(faces: Sequence[TargetFace], seed: int) -> TargetFace:
    """A random morph (the same seed, the same face) of up to RANDOM_MORPH_FACES of `faces`, each consented.

    Needs at least two faces: a "mix" of one face is that face.
    """
    if len(faces) < 2:
        raise TargetFaceError("A face of no one is mixed from at least two consented faces; add more to the gallery.")
    generator = np.random.default_rng(seed)
    count = min(RANDOM_MORPH_FACES, len(faces))
    chosen = generator.choice(len(faces), size=count, replace=False)
    weights = generator.dirichlet(np.full(count, RANDOM_MORPH_CONCENTRATION))
    return morph_faces([faces[index] for index in chosen], weights.tolist(), name=f"face of no one #{seed}")


def _mesh_3d(face: TargetFace) -> npt.NDArray[np.float64]:
    points = np.asarray(face.landmarks.points_px, dtype=np.float64)
    if points.shape[0] < MESH_POINT_COUNT:
        raise TargetFaceError(f"The face {face.name!r} has no full face mesh.")
    if points.shape[1] < 3:
        points = np.hstack([points, np.zeros((points.shape[0], 1))])
    return points[:, :3]
