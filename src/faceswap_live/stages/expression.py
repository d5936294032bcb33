"""Expression transfer for the mesh engine: the target's face shape wearing the user's expression.

A face mesh mixes two things: identity (the shape of this person's face at rest) and expression (what the face
muscles do now: a smile, a pout, raised brows). Warping the target photo onto a mesh that carries the PHOTO's
expression makes a smiling photo smile forever; this module separates the two so that the engine draws the target's
identity with the user's expression.

The model is linear, in a canonical head frame:
- canonical frame: a mesh is mapped by the 3D similarity (rotation, uniform scale, shift) that best fits its
  expression-stable points (eye corners, nose, forehead, temples; IDENTITY_FIT_POINTS) onto a reference head; so
  head pose and distance to the camera are gone and what is left is shape;
- expression basis: one 468×3 offset per MediaPipe face blendshape (mouthSmileLeft, mouthPucker, browInnerUp, ...),
  so that canonical mesh ≈ neutral face of that person + Σ score_k · offset_k. The offsets are fitted by ridge least
  squares on talking clips (scripts/fit_expression_basis.py; the per-clip mean removes each person's identity;
  brow and eye keys move only the upper face, mouth and jaw keys only the lower face) and ship as
  expression_basis.npz. MediaPipe's blendshape scores, less their typical reading at rest, are the expression
  coordinates; keys that read high on many faces at rest (IDENTITY_PRONE_KEYS) are left out of the subtraction, and
  a mesh without scores falls back to a ridge projection onto the basis;
- target: its neutral face = its canonical mesh minus its own expression (Σ score_k · offset_k of the photo), so a
  smiling photo becomes a neutral face;
- user: a running estimate of the user's neutral face (the same subtraction, averaged over time per tracked face,
  so noise in the scores averages out) and the user's expression = the user's canonical mesh minus that neutral:
  everything the user's face does away from rest, including what the basis does not model;
- drawn mesh = the target's neutral face + the user's expression, mapped back by the user's own head pose;
- pout: the user's mouth width over that of the neutral face wearing every expression but a pout (POUT_KEYS;
  pout_width_ratio), which the engine amplifies on the drawn lips (mesh_swapper.narrow_pout).
Cost: two small similarity fits and two 51×1404 products per face per frame (~0.13 ms).
"""

from __future__ import annotations

import functools
import math
from dataclasses import dataclass
from pathlib import Path
from typing import Final, TypeVar

import numpy as np
import numpy.typing as npt

from faceswap_live.stages.align import umeyama
from faceswap_live.stages.mesh_topology import (
    IDENTITY_FIT_POINTS,
    LANDMARK_COUNT,
    LEFT_EYE_CORNERS,
    LEFT_IRIS_CENTRE,
    MOUTH_CORNERS,
    RIGHT_EYE_CORNERS,
    RIGHT_IRIS_CENTRE,
)

BASIS_PATH: Final = Path(__file__).with_name("expression_basis.npz")
NEUTRAL_FOLLOW_RATE: Final = 0.03
"""Share of each frame's neutral-face estimate taken into the user's running neutral face (a time constant of about
30 frames: a second at webcam rates); high enough to settle quickly, low enough to average out landmark noise."""
FALLBACK_RIDGE: Final = 0.5
"""Ridge weight of the projection that reads expression scores from a mesh alone (no blendshape scores given), in
units of the basis's mean squared offset norm: keeps the projection from explaining face shape as expression."""
MAX_TRACKED_FACES: Final = 16
IDENTITY_PRONE_KEYS: Final = ("eyeSquint", "eyeLook", "cheekSquint")
"""Blendshapes (name prefixes) that MediaPipe reads well above 0 on many faces at rest (eyeSquint 0.4 on average
over neutral portraits: narrow eyes) or that are gaze, not shape: subtracting them would take part of the target's
identity out with its "expression" and hand the user's in (on the evaluation clips, leaving them out raised the
share of frames judged nearer the target). Their motion still reaches the drawn face through the user's running
neutral face (everything the user's mesh does away from it is drawn)."""
POUT_KEYS: Final = ("mouthPucker", "mouthFunnel")
"""The keys whose narrowing of the mouth is a pout; the mouth's width is compared with the width that every other
key (an open jaw draws the corners in, a smile pulls them out) gives the user's neutral face (pout_width_ratio)."""


FloatArray = npt.NDArray[np.float64]


@dataclass(frozen=True, slots=True)
class HeadPose:
    """The similarity that maps a mesh into the canonical frame: canonical = scale · points @ rotation.T + shift."""

    scale: float
    rotation: FloatArray  # 3×3
    shift: FloatArray  # 3

    def to_canonical(self, points: FloatArray) -> FloatArray:
        return np.asarray(self.scale * points @ self.rotation.T + self.shift, dtype=np.float64)

    def from_canonical(self, canonical: FloatArray) -> FloatArray:
        return np.asarray(((canonical - self.shift) @ self.rotation) / self.scale, dtype=np.float64)


@dataclass(frozen=True)
class ExpressionBasis:
    """keys: K blendshape names; reference: 468×3 canonical mean neutral head; offsets: K×468×3 (per unit score);
    rest: K scores MediaPipe typically reads on a face at rest (subtracted before use)."""

    keys: tuple[str, ...]
    reference: FloatArray
    offsets: FloatArray
    rest: FloatArray

    @staticmethod
    @functools.cache
    def load(path: Path = BASIS_PATH) -> ExpressionBasis:
        """The shipped basis (cached: one copy per process, read-only)."""
        with np.load(path) as data:
            keys = tuple(str(key) for key in data["keys"])
            reference = np.asarray(data["reference"], np.float64)
            offsets = np.asarray(data["offsets"], np.float64)
            rest = np.asarray(data["rest"], np.float64)
        for array in (reference, offsets, rest):
            array.flags.writeable = False
        return ExpressionBasis(keys, reference, offsets, rest)

    def pose_of(self, points: FloatArray) -> HeadPose:
        """The head pose of a 468×3 mesh (frame pixels) relative to the reference head."""
        indices = list(IDENTITY_FIT_POINTS)
        scale, rotation, shift = umeyama(points[indices], self.reference[indices])
        return HeadPose(float(scale), np.asarray(rotation, np.float64), np.asarray(shift, np.float64))

    def scores(self, blendshapes: dict[str, float], canonical: FloatArray) -> FloatArray:
        """K expression scores: MediaPipe's blendshape scores when given, else a ridge projection of the mesh."""
        if blendshapes and all(key in blendshapes for key in self.keys):
            scores = np.clip(np.array([blendshapes[key] for key in self.keys], np.float64) - self.rest, 0.0, 1.0)
        else:
            scores = self.project(canonical)
        return scores * self.used

    @functools.cached_property
    def used(self) -> FloatArray:
        """K: 1 for the keys whose offsets are applied, 0 for IDENTITY_PRONE_KEYS."""
        return np.array([0.0 if key.startswith(IDENTITY_PRONE_KEYS) else 1.0 for key in self.keys])

    def project(self, canonical: FloatArray) -> FloatArray:
        """K scores (clipped to 0..1, as blendshapes are) that best explain canonical − reference (ridge)."""
        flat = self.offsets.reshape(len(self.keys), -1)
        gram = flat @ flat.T
        ridge = FALLBACK_RIDGE * float(np.trace(gram)) / len(self.keys)
        solution = np.linalg.solve(gram + ridge * np.eye(len(self.keys)), flat @ (canonical - self.reference).ravel())
        return np.clip(solution, 0.0, 1.0)

    def expression(self, scores: FloatArray) -> FloatArray:
        """468×3 canonical offset of an expression with these scores."""
        return np.asarray(np.tensordot(scores, self.offsets, axes=1), dtype=np.float64)


TrackValue = TypeVar("TrackValue", float, FloatArray)


def follow_per_track(means: dict[int, TrackValue], track_id: int, value: TrackValue, rate: float) -> TrackValue:
    """Update and return track_id's running mean in `means` (its first value as it is; rate: the share of each new
    value taken in). At most MAX_TRACKED_FACES tracks are kept: past that the means start over."""
    mean = means.get(track_id)
    if mean is None:
        if len(means) >= MAX_TRACKED_FACES:
            means.clear()
        mean = value
    else:
        mean = mean + rate * (value - mean)
    means[track_id] = mean
    return mean


class ExpressionTransfer:
    """The target's neutral face and each tracked user's running neutral face (see the module docstring).

    Processing thread only. set_target once per target; destination per face per frame.
    """

    def __init__(self, basis: ExpressionBasis | None = None, strength: float = 1.0) -> None:
        self.basis = basis if basis is not None else ExpressionBasis.load()
        self.strength = strength
        self._target_neutral: FloatArray | None = None
        self.target_scores: dict[str, float] = {}
        self._user_neutral: dict[int, FloatArray] = {}
        self._not_pout = np.array([0.0 if key in POUT_KEYS else 1.0 for key in self.basis.keys])
        self._corner_offsets = self.basis.offsets[:, list(MOUTH_CORNERS)]
        self.pout_width_ratio = 1.0
        """The last neutral_and_expression's user: mouth width over the width of the running neutral face wearing
        every expression but a pout (< 1: the mouth is narrowed by a pout)."""

    def set_target(self, points: FloatArray, blendshapes: dict[str, float]) -> None:
        """points: the target's 468×3 mesh in photo pixels; blendshapes: its MediaPipe scores (may be empty)."""
        canonical = self.basis.pose_of(points).to_canonical(points)
        scores = self.basis.scores(blendshapes, canonical)
        self.target_scores = dict(zip(self.basis.keys, (float(score) for score in scores), strict=True))
        self._target_neutral = canonical - self.strength * self.basis.expression(scores)
        self._user_neutral.clear()

    def target_neutral(self, points: FloatArray) -> FloatArray:
        """The target's neutral face in the head pose of a 468×3 mesh (frame pixels): 468×3."""
        if self._target_neutral is None:
            raise RuntimeError("set_target first")
        return self.basis.pose_of(points).from_canonical(self._target_neutral)

    def neutral_and_expression(
        self, points: FloatArray, blendshapes: dict[str, float], track_id: int = 0
    ) -> tuple[FloatArray, FloatArray]:
        """(the target's neutral face in this user's head pose, the user's expression as a displacement of each
        point), both 468×3 frame pixels: their sum is the target's face wearing the user's expression.

        Updates the running neutral face of track_id (call once per face per frame).
        """
        if self._target_neutral is None:
            raise RuntimeError("set_target first")
        pose = self.basis.pose_of(points)
        canonical = pose.to_canonical(points)
        scores = self.basis.scores(blendshapes, canonical)
        neutral_now = canonical - self.basis.expression(scores)
        neutral = follow_per_track(self._user_neutral, track_id, neutral_now, NEUTRAL_FOLLOW_RATE)
        corners = list(MOUTH_CORNERS)
        # Only the mouth corners of the neutral face wearing every expression but a pout are needed.
        corners_without_pout = neutral[corners] + np.tensordot(scores * self._not_pout, self._corner_offsets, axes=1)
        width = float(np.linalg.norm(np.diff(canonical[corners, :2], axis=0)))
        self.pout_width_ratio = width / max(float(np.linalg.norm(np.diff(corners_without_pout[:, :2], axis=0))), 1e-9)
        expression = ((canonical - neutral) @ pose.rotation) / pose.scale
        return pose.from_canonical(self._target_neutral), np.asarray(expression, np.float64)


PHOTO_NOTE_THRESHOLD: Final = 0.5
"""Blendshape score from which a target photo's expression is worth a note to the user (about half of a full
smile, closed eyes or open mouth; MediaPipe reads neutral photos at 0-0.3 on these keys)."""
_PHOTO_NOTES: Final = (
    (("mouthSmileLeft", "mouthSmileRight"), "smiles"),
    (("mouthFrownLeft", "mouthFrownRight"), "frowns"),
    (("eyeBlinkLeft", "eyeBlinkRight"), "has closed eyes"),
    (("jawOpen",), "has a wide-open mouth"),
)
TURNED_PHOTO_DEG: Final = 15.0
"""A target photo turned this far (photo_yaw_deg, either way) or more is worth a note: its far cheek is squeezed, and
where the drawn face stretches it across, the built-in engine shows the user's own cheek (rim_stretch_fade). Over the
shared portraits the visibly turned ones read 15-25 degrees, the others 11 or less."""


def photo_yaw_deg(points: npt.NDArray[np.floating]) -> float:
    """How far a face is turned about the vertical axis, in degrees (0 facing the camera; the sign says which way),
    from the rigid fit of its 468×3 mesh onto the expression basis's reference head."""
    rotation = ExpressionBasis.load().pose_of(np.asarray(points, np.float64)).rotation
    return math.degrees(math.atan2(rotation[0, 2], rotation[0, 0]))


def photo_note(
    blendshapes: dict[str, float], points: npt.NDArray[np.floating] | None = None, glasses: bool = False
) -> str:
    """A note for the user when what a target photo shows will still show in the swap ("" when none).

    The engine takes the photo's expression out of the face's shape, but not out of its texture: smile lines,
    closed lids or a stretched mouth stay painted on. Pairs of keys (left, right) count by their mean. points: the
    photo's face mesh (468×3 or more), for a photo turned to one side (TURNED_PHOTO_DEG). glasses: whether the photo
    shows glasses (engines/target_mask.wears_glasses): their frames are drawn bent to the user's face shape, broken
    where the lids and brows move.
    """
    shown = [
        description
        for keys, description in _PHOTO_NOTES
        if all(key in blendshapes for key in keys)
        and sum(blendshapes[key] for key in keys) / len(keys) >= PHOTO_NOTE_THRESHOLD
    ]
    turned = points is not None and abs(photo_yaw_deg(points)) >= TURNED_PHOTO_DEG
    if not shown and not turned and not glasses:
        return ""
    wanted = "a neutral photo (eyes open, mouth closed)" if shown else "a photo"
    if turned:
        shown.append("is turned to one side")
        wanted += " facing the camera"
    if glasses:
        shown.append("shows glasses")
        wanted += " without glasses"
    listed = shown[0] if len(shown) == 1 else f"{', '.join(shown[:-1])} and {shown[-1]}"
    return f"this photo {listed}: {wanted} gives the best result"


def iris_offsets(points_px: npt.NDArray[np.floating]) -> FloatArray | None:
    """Where each iris sits in its eye: 2×2 (right eye, left eye) × (along, across), the iris centre's offset from
    the middle of the eye's corners in eye widths, along the corner line (+ towards the image's right) and across it
    (+ down). None for a mesh without iris points (fewer than 478)."""
    if points_px.shape[0] < LANDMARK_COUNT:
        return None
    points = np.asarray(points_px[:, :2], np.float64)
    first = points[[RIGHT_EYE_CORNERS[0], LEFT_EYE_CORNERS[0]]]
    second = points[[RIGHT_EYE_CORNERS[1], LEFT_EYE_CORNERS[1]]]
    axis = second - first
    width_sq = np.maximum((axis * axis).sum(axis=1), 1e-18)
    offset = points[[RIGHT_IRIS_CENTRE, LEFT_IRIS_CENTRE]] - (first + second) / 2.0
    along = (offset * axis).sum(axis=1) / width_sq
    across = (offset[:, 1] * axis[:, 0] - offset[:, 0] * axis[:, 1]) / width_sq
    return np.stack([along, across], axis=1)
