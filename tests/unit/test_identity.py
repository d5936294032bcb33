"""Identity embeddings: ArcFace input (template, colour order, scaling), caching, averaging, mixing, random identity."""

from __future__ import annotations

from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.errors import ModelError
from faceswap_live.stages.align import template_points
from faceswap_live.stages.identity import (
    IdentityEncoder,
    arcface_input,
    average_identities,
    mix_identities,
    normalize_embedding,
    random_identity,
    target_cache_key,
)
from faceswap_live.types import Box, FaceLandmarks, TargetFace
from onnx_graphs import make_recogniser_graph, make_swap_graph


def _target(image_bgr: np.ndarray, name: str = "photo", scale: float = 2.0, offset: float = 40.0) -> TargetFace:
    keypoints = (template_points("arcface", 112) * scale + offset).astype(np.float32)
    landmarks = FaceLandmarks(
        points_px=np.zeros((478, 3), np.float32), keypoints_px=keypoints, box=Box.around(keypoints)
    )
    return TargetFace(image_bgr=image_bgr, landmarks=landmarks, name=name)


def _solid(bgr: tuple[int, int, int]) -> np.ndarray:
    return np.full((320, 320, 3), bgr, dtype=np.uint8)


def _unit(*values: float) -> np.ndarray:
    vector = np.zeros(512)
    vector[: len(values)] = values
    return vector / np.linalg.norm(vector)


@pytest.fixture()
def encoder(tmp_path: Path) -> IdentityEncoder:
    return IdentityEncoder.from_path(make_recogniser_graph(tmp_path / "recogniser.onnx"), "cpu")


def test_recogniser_sees_rgb_scaled_to_minus_one_one(encoder: IdentityEncoder) -> None:
    # BGR (200, 100, 50) is RGB (50, 100, 200); the tiny recogniser returns the mean of each input channel.
    embedding = encoder.embed(_target(_solid((200, 100, 50))))
    expected = _unit(*((np.array([50.0, 100.0, 200.0]) - 127.5) / 127.5))
    np.testing.assert_allclose(embedding, expected, atol=1e-4)
    assert embedding.dtype == np.float32


def test_arcface_input_puts_the_keypoints_on_the_template() -> None:
    image = np.zeros((400, 400, 3), np.uint8)
    target = _target(image, scale=2.5, offset=60.0)
    for x, y in target.landmarks.keypoints_px:
        cv2.circle(image, (round(float(x)), round(float(y))), 6, (255, 255, 255), -1, cv2.LINE_AA)
    crop = arcface_input(target)
    assert crop.shape == (1, 3, 112, 112) and crop.dtype == np.float32
    assert crop.min() == pytest.approx(-1.0) and crop.max() <= 1.0
    bright = (crop[0, 0] > 0).astype(np.uint8)
    count, _, _, centroids = cv2.connectedComponentsWithStats(bright)
    assert count == 6  # background + the five keypoints
    found = sorted(map(tuple, centroids[1:]))
    for (found_x, found_y), (want_x, want_y) in zip(
        found, sorted(map(tuple, template_points("arcface", 112))), strict=True
    ):
        assert abs(found_x - want_x) < 0.6 and abs(found_y - want_y) < 0.6


def test_embedding_is_computed_once_per_photo(encoder: IdentityEncoder, monkeypatch: pytest.MonkeyPatch) -> None:
    runs = []
    original = encoder.session.run
    monkeypatch.setattr(encoder.session, "run", lambda feeds: runs.append(1) or original(feeds))
    first = _target(_solid((10, 200, 30)))
    again = _target(_solid((10, 200, 30)))  # the same pixels loaded again: same identity, no new run
    other = _target(_solid((200, 10, 30)))
    a = encoder.embed(first)
    b = encoder.embed(again)
    c = encoder.embed(other)
    assert len(runs) == 2 and encoder.cached_count == 2
    np.testing.assert_array_equal(a, b)
    assert not np.allclose(a, c)
    assert target_cache_key(first) == target_cache_key(again) != target_cache_key(other)


def test_several_photos_of_one_person_average_into_one_identity(encoder: IdentityEncoder) -> None:
    photos = [_target(_solid((0, 0, 255))), _target(_solid((0, 255, 0)))]
    # RGB (255, 0, 0) and (0, 255, 0) → (1, −1, −1) and (−1, 1, −1) normalised; their mean points along (0, 0, −1).
    np.testing.assert_allclose(encoder.embed_person(photos), _unit(0, 0, -1), atol=1e-6)


def test_mixing_interpolates_unit_identities_and_normalises_again() -> None:
    a, b = _unit(1.0), _unit(0.0, 5.0)  # lengths differ on purpose: each is normalised first
    np.testing.assert_allclose(mix_identities([(a * 3, 1.0), (b, 1.0)]), _unit(1, 1), atol=1e-6)
    np.testing.assert_allclose(mix_identities([(a, 3.0), (b, 1.0)]), _unit(3, 1), atol=1e-6)
    np.testing.assert_allclose(mix_identities([(a, 1.0), (b, 0.0)]), a, atol=1e-6)
    assert np.linalg.norm(mix_identities([(a, 0.2), (b, 0.7)])) == pytest.approx(1.0, abs=1e-6)
    with pytest.raises(ValueError, match="negative"):
        mix_identities([(a, -1.0)])
    with pytest.raises(ValueError, match="cancel out"):
        mix_identities([(a, 1.0), (-a, 1.0)])


def test_average_and_normalize_refuse_empty_input() -> None:
    with pytest.raises(ValueError):
        average_identities([])
    with pytest.raises(ValueError, match="no direction"):
        normalize_embedding(np.zeros(512))


def test_random_identity_is_recalled_by_its_seed() -> None:
    first, again, other = random_identity(7), random_identity(7), random_identity(8)
    np.testing.assert_array_equal(first, again)
    assert first.shape == (512,) and np.linalg.norm(first) == pytest.approx(1.0, abs=1e-6)
    assert abs(float(first @ other)) < 0.25  # unrelated directions in 512-d are nearly orthogonal
    # Pinned: a saved seed must give the same face after an upgrade.
    np.testing.assert_allclose(first[:3], PINNED_SEED_7, atol=1e-6)


PINNED_SEED_7 = np.array([0.05214063450694084, -0.026720890775322914, 0.044854309409856796])


def test_a_model_with_the_wrong_signature_is_not_accepted_as_recogniser(tmp_path: Path) -> None:
    with pytest.raises(ModelError, match="is not an ArcFace recogniser"):
        IdentityEncoder.from_path(make_swap_graph(tmp_path / "swap.onnx"), "cpu")
