"""Model files: the registry (what to download, pinned by SHA-256) and the store that locates, fetches and verifies."""

from faceswap_live.models.registry import MODELS, ModelEntry, find_entry
from faceswap_live.models.store import MIRROR_ENVIRONMENT_VARIABLE, ModelStatus, ModelStore, VerifyReport

__all__ = [
    "MIRROR_ENVIRONMENT_VARIABLE",
    "MODELS",
    "ModelEntry",
    "ModelStatus",
    "ModelStore",
    "VerifyReport",
    "find_entry",
]
