"""Morphs for the built-in engine: several target faces blended into one target face, and faces of no one.

The result is an ordinary TargetFace, so the engine needs no change: its mesh is the weighted mean of the faces'
meshes (each first brought into the first face's frame by a 3D similarity on points expression hardly moves), and
its photo is each face's photo warped onto that mean mesh (the engine's own piecewise-affine warp, with the mesh
taken exactly as given) and blended by weight. Shape and skin both move smoothly from one face to the other as the
weights change. A face of no one is a composite instead: eyes, nose, mouth and the rest from different consented
faces, drawn by a seed (the brows from yet another face when the gallery has enough faces without glasses), each
part warped onto one mesh made of the parts' own shapes and blended in with a feather; the outline's shape is a
seeded mix of every face's, and the result is pushed a little away from the gallery's mean face. Faces whose photo
shows glasses give no part while there are enough others: half-hidden frames would show through as ghosts, and dlib
took them for the wearer.

Each result also carries expression scores (MediaPipe's blendshapes, as a photo's own would be): a mix's are its
faces' weighted mean (the engine's expression model is linear in them), a face of no one's each part's donor's for
that part's keys (mouth and jaw from the mouth's face, eyes from the eyes', ...). Without them the engine could not
tell that a morph of smiling photos smiles: it drew it smiling on a user at rest.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.config import SwapConfig
from faceswap_live.engines.mesh_swapper import MESH_TRIANGLES, MeshFaceSwapper, fit_similarity_3d
from faceswap_live.engines.target_mask import wears_glasses
from faceswap_live.errors import TargetFaceError
from faceswap_live.stages.align import keypoints_from_mesh, umeyama
from faceswap_live.stages.mesh_topology import (
    FACE_OVAL,
    IDENTITY_FIT_POINTS,
    LEFT_EYE,
    LEFT_EYEBROW,
    MESH_POINT_COUNT,
    OUTER_LIP_LOWER,
    OUTER_LIP_UPPER,
    RIGHT_EYE,
    RIGHT_EYEBROW,
    ring_distance,
)
from faceswap_live.types import Box, FaceLandmarks, TargetFace

_NOSE: Final = (1, 2, 4, 5, 195, 197, 98, 327, 64, 294, 48, 278, 240, 460)  # nose bridge, tip and wings
_PART_SEEDS: Final[tuple[tuple[int, ...], ...]] = (
    RIGHT_EYE + LEFT_EYE + RIGHT_EYEBROW + LEFT_EYEBROW,
    _NOSE,
    OUTER_LIP_UPPER + OUTER_LIP_LOWER,
)
"""Mesh points of the parts a face of no one takes from different people: eyes and brows, nose, mouth."""
_MOUTH_KEYS: Final = ("mouth", "jaw", "cheek", "tongue")
_PART_KEYS: Final[tuple[tuple[str, ...], ...]] = (("eye", "brow"), ("noseSneer",), _MOUTH_KEYS)
"""Blendshape keys (name prefixes) each of _PART_SEEDS' parts brings from its face."""
_PART_SEEDS_BROWS_APART: Final[tuple[tuple[int, ...], ...]] = (
    RIGHT_EYE + LEFT_EYE,
    RIGHT_EYEBROW + LEFT_EYEBROW,
    *_PART_SEEDS[1:],
)
"""The same with the brows from another person than the eyes, when the gallery has faces enough without glasses
for every part (eyes from one person were what most often made dlib take a face of no one for that person)."""
_PART_KEYS_BROWS_APART: Final[tuple[tuple[str, ...], ...]] = (("eye",), ("brow",), *_PART_KEYS[1:])
SKIN_FACES: Final = 2
"""Faces mixed for the skin of a face of no one (cheeks, forehead, chin)."""
PART_CORE_HOPS: Final = 1.0
PART_FADE_HOPS: Final = 2.0
"""A part owns the mesh points up to PART_CORE_HOPS edges from its own points, fading out over PART_FADE_HOPS more."""
EYE_SHARE: Final = 0.6
"""How much of the eyes and brows is the eye donor's (the rest is the skin mix's eyes): whole eyes from one person
were the part that most often made dlib's recogniser take a face of no one for that person."""
FEATHER_SHARE: Final = 0.03
"""Blur of a part's edge, as a share of the face's width."""
BASE_SKIN_SHARE: Final = 0.33
"""The share of the skin face that also gives the hair in the cheeks and forehead (the other skin face has the rest):
hair and outline already make that face the one the result is most often taken for."""
CARICATURE: Final = 0.3
"""The finished face is pushed this far (1 = its own distance again) away from the mean of the gallery's faces on the
same mesh: what makes it differ from the average is strengthened, so it is less like the most average face. At 0.5
the skin turns harsh; 0.3 looks like a firmer photo."""
AVERAGE_FACES: Final = 8
"""Faces in that mean at most (each costs a warp); those that show glasses only when no others are left."""
OUTLINE_CONCENTRATION: Final = 3.0
"""The outline, cheeks and forehead take the shape of a mix of every face, weighted by a seeded draw from a symmetric
Dirichlet of this concentration: more faces than the two skin faces, so the jaw is no one's, yet each seed's own."""
LIGHT_SHARE: Final = 0.12
"""Eyes and nose take the light and skin tone of the face they join below this scale (a Gaussian's sigma, as a share
of the face's width): shading and tone from the face, detail from the part."""


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
        points_px=mean_points,
        keypoints_px=keypoints_from_mesh(mean_points),
        box=Box.around(mean_points),
        blendshapes=_mean_scores([(face.landmarks.blendshapes, weight) for face, weight in used]),
    )
    blended = np.zeros((height, width, 3), dtype=np.float32)
    for (face, weight), points in zip(used, aligned, strict=True):
        blended += weight * _photo_on_mesh(face, points, mean_face, (height, width))[0]
    label = name or " + ".join(f"{face.name} {weight:.0%}" for face, weight in used)
    image = np.clip(np.rint(blended), 0, 255).astype(np.uint8)
    return TargetFace(image_bgr=image, landmarks=mean_face, name=label)


def face_of_no_one(faces: Sequence[TargetFace], seed: int) -> TargetFace:
    """A face of no one (the same seed, the same face): its eyes and brows, nose and mouth each from a different one of
    `faces` (each consented), set into a mix of two others (the first also gives hair and background), on a mesh made
    of the same parts and, around them, of a seeded mix of every face's shape. With six or more faces without
    glasses, the brows come from another face than the eyes.

    A weighted average of whole faces drifts towards the most average of them and stays recognisable as that person;
    a face put together from five or six people's parts is none of them. Each part takes on the light and skin tone
    of the face it joins and its edges are feathered, so the result reads as one face; what sets it apart from the
    gallery's mean face is then strengthened a little (CARICATURE). Faces that show glasses come last in the seeded
    order, so they give a part only when there are too few faces without. With fewer faces than parts, faces repeat
    in different parts. Needs at least two faces.
    """
    if len(faces) < 2:
        raise TargetFaceError("A face of no one is mixed from at least two consented faces; add more to the gallery.")
    generator = np.random.default_rng([seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF])
    order = [int(index) for index in generator.permutation(len(faces))]
    outline_weights = generator.dirichlet(np.full(len(faces), OUTLINE_CONCENTRATION))
    glasses = [wears_glasses(face) for face in faces]
    ranked = [index for index in order if not glasses[index]] + [index for index in order if glasses[index]]
    parts, part_keys = _PART_SEEDS_BROWS_APART, _PART_KEYS_BROWS_APART
    if glasses.count(False) < SKIN_FACES + len(parts):
        parts, part_keys = _PART_SEEDS, _PART_KEYS
    picked = [faces[ranked[index % len(faces)]] for index in range(SKIN_FACES + len(parts))]
    outline = list(zip(faces, outline_weights, strict=True))
    average = [faces[index] for index in ranked if not glasses[index]][:AVERAGE_FACES] or list(faces[:AVERAGE_FACES])
    name = f"face of no one #{seed}"
    return _composite(picked[:SKIN_FACES], picked[SKIN_FACES:], parts, part_keys, outline, average, name=name)


def _composite(
    skin: Sequence[TargetFace],
    parts: Sequence[TargetFace],
    part_seeds: Sequence[tuple[int, ...]],
    part_keys: Sequence[tuple[str, ...]],
    outline: Sequence[tuple[TargetFace, float]],
    average: Sequence[TargetFace],
    name: str,
) -> TargetFace:
    """The eyes and brows, nose and mouth of `parts`, set into a mix of `skin`'s faces (cheeks, forehead); hair, neck
    and background are skin[0]'s alone. The mesh around the parts is `outline`'s faces mixed by weight. Last, the face
    is pushed away from the mean of `average`'s photos on the same mesh (CARICATURE). Its expression scores are
    the skin faces' mean, each part's face's for that part's keys (part_keys: name prefixes)."""
    base = skin[0]
    height, width = base.image_bgr.shape[:2]
    base_points = _mesh_3d(base)
    skin_points = [fit_similarity_3d(_mesh_3d(face), base_points, IDENTITY_FIT_POINTS) for face in skin]
    part_points = [fit_similarity_3d(_mesh_3d(face), base_points, IDENTITY_FIT_POINTS) for face in parts]
    point_weights = _part_point_weights(len(base_points), part_seeds)
    points = np.average(
        [fit_similarity_3d(_mesh_3d(face), base_points, IDENTITY_FIT_POINTS) for face, _ in outline],
        axis=0,
        weights=[weight for _, weight in outline],
    )
    for weights, own_points in zip(point_weights, part_points, strict=True):
        points += weights[:, None] * (own_points - points)
    points = points.astype(np.float32)
    scores = _mean_scores([(face.landmarks.blendshapes, 1.0) for face in skin])
    for keys, face in zip(part_keys, parts, strict=True):
        scores.update({key: value for key, value in face.landmarks.blendshapes.items() if key.startswith(keys)})
    mesh = FaceLandmarks(
        points_px=points, keypoints_px=keypoints_from_mesh(points), box=Box.around(points), blendshapes=scores
    )
    face_side = float(np.ptp(points[:, 0]))
    feather_px = FEATHER_SHARE * face_side
    result, _ = _photo_on_mesh(base, skin_points[0], mesh, (height, width))
    inner = np.ones(len(points))
    inner[:MESH_POINT_COUNT] = np.clip((ring_distance(FACE_OVAL, MESH_POINT_COUNT) - 1.0) / PART_FADE_HOPS, 0, 1)
    face_mask = _pixel_weights(points, inner, (height, width), feather_px)
    if len(skin) > 1:
        # The other skin faces' cheeks and forehead mixed in by BASE_SKIN_SHARE, except where their photo shows hair:
        # a fringe would come through as streaks.
        other_weight = (1.0 - BASE_SKIN_SHARE) / BASE_SKIN_SHARE / (len(skin) - 1)
        mix, total = result.copy(), np.ones((height, width), dtype=np.float32)
        for face, own_points in zip(skin[1:], skin_points[1:], strict=True):
            layer, skin_share = _photo_on_mesh(face, own_points, mesh, (height, width))
            layer = _matched_colour(layer, result, (face_mask > 0.5) & (skin_share > 0.5))
            mix += other_weight * skin_share[:, :, None] * layer
            total += other_weight * skin_share
        result += face_mask[:, :, None] * (mix / total[:, :, None] - result)
    for part, (weights, face, own_points) in enumerate(zip(point_weights, parts, part_points, strict=True)):
        layer, skin_share = _photo_on_mesh(face, own_points, mesh, (height, width))
        mask = _pixel_weights(points, weights, (height, width), feather_px) * skin_share
        if part < len(parts) - 1:  # eyes, brows, nose: the face's light and tone, the part's detail
            sigma = LIGHT_SHARE * face_side
            layer += cv2.GaussianBlur(result, (0, 0), sigma) - cv2.GaussianBlur(layer, (0, 0), sigma)
        else:  # the mouth: teeth and lipstick differ too much for that; the skin around it sets its tone
            layer = _matched_colour(layer, result, (mask > 0.1) & (mask < 0.9))
        result += mask[:, :, None] * (layer - result)
    mean, coverage = _average_photo(average, base_points, mesh, result, face_mask)
    result += CARICATURE * (face_mask * coverage)[:, :, None] * (result - mean)
    image = np.clip(np.rint(result), 0, 255).astype(np.uint8)
    return TargetFace(image_bgr=image, landmarks=mesh, name=name)


def _mean_scores(scored: Sequence[tuple[dict[str, float], float]]) -> dict[str, float]:
    """Each blendshape key's weighted mean over the faces whose scores have it (empty when none has scores)."""
    totals: dict[str, float] = {}
    weights: dict[str, float] = {}
    for scores, weight in scored:
        for key, value in scores.items():
            totals[key] = totals.get(key, 0.0) + weight * value
            weights[key] = weights.get(key, 0.0) + weight
    return {key: total / weights[key] for key, total in totals.items() if weights[key] > 0}


def _average_photo(
    faces: Sequence[TargetFace],
    base_points: npt.NDArray[np.float64],
    mesh: FaceLandmarks,
    result: npt.NDArray[np.float32],
    face_mask: npt.NDArray[np.float32],
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """The mean of `faces`' photos warped onto `mesh`, each in `result`'s skin tone, and the share of them that shows
    skin at each pixel (not hair or a hand over the face)."""
    height, width = result.shape[:2]
    total = np.zeros((height, width), dtype=np.float32)
    mean = np.zeros_like(result)
    for face in faces:
        own_points = fit_similarity_3d(_mesh_3d(face), base_points, IDENTITY_FIT_POINTS)
        layer, skin_share = _photo_on_mesh(face, own_points, mesh, (height, width))
        mean += skin_share[:, :, None] * _matched_colour(layer, result, (face_mask > 0.5) & (skin_share > 0.5))
        total += skin_share
    mean /= np.maximum(total, 1e-3)[:, :, None]
    return mean, np.clip(total / max(1, len(faces)), 0.0, 1.0)


def _part_point_weights(point_count: int, part_seeds: Sequence[tuple[int, ...]]) -> list[npt.NDArray[np.float64]]:
    """Per mesh point, how much each part (eyes and brows or eyes, brows; nose, mouth: part_seeds) owns it: 1 within
    PART_CORE_HOPS edges of the part's points, fading to 0 over PART_FADE_HOPS more, so the mesh bends smoothly
    between parts. The iris points after the 468 mesh points belong to the eyes."""
    weights = []
    for part, seeds in enumerate(part_seeds):
        hops = ring_distance(seeds, MESH_POINT_COUNT).astype(np.float64)
        weight = np.full(point_count, 1.0 if part == 0 else 0.0)
        weight[:MESH_POINT_COUNT] = np.clip(1.0 - (hops - PART_CORE_HOPS) / PART_FADE_HOPS, 0.0, 1.0)
        weights.append(weight)
    total = np.maximum(1.0, np.sum(weights, axis=0))
    weights = [weight / total for weight in weights]
    for part in range(len(part_seeds) - 2):  # eyes (and brows): EYE_SHARE; nose and mouth whole
        weights[part] *= EYE_SHARE
    return weights


def _pixel_weights(
    points: npt.NDArray[np.float32], weights: npt.NDArray[np.float64], size: tuple[int, int], feather_px: float
) -> npt.NDArray[np.float32]:
    """A per-point weight painted onto the image: each mesh triangle filled with its corners' mean, then blurred."""
    mask = np.zeros(size, dtype=np.float32)
    corners = np.rint(points[:, :2]).astype(np.int32)
    for triangle in MESH_TRIANGLES:
        value = float(weights[triangle].mean())
        if value > 0:
            cv2.fillConvexPoly(mask, corners[triangle], value)
    sigma = max(1.0, feather_px)
    return np.asarray(cv2.GaussianBlur(mask, (0, 0), sigma), dtype=np.float32)


def _matched_colour(
    layer: npt.NDArray[np.float32], reference: npt.NDArray[np.float32], where: npt.NDArray[np.bool_]
) -> npt.NDArray[np.float32]:
    """`layer` shifted so that its mean colour `where` is `reference`'s there: a part from another person takes on
    the skin tone and light of the face it joins."""
    if where.sum() < 16:
        return layer
    return np.asarray(layer + (reference[where].mean(axis=0) - layer[where].mean(axis=0)), dtype=np.float32)


def _photo_on_mesh(
    face: TargetFace, points: npt.NDArray[np.float64], mesh: FaceLandmarks, size: tuple[int, int]
) -> tuple[npt.NDArray[np.float32], npt.NDArray[np.float32]]:
    """`face`'s photo (float32, `size`) with its face warped triangle by triangle onto `mesh` (`points`: the face's
    own mesh brought into the mesh's frame); around the face (hair, neck), moved by the similarity that fits it.
    Also returns where the warped pixels are the face's skin, not hair or a hand over it (0-1, `size`)."""
    height, width = size
    scale, rotation, translation = umeyama(_mesh_3d(face)[:, :2], points[:, :2])
    similarity = np.hstack([scale * rotation, translation[:, None]]).astype(np.float32)
    photo = np.asarray(
        cv2.warpAffine(face.image_bgr, similarity, (width, height), borderMode=cv2.BORDER_REFLECT), dtype=np.uint8
    )
    # The photo as taken: with its smile folds smoothed (as the engine draws a single smiling target), a face of no
    # one was more often taken for one of its sources (fitting pool, seeds 1-60: 58 of 60 at least 0.6 from every
    # source, 53 with the folds smoothed). Its teeth too: the morph is a photo, and the engine that draws it later
    # fills its mouth where the user's own shows through.
    warper = MeshFaceSwapper(
        identity_weight=0.0,
        fade_start_deg=89.0,
        fade_end_deg=90.0,
        map_side_px=512,
        smooth_smile_folds=False,
        fill_mouth=False,
    )
    warper.set_target(face)
    # Eyes "from the user" here: the donor's eyes as photographed, neither turned to a gaze nor redrawn wide.
    settings = SwapConfig(mouth_from_user=False, colour_match=False, eyes_from_user=True)
    warped = warper.swap_face(photo, mesh, None, settings)
    layer = photo.astype(np.float32)
    face_share = np.zeros((height, width), dtype=np.float32)
    if warped is not None:
        region = warped.region
        face_share[region.y0 : region.y1, region.x0 : region.x1] = warped.coverage
        coverage = warped.coverage[:, :, None]
        inside = layer[region.y0 : region.y1, region.x0 : region.x1]
        inside[:] = coverage * warped.face_bgr.astype(np.float32) + (1.0 - coverage) * inside
    return layer, face_share


def _mesh_3d(face: TargetFace) -> npt.NDArray[np.float64]:
    points = np.asarray(face.landmarks.points_px, dtype=np.float64)
    if points.shape[0] < MESH_POINT_COUNT:
        raise TargetFaceError(f"The face {face.name!r} has no full face mesh.")
    if points.shape[1] < 3:
        points = np.hstack([points, np.zeros((points.shape[0], 1))])
    return points[:, :3]
