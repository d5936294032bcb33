"""The model registry: well-formed pins, unique names, licence gates where the licence restricts use."""

from __future__ import annotations

from pathlib import Path
from urllib.parse import urlparse

import pytest

from faceswap_live.errors import ModelError
from faceswap_live.models.registry import MODELS, ModelEntry, find_entry


def test_names_and_file_names_are_unique() -> None:
    names = [entry.name for entry in MODELS]
    filenames = [entry.filename for entry in MODELS]
    assert len(names) == len(set(names))
    assert len(filenames) == len(set(filenames))


@pytest.mark.parametrize("entry", MODELS, ids=lambda entry: entry.name)
def test_every_entry_is_pinned_and_downloadable(entry: ModelEntry) -> None:
    assert len(entry.sha256) == 64
    assert all(character in "0123456789abcdef" for character in entry.sha256)
    assert entry.size_bytes is None or entry.size_bytes > 0
    assert entry.urls
    for url in entry.urls:
        parsed = urlparse(url)
        assert parsed.scheme in ("https", "http") and parsed.netloc, url
        # Downloads are named after the registry, so a mirror may call the file anything, but of the same type.
        assert Path(parsed.path).suffix in (Path(entry.filename).suffix, ".bz2"), url
    assert entry.licence and entry.licence_url.startswith("https://")
    assert entry.used_by


@pytest.mark.parametrize("entry", MODELS, ids=lambda entry: entry.name)
def test_restricted_licences_need_acceptance(entry: ModelEntry) -> None:
    restricted = "non-commercial" in entry.licence.lower()
    assert entry.requires_licence_acceptance == restricted


def test_the_files_the_app_needs_are_registered() -> None:
    landmarker = find_entry("face_landmarker")
    assert landmarker.filename == "face_landmarker.task"
    assert landmarker.size_bytes == 3_758_596
    assert not landmarker.requires_licence_acceptance
    assert find_entry("inswapper_128").requires_licence_acceptance
    assert find_entry("arcface_w600k_r50").filename == "w600k_r50.onnx"
    assert {entry.mirror_relative_path for entry in MODELS if entry.mirror_subdir} == {
        "eval/dlib_face_recognition_resnet_model_v1.dat",
        "eval/shape_predictor_5_face_landmarks.dat",
    }


def test_unknown_name_lists_the_known_ones() -> None:
    with pytest.raises(ModelError) as caught:
        find_entry("inswapper_256")
    message = str(caught.value)
    assert "inswapper_256" in message
    assert all(entry.name in message for entry in MODELS)


@pytest.mark.parametrize(
    ("field", "value"),
    [("sha256", "ABC"), ("sha256", "G" * 64), ("size_bytes", 0), ("urls", ()), ("filename", "sub/x.onnx")],
)
def test_malformed_entries_are_rejected(field: str, value: object) -> None:
    fields: dict[str, object] = {
        "name": "example",
        "filename": "example.onnx",
        "urls": ("https://example.org/example.onnx",),
        "sha256": "0" * 64,
        "size_bytes": 10,
        "licence": "MIT",
        "licence_url": "https://example.org/licence",
        "used_by": "tests",
        "description": "example",
    }
    fields[field] = value
    with pytest.raises(ValueError):
        ModelEntry(**fields)  # type: ignore[arg-type]


def test_pins_match_the_shared_mirror_checksums(shared_model_mirror: Path) -> None:
    """The hashes and sizes in the registry are those of the real files in the mirror (SHA256SUMS beside them)."""
    checksums = {}
    for line in (shared_model_mirror / "SHA256SUMS").read_text(encoding="utf-8").splitlines():
        if line.strip():
            sha256, relative_path = line.split(maxsplit=1)
            checksums[relative_path.strip()] = sha256
    by_path = {entry.mirror_relative_path: entry for entry in MODELS}
    for relative_path, sha256 in checksums.items():
        entry = by_path[relative_path]
        assert entry.sha256 == sha256
        assert entry.size_bytes == (shared_model_mirror / relative_path).stat().st_size
