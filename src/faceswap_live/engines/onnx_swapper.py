"""The neural swap engine: an inswapper-format encoder-decoder ONNX model fed with an ArcFace identity.

Model contract (InsightFace inswapper_128 and files of the same format):
- input `target`: float32 [1,3,128,128], the user's face aligned to the ArcFace template shifted +8 px in x for 128 px,
  RGB, values 0–1;
- input `source`: float32 [1,512], the latent: normalize(normalize(embedding) @ emap), where `emap` (512×512) is the
  graph's last initializer;
- output: float32 [1,3,128,128], the swapped face in the same crop, RGB, values 0–1.

The engine renders the output back into the frame itself (inverse warp into the face's region only, with a coverage
mask); the shared blend stage then applies the face mask, colour match and compositing.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import cv2
import numpy as np
import numpy.typing as npt

from faceswap_live.config import ProviderPreference, SwapConfig, cache_dir
from faceswap_live.engines.base import AlignmentSpec, SwapEngine
from faceswap_live.errors import ModelError, TargetFaceError
from faceswap_live.inference import OnnxSession, create_session, read_last_initializer
from faceswap_live.stages.align import align_face
from faceswap_live.stages.identity import (
    EMBEDDING_SIZE,
    Embedding,
    IdentityEncoder,
    mix_identities,
    normalize_embedding,
    random_identity,
)
from faceswap_live.types import AlignedFace, BgrImage, Box, FaceLandmarks, Mask, SwappedFace, TargetFace

logger = logging.getLogger(__name__)

CROP_SIZE_PX: Final = 128
TARGET_INPUT: Final = "target"
SOURCE_INPUT: Final = "source"


FP16_MEAN_DIFFERENCE_LIMIT: Final = 0.01
"""Largest mean |fp16 − fp32| output difference (0–1 pixel units, ≈ 2.5/255) for an fp16 model to be trusted."""
FP16_MAX_DIFFERENCE_LIMIT: Final = 0.25
_COVERAGE_BORDER_PX: Final = 2
"""The model's output is least reliable at the crop border (padding effects): coverage fades out there."""


def compute_latent(embedding: npt.ArrayLike, emap: npt.NDArray[np.floating]) -> npt.NDArray[np.float32]:
    """The swap model's `source` input: normalize(normalize(embedding) @ emap), shape [1,512] float32."""
    latent = normalize_embedding(embedding).astype(np.float64) @ np.asarray(emap, dtype=np.float64)
    return normalize_embedding(latent)[None, :]


def check_swap_model(session: OnnxSession) -> None:
    """Refuse a model that does not have the inswapper inputs and output. Raises ModelError naming what differs."""
    inputs = {spec.name: spec for spec in session.inputs}
    expected = (
        f"inputs {TARGET_INPUT} float32[1,3,128,128] and {SOURCE_INPUT} float32[1,512], output float32[1,3,128,128]"
    )
    found = (
        "inputs "
        + ", ".join(spec.describe() for spec in session.inputs)
        + "; outputs "
        + ", ".join(spec.describe() for spec in session.outputs)
    )
    target, source = inputs.get(TARGET_INPUT), inputs.get(SOURCE_INPUT)
    good = (
        len(inputs) == 2
        and target is not None
        and target.matches((1, 3, CROP_SIZE_PX, CROP_SIZE_PX))
        and source is not None
        and source.matches((1, EMBEDDING_SIZE))
        and len(session.outputs) >= 1
        and session.outputs[0].matches((1, 3, CROP_SIZE_PX, CROP_SIZE_PX))
    )
    if not good:
        raise ModelError(
            f"{session.path.name} is not an inswapper-format model: it should have {expected}, but it has {found}."
        )


def read_emap(model_path: Path) -> npt.NDArray[np.float32]:
    """The 512×512 `emap` matrix (the graph's last initializer). Raises ModelError when it is not 512×512."""
    name, array = read_last_initializer(model_path)
    if array.shape != (EMBEDDING_SIZE, EMBEDDING_SIZE):
        raise ModelError(
            f"{model_path.name} is not an inswapper-format model: its last weight ({name}) should be the 512×512 "
            f"identity map but has shape {list(array.shape)}."
        )
    return np.asarray(array, dtype=np.float32)


def compare_fp16_output(
    output_fp32: npt.NDArray[np.floating], output_fp16: npt.NDArray[np.floating]
) -> tuple[bool, str]:
    """Whether an fp16 model's output agrees with fp32's on the same input (0–1 images), and a sentence saying so."""
    difference = np.abs(np.asarray(output_fp16, np.float64) - np.asarray(output_fp32, np.float64))
    if not np.all(np.isfinite(difference)):
        return False, "its output contains NaN or infinite values"
    mean, largest = float(difference.mean()), float(difference.max())
    if mean > FP16_MEAN_DIFFERENCE_LIMIT or largest > FP16_MAX_DIFFERENCE_LIMIT:
        return False, (
            f"its output differs from float32 by {mean:.4f} on average and {largest:.3f} at most "
            f"(limits {FP16_MEAN_DIFFERENCE_LIMIT} and {FP16_MAX_DIFFERENCE_LIMIT})"
        )
    return True, f"it matches float32 within {mean:.4f} on average"


@dataclass(frozen=True)
class WeightedIdentity:
    """One ingredient of the identity mix besides the chosen target: photos of one person, or a random identity."""

    weight: float
    photos: tuple[TargetFace, ...] = ()
    """Several photos of one person are averaged into one identity."""
    random_seed: int | None = None
    """Set (and photos empty) for a random identity that is no real person's face."""


class _SwapRunner:
    """One swap model session with its bound, preallocated input/output buffers (static shapes)."""

    def __init__(self, session: OnnxSession) -> None:
        check_swap_model(session)
        self.session = session
        specs = {spec.name: spec for spec in session.inputs}
        self.target = np.zeros((1, 3, CROP_SIZE_PX, CROP_SIZE_PX), dtype=specs[TARGET_INPUT].dtype)
        self.source = np.zeros((1, EMBEDDING_SIZE), dtype=specs[SOURCE_INPUT].dtype)
        self.output = np.zeros((1, 3, CROP_SIZE_PX, CROP_SIZE_PX), dtype=session.outputs[0].dtype)
        session.bind({TARGET_INPUT: self.target, SOURCE_INPUT: self.source}, {session.outputs[0].name: self.output})

    def run(self, crop_rgb_unit: npt.NDArray[np.float32], latent: npt.NDArray[np.float32]) -> npt.NDArray[np.float32]:
        """[3,128,128] RGB 0–1 crop and [1,512] latent → [3,128,128] float32 output (a view on the output buffer)."""
        self.target[0] = crop_rgb_unit
        self.source[:] = latent
        self.session.run_bound()
        return np.asarray(self.output[0], dtype=np.float32)

    def close(self) -> None:
        self.session.close()


class OnnxFaceSwapper(SwapEngine):
    """Neural face swap with an inswapper-format model. Construct, set_target and swap_face on the processing thread.

    The sessions are created once here; swap_face reuses bound buffers and warps only the face's region.
    """

    name = "onnx"
    alignment = AlignmentSpec("inswapper", CROP_SIZE_PX)

    def __init__(
        self,
        swap_model_path: Path,
        recogniser_path: Path,
        *,
        provider: ProviderPreference = "auto",
        fp16_model_path: Path | None = None,
        target_weight: float = 1.0,
        extra_identities: Sequence[WeightedIdentity] = (),
        notices: Sequence[str] = (),
    ) -> None:
        """Load the swap model (fp32) and the recogniser; with fp16_model_path, also the fp16 model, which is
        checked against fp32 on the first target's crop and used only when it agrees.

        notices: sentences from the caller to show the user (e.g. "custom model, hash unknown").
        Raises ModelError: a file is missing, unreadable or not of the expected format.
        """
        self._notices: list[str] = list(notices)
        cache = cache_dir() / "tensorrt"
        self._runner = _SwapRunner(
            create_session(swap_model_path, provider, purpose="face swap model", cache_dir=cache)
        )
        self._emap = read_emap(swap_model_path)
        self._fp16_runner: _SwapRunner | None = None
        if fp16_model_path is not None:
            if fp16_model_path.is_file():
                self._fp16_runner = _SwapRunner(
                    create_session(fp16_model_path, provider, purpose="float16 face swap model", cache_dir=cache)
                )
            else:
                self._add_notice(f"float16 was requested but {fp16_model_path} does not exist; running float32.")
        self._encoder = IdentityEncoder.from_path(recogniser_path, provider)
        self._target_weight = target_weight
        self._extra_identities = tuple(extra_identities)
        self._extra_embeddings: list[tuple[Embedding, float]] | None = None
        self._latent: npt.NDArray[np.float32] | None = None
        self._coverage_crop = np.zeros((CROP_SIZE_PX, CROP_SIZE_PX), dtype=np.float32)
        border = _COVERAGE_BORDER_PX
        self._coverage_crop[border:-border, border:-border] = 1.0
        self._crop_rgb_unit = np.zeros((3, CROP_SIZE_PX, CROP_SIZE_PX), dtype=np.float32)
        if target_weight == 0 and not self._extra_identities:
            raise ValueError("With target_weight 0 at least one other identity is needed.")

    # -- properties for the UI -----------------------------------------------------------------------------------------

    @property
    def provider(self) -> str:
        """The provider the swap model really runs on, e.g. "CUDAExecutionProvider" or "CPUExecutionProvider"."""
        return self._runner.session.provider

    @property
    def provider_label(self) -> str:
        """Short form for the UI: "CUDA (GPU)", "TensorRT (GPU)", "CPU"."""
        return self._runner.session.provider_label

    @property
    def notice(self) -> str | None:
        """Sentences the UI should show (CPU fallback, custom model, fp16 refused), or None when all is as expected."""
        # The recogniser's placement is not reported: it runs once per target photo, so the CPU is fine for it.
        notices = [*self._notices]
        if self._runner.session.notice:
            notices.insert(0, self._runner.session.notice)
        return " ".join(notices) if notices else None

    @property
    def uses_fp16(self) -> bool:
        return self._runner.session.outputs[0].dtype == np.float16 or self._runner.target.dtype == np.float16

    @property
    def latent(self) -> npt.NDArray[np.float32] | None:
        """The current [1,512] `source` input (None before set_target)."""
        return None if self._latent is None else self._latent.copy()

    @property
    def emap(self) -> npt.NDArray[np.float32]:
        return self._emap

    @property
    def encoder(self) -> IdentityEncoder:
        return self._encoder

    def _add_notice(self, sentence: str) -> None:
        logger.warning("%s", sentence)
        self._notices.append(sentence)

    # -- identity ------------------------------------------------------------------------------------------------------

    def identity_for(self, target: TargetFace | None) -> Embedding:
        """The unit identity the engine renders for `target`: its embedding mixed with the configured extras."""
        if self._extra_embeddings is None:
            self._extra_embeddings = [
                (
                    random_identity(extra.random_seed)
                    if extra.random_seed is not None
                    else self._encoder.embed_person(extra.photos),
                    extra.weight,
                )
                for extra in self._extra_identities
                if extra.weight > 0
            ]
        weighted: list[tuple[npt.ArrayLike, float]] = list(self._extra_embeddings)
        if target is not None and self._target_weight > 0:
            weighted.insert(0, (self._encoder.embed(target), self._target_weight))
        if not weighted:
            raise TargetFaceError("No identity to render: give a target face or an identity mix.")
        try:
            return mix_identities(weighted)
        except ValueError as error:
            raise TargetFaceError(str(error)) from error

    def set_target(self, target: TargetFace) -> None:
        """Compute the target's identity (cached per photo), mix it, and prepare the model's `source` input.

        On the first call with an fp16 model pending, runs the fp16 self-check on this target's crop.
        Raises TargetFaceError when no identity can be computed, ModelError when the recogniser fails.
        """
        self._latent = compute_latent(self.identity_for(target), self._emap)
        if self._fp16_runner is not None:
            self._check_fp16(target)

    def _check_fp16(self, target: TargetFace) -> None:
        """Run fp32 and fp16 on the target's own aligned crop; keep fp16 only when they agree (then free fp32)."""
        assert self._fp16_runner is not None and self._latent is not None
        crop = align_face(target.image_bgr, target.landmarks.keypoints_px, "inswapper", CROP_SIZE_PX).crop_bgr
        crop_rgb_unit = _to_rgb_unit(crop)
        reference = self._runner.run(crop_rgb_unit, self._latent).copy()
        candidate = self._fp16_runner.run(crop_rgb_unit, self._latent).astype(np.float32)
        agrees, reason = compare_fp16_output(reference, candidate)
        if agrees:
            logger.info("float16 swap model accepted: %s", reason)
            self._runner.close()
            self._runner = self._fp16_runner
        else:
            self._add_notice(f"The float16 swap model was refused because {reason}; running float32 instead.")
            self._fp16_runner.close()
        self._fp16_runner = None

    # -- the hot path --------------------------------------------------------------------------------------------------

    def render_crop(self, crop_bgr: BgrImage) -> BgrImage:
        """Run the model on one aligned 128×128 BGR crop; returns the swapped 128×128 BGR crop. Needs set_target()."""
        if self._latent is None:
            raise RuntimeError("set_target() must be called before rendering")
        np.multiply(crop_bgr[:, :, ::-1].transpose(2, 0, 1), np.float32(1.0 / 255.0), out=self._crop_rgb_unit)
        output = self._runner.run(self._crop_rgb_unit, self._latent)
        # RGB 0–1 planes → BGR uint8 pixels; clip first so out-of-range model values saturate instead of wrapping.
        scaled = np.clip(output, 0.0, 1.0) * np.float32(255.0) + np.float32(0.5)
        return np.ascontiguousarray(scaled[::-1].transpose(1, 2, 0)).astype(np.uint8)

    def swap_face(
        self, frame_bgr: BgrImage, face: FaceLandmarks, aligned: AlignedFace | None, settings: SwapConfig
    ) -> SwappedFace | None:
        """The swapped face in frame coordinates, restricted to the region the 128 px crop covers.

        aligned: the pipeline's inswapper-template crop (made here when None or of another size).
        Returns None before set_target() or when the face's crop lies outside the frame.
        """
        if self._latent is None:
            return None
        if aligned is None or aligned.size != CROP_SIZE_PX:
            aligned = align_face(frame_bgr, face.keypoints_px, "inswapper", CROP_SIZE_PX)
        height, width = frame_bgr.shape[:2]
        region = crop_region(aligned.frame_from_crop, CROP_SIZE_PX, width, height)
        if region.width < 2 or region.height < 2:
            return None
        face_crop_bgr = self.render_crop(aligned.crop_bgr)
        face_bgr, coverage = paste_back(face_crop_bgr, self._coverage_crop, aligned.crop_from_frame, region)
        return SwappedFace(region=region, face_bgr=face_bgr, coverage=coverage)

    def close(self) -> None:
        self._runner.close()
        if self._fp16_runner is not None:
            self._fp16_runner.close()
        self._encoder.close()


def _to_rgb_unit(crop_bgr: BgrImage) -> npt.NDArray[np.float32]:
    return np.ascontiguousarray(crop_bgr[:, :, ::-1].transpose(2, 0, 1), dtype=np.float32) * np.float32(1.0 / 255.0)


def crop_region(frame_from_crop: npt.NDArray[np.float64], size: int, frame_width: int, frame_height: int) -> Box:
    """The frame box covered by a size×size crop mapped through frame_from_crop, clipped to the frame."""
    corners = np.array([[-0.5, -0.5], [size - 0.5, -0.5], [-0.5, size - 0.5], [size - 0.5, size - 0.5]])
    mapped = corners @ frame_from_crop[:, :2].T + frame_from_crop[:, 2]
    box = Box(
        int(np.floor(mapped[:, 0].min() + 0.5)),
        int(np.floor(mapped[:, 1].min() + 0.5)),
        int(np.ceil(mapped[:, 0].max() + 0.5)),
        int(np.ceil(mapped[:, 1].max() + 0.5)),
    )
    return box.clipped(frame_width, frame_height)


def paste_back(
    crop_bgr: BgrImage, coverage_crop: Mask, crop_from_frame: npt.NDArray[np.float64], region: Box
) -> tuple[BgrImage, Mask]:
    """Warp a crop (and its coverage) into a frame region: region-sized BGR uint8 and float32 coverage.

    Only the region's pixels are computed (inverse map: region pixel → crop pixel), not the whole frame.
    """
    crop_from_region = crop_from_frame.copy()
    crop_from_region[:, 2] += crop_from_frame[:, :2] @ np.array([region.x0, region.y0], dtype=np.float64)
    size = (region.width, region.height)
    flags = cv2.INTER_LINEAR | cv2.WARP_INVERSE_MAP
    face_bgr = cv2.warpAffine(crop_bgr, crop_from_region, size, flags=flags, borderMode=cv2.BORDER_REPLICATE)
    coverage = cv2.warpAffine(coverage_crop, crop_from_region, size, flags=flags, borderMode=cv2.BORDER_CONSTANT)
    return np.asarray(face_bgr, dtype=np.uint8), np.asarray(coverage, dtype=np.float32)
