"""Building the neural engine from the [onnx] settings: its model files (found in the store or given by the user, and
vetted by hash) and the photos of an identity mix.

Light to import: the engine itself (onnxruntime) is imported only when one is built.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Final

from faceswap_live.config import AppConfig, ProviderPreference
from faceswap_live.errors import ModelError, TargetFaceError
from faceswap_live.models.registry import ModelEntry, find_entry

if TYPE_CHECKING:
    from faceswap_live.engines.base import ModelLocator
    from faceswap_live.engines.onnx_swapper import OnnxFaceSwapper, WeightedIdentity

logger = logging.getLogger(__name__)

SWAP_MODEL_NAME: Final = "inswapper_128"
RECOGNISER_NAME: Final = "arcface_w600k_r50"
_IMAGE_SUFFIXES: Final = (".jpg", ".jpeg", ".png", ".webp", ".bmp")


def check_model_file(path: Path, entry: ModelEntry) -> str | None:
    """Vet a user-chosen model file. Returns a notice when its hash is unknown, None when it is the registry file.

    A file named like the registry's file (e.g. inswapper_128.onnx) claims to be it and must match its SHA-256.
    Raises ModelError when the file is missing or claims a registry name with the wrong hash.
    """
    from faceswap_live.models.store import compute_sha256

    if not path.is_file():
        raise ModelError(f"The model file {path} does not exist. Check [onnx] in the settings or the path you gave.")
    try:
        sha256 = compute_sha256(path)
    except OSError as error:
        raise ModelError(f"Cannot read the model file {path}: {error}") from error
    if sha256 == entry.sha256:
        return None
    if path.name == entry.filename:
        raise ModelError(
            f"{path} is named like {entry.name} ({entry.filename}) but is not that file: its SHA-256 is {sha256}, "
            f"expected {entry.sha256}. It may be truncated or damaged. If it is a different model on purpose, give it "
            f"another file name; for the original run: faceswap-live models fetch {entry.name} --accept-licence"
        )
    notice = (
        f"Using your own model file {path.name} (SHA-256 {sha256[:16]}…): it is not a known file, so its origin and "
        "quality are unknown."
    )
    logger.warning("%s", notice)
    return notice


def _fetch(store: ModelLocator, name: str) -> Path:
    try:
        return store.fetch(name, accept_licence=False)
    except ModelError as error:
        raise ModelError(f"The neural swap engine needs the model {name}.\n{error}") from error


def _resolve_model(
    override: str, name: str, store: ModelLocator | None, notices: list[str]
) -> tuple[Path, ModelLocator | None]:
    custom = override.strip()
    if custom:
        notice = check_model_file(Path(custom).expanduser(), find_entry(name))
        if notice:
            notices.append(notice)
        return Path(custom).expanduser(), store
    if store is None:
        from faceswap_live.models.store import ModelStore

        store = ModelStore()
    return _fetch(store, name), store


def _photos_of(path: Path) -> list[Path]:
    if path.is_dir():
        photos = sorted(item for item in path.iterdir() if item.suffix.lower() in _IMAGE_SUFFIXES)
        if not photos:
            raise TargetFaceError(f"The identity folder {path} holds no photos (JPEG, PNG, WebP, BMP).")
        return photos
    if not path.is_file():
        raise TargetFaceError(f"The identity photo {path} does not exist (check identity_mix in [onnx]).")
    return [path]


def load_identity_mix(mix: Sequence[tuple[str, float]], landmark_model_path: Path | None) -> list[WeightedIdentity]:
    """Photos (or folders of photos of one person) and weights from the settings → WeightedIdentity list.

    Raises TargetFaceError for a missing photo or one without a face.
    """
    from faceswap_live.engines.onnx_swapper import WeightedIdentity
    from faceswap_live.inputs.target_photo import load_target_face

    identities = []
    for source, weight in mix:
        if weight <= 0:
            continue
        if landmark_model_path is None:
            raise ModelError("Reading identity photos needs the face landmark model.")
        photos = tuple(load_target_face(photo, landmark_model_path) for photo in _photos_of(Path(source).expanduser()))
        identities.append(WeightedIdentity(weight=weight, photos=photos))
    return identities


def check_onnx_models(config: AppConfig, store: ModelLocator | None = None) -> None:
    """Raise ModelError (with the command that fetches it) when a model file the [onnx] settings need is missing.

    Cheap: finds and hash-checks the files without building a session. A command that names the neural engine checks
    this before it starts, because the live runner would otherwise carry on with the built-in engine.
    """
    _resolve_model(config.onnx.model_path, SWAP_MODEL_NAME, store, [])
    _resolve_model(config.onnx.recogniser_path, RECOGNISER_NAME, store, [])


def create_onnx_engine(config: AppConfig, store: ModelLocator | None = None) -> OnnxFaceSwapper:
    """Build the neural engine from the [onnx] settings, taking model files from the store unless overridden.

    model_path / recogniser_path / provider come from the settings, where the command line has already put its flags
    and the environment variables FACESWAP_LIVE_ONNX_MODEL / _RECOGNISER / _PROVIDER (config.apply_environment).
    Never downloads a model whose licence must be accepted: a missing model raises ModelError whose message holds the
    command that fetches it (`faceswap-live models fetch inswapper_128 --accept-licence`).
    Raises ModelError (missing/wrong files) or TargetFaceError (identity-mix photos unusable).
    """
    from faceswap_live.engines.onnx_swapper import OnnxFaceSwapper, WeightedIdentity

    settings = config.onnx
    notices: list[str] = []
    model_path, store = _resolve_model(settings.model_path, SWAP_MODEL_NAME, store, notices)
    recogniser_path, store = _resolve_model(settings.recogniser_path, RECOGNISER_NAME, store, notices)
    provider: ProviderPreference = settings.provider
    fp16_model_path = None
    if settings.fp16:
        fp16_model_path = (
            Path(settings.fp16_model_path).expanduser()
            if settings.fp16_model_path
            else model_path.with_name(f"{model_path.stem}_fp16{model_path.suffix}")
        )
    extras: list[WeightedIdentity] = []
    if any(weight > 0 for _, weight in settings.identity_mix):
        if store is None:
            from faceswap_live.models.store import ModelStore

            store = ModelStore()
        extras.extend(load_identity_mix(settings.identity_mix, store.fetch("face_landmarker")))
    if settings.random_identity_weight > 0:
        extras.append(
            WeightedIdentity(weight=settings.random_identity_weight, random_seed=settings.random_identity_seed)
        )
    return OnnxFaceSwapper(
        model_path,
        recogniser_path,
        provider=provider,
        fp16_model_path=fp16_model_path,
        target_weight=settings.target_weight,
        extra_identities=extras,
        notices=notices,
    )
