"""Identity embeddings for the neural swap engine: ArcFace on the target photo, averaging, mixing, random identities.

An identity is a float32 vector of 512 values with unit length (the ArcFace embedding space the swap model was trained
on). Mixing happens between unit vectors and the result is normalised again, so any mix is a valid model input.
"""

from __future__ import annotations

import hashlib
import logging
from collections import OrderedDict
from collections.abc import Sequence
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.config import ProviderPreference
from faceswap_live.errors import ModelError, TargetFaceError
from faceswap_live.inference import OnnxSession, create_session
from faceswap_live.stages.align import align_face
from faceswap_live.types import TargetFace

logger = logging.getLogger(__name__)

EMBEDDING_SIZE: Final = 512
ARCFACE_SIZE_PX: Final = 112
_CACHE_ENTRIES: Final = 64

Embedding = npt.NDArray[np.float32]
"""(512,) float32, unit length."""


def normalize_embedding(vector: npt.ArrayLike) -> Embedding:
    """`vector` scaled to unit length, as float32 (any shape with 512 values is flattened).

    Raises ValueError for a zero or non-finite vector (it has no direction).
    """
    array = np.asarray(vector, dtype=np.float64).reshape(-1)
    norm = float(np.linalg.norm(array))
    if not np.isfinite(norm) or norm == 0.0:
        raise ValueError("An identity vector of length zero (or with NaN) has no direction.")
    return (array / norm).astype(np.float32)


def average_identities(embeddings: Sequence[npt.ArrayLike]) -> Embedding:
    """One identity from several photos of the same person: the normalised mean of their normalised embeddings."""
    if not embeddings:
        raise ValueError("Averaging needs at least one embedding.")
    return normalize_embedding(np.mean([normalize_embedding(embedding) for embedding in embeddings], axis=0))


def mix_identities(weighted: Sequence[tuple[npt.ArrayLike, float]]) -> Embedding:
    """Blend identities: normalise each, take the weighted sum, normalise again. Weights need not sum to 1.

    Raises ValueError when there is nothing to mix, a weight is negative, or the mix cancels out to nothing.
    """
    if not weighted:
        raise ValueError("Mixing needs at least one identity.")
    if any(weight < 0 for _, weight in weighted):
        raise ValueError("Identity weights must not be negative.")
    total = np.zeros(EMBEDDING_SIZE, dtype=np.float64)
    for embedding, weight in weighted:
        total += float(weight) * normalize_embedding(embedding).astype(np.float64)
    try:
        return normalize_embedding(total)
    except ValueError:
        raise ValueError("These identities and weights cancel out; change a weight.") from None


def random_identity(seed: int) -> Embedding:
    """A made-up identity: a normally distributed 512-d direction, the same for the same seed.

    It is not any real person's embedding (it is drawn at random, not computed from a face), so the swap model renders
    a face that belongs to no one; like any point of the embedding space it may look more or less natural.
    """
    generator = np.random.default_rng(np.random.SeedSequence([0x1D, seed & 0xFFFFFFFF, seed >> 32 & 0xFFFFFFFF]))
    return normalize_embedding(generator.standard_normal(EMBEDDING_SIZE))


def target_cache_key(target: TargetFace) -> str:
    """SHA-256 over the target photo's pixels, shape and keypoints: equal keys mean equal embeddings."""
    digest = hashlib.sha256()
    digest.update(np.asarray(target.image_bgr.shape, dtype=np.int64).tobytes())
    digest.update(np.ascontiguousarray(target.image_bgr).tobytes())
    digest.update(np.ascontiguousarray(target.landmarks.keypoints_px, dtype=np.float32).tobytes())
    return digest.hexdigest()


def arcface_input(target: TargetFace) -> npt.NDArray[np.float32]:
    """The recogniser's input for a target face: [1,3,112,112] float32, RGB, (x − 127.5) / 127.5, ArcFace template."""
    aligned = align_face(target.image_bgr, target.landmarks.keypoints_px, "arcface", ARCFACE_SIZE_PX)
    rgb = cv2.cvtColor(aligned.crop_bgr, cv2.COLOR_BGR2RGB).astype(np.float32)
    return np.ascontiguousarray(((rgb - 127.5) / 127.5).transpose(2, 0, 1)[None])


class IdentityEncoder:
    """ArcFace embeddings of target faces, computed once per photo and cached (by target_cache_key).

    Use from one thread at a time (the processing thread, in set_target).
    """

    def __init__(self, session: OnnxSession) -> None:
        """Raises ModelError when the recogniser does not take [N,3,112,112] and give [N,512]."""
        self._session = session
        inputs, outputs = session.inputs, session.outputs
        if (
            len(inputs) != 1
            or not inputs[0].matches((1, 3, ARCFACE_SIZE_PX, ARCFACE_SIZE_PX), (np.float32,))
            or not outputs
            or not outputs[0].matches((1, EMBEDDING_SIZE), (np.float32,))
        ):
            found = ", ".join(spec.describe() for spec in inputs) + " → " + ", ".join(s.describe() for s in outputs)
            raise ModelError(
                f"{session.path.name} is not an ArcFace recogniser: it should take float32[N,3,112,112] and give "
                f"float32[N,512], but it has {found}."
            )
        self._input_name = inputs[0].name
        self._cache: OrderedDict[str, Embedding] = OrderedDict()

    @classmethod
    def from_path(cls, recogniser_path: Path, provider: ProviderPreference = "auto") -> IdentityEncoder:
        """Load the recogniser model. Raises ModelError (missing, unreadable, wrong inputs/outputs)."""
        return cls(create_session(recogniser_path, provider, purpose="face recogniser", warn_on_cpu=False))

    @property
    def session(self) -> OnnxSession:
        return self._session

    def embed(self, target: TargetFace) -> Embedding:
        """The unit-length identity of one target photo (cached). Raises TargetFaceError when no identity results."""
        key = target_cache_key(target)
        cached = self._cache.get(key)
        if cached is not None:
            self._cache.move_to_end(key)
            return cached
        output = self._session.run({self._input_name: arcface_input(target)})[0]
        try:
            embedding = normalize_embedding(output[0])
        except ValueError:
            raise TargetFaceError(f"No identity could be computed from {target.name}; try a clearer photo.") from None
        self._cache[key] = embedding
        if len(self._cache) > _CACHE_ENTRIES:
            self._cache.popitem(last=False)
        return embedding

    def embed_person(self, photos: Sequence[TargetFace]) -> Embedding:
        """One identity from several photos of the same person (average of their identities)."""
        if not photos:
            raise TargetFaceError("No photos were given for this identity.")
        return average_identities([self.embed(photo) for photo in photos])

    @property
    def cached_count(self) -> int:
        return len(self._cache)

    def close(self) -> None:
        self._session.close()
        self._cache.clear()
