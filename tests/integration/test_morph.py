"""Morphs in the built-in engine: exact at the ends, moving steadily between two faces, and faces of no one."""

from __future__ import annotations

from collections.abc import Callable

import numpy as np

from faceswap_live.engines.morph import face_of_no_one, morph_faces
from faceswap_live.engines.target_mask import wears_glasses
from faceswap_live.eval.identity import SAME_PERSON_DISTANCE, FaceRecogniser, face_distance
from faceswap_live.types import TargetFace


def test_a_morph_moves_from_one_face_to_the_other_with_the_weight(
    portrait_face: Callable[[str], TargetFace], face_recogniser: FaceRecogniser
) -> None:
    first, second = portrait_face("p02_1.jpg"), portrait_face("p08_1.jpg")
    assert morph_faces([first, second], [1.0, 0.0]) is first  # exactly the first face, pixels and mesh
    first_embedding, second_embedding = face_recogniser.embed(first.image_bgr), face_recogniser.embed(second.image_bgr)
    assert first_embedding is not None and second_embedding is not None
    to_first, to_second = [], []
    for weight in (0.0, 0.25, 0.5, 0.75, 1.0):
        morph = morph_faces([first, second], [1.0 - weight, weight])
        embedding = face_recogniser.embed(morph.image_bgr)
        assert embedding is not None, weight
        to_first.append(face_distance(embedding, first_embedding))
        to_second.append(face_distance(embedding, second_embedding))
    assert np.all(np.diff(to_first) > 0), to_first
    assert np.all(np.diff(to_second) < 0), to_second


def test_a_face_of_no_one_is_repeatable_and_nobody_in_particular(
    portrait_face: Callable[[str], TargetFace], face_recogniser: FaceRecogniser
) -> None:
    # Held out: the composite's settings were chosen on other people's portraits (see BENCHMARKS.md).
    names = ("p02_1.jpg", "p03_1.jpg", "p04_1.jpg", "p05_1.jpg", "p07_1.jpg", "p08_1.jpg")
    faces = [portrait_face(name) for name in names]
    made = {seed: face_of_no_one(faces, seed) for seed in range(1, 7)}
    assert np.array_equal(made[6].image_bgr, face_of_no_one(faces, seed=6).image_bgr)  # the same seed, the same face
    assert not np.array_equal(made[6].image_bgr, made[5].image_bgr)
    sources = [face_recogniser.embed(face.image_bgr) for face in faces]
    assert all(source is not None for source in sources)
    nearest = []
    for seed, face in made.items():
        embedding = face_recogniser.embed(face.image_bgr)
        assert embedding is not None, seed  # still a face to dlib's detector
        nearest.append(min(face_distance(embedding, source) for source in sources))  # type: ignore[arg-type]
    # Each of these seeds is someone else to dlib: at least 0.6 from every source face (nearest 0.63-0.72 here; the
    # composite without glasses rule, seeded outline and push from the mean face had seed 1 at 0.56). Not every seed
    # of this pool is: over seeds 1-20, 19 are (nearest 0.58-0.72); see BENCHMARKS.md.
    assert all(distance >= SAME_PERSON_DISTANCE for distance in nearest), nearest


def test_a_face_of_no_one_can_be_made_from_just_two_faces(portrait_face: Callable[[str], TargetFace]) -> None:
    first, second = portrait_face("p02_1.jpg"), portrait_face("p08_1.jpg")
    made = face_of_no_one([first, second], seed=3)
    assert made.image_bgr.shape == first.image_bgr.shape or made.image_bgr.shape == second.image_bgr.shape
    assert not np.array_equal(made.image_bgr, first.image_bgr) and not np.array_equal(made.image_bgr, second.image_bgr)


def test_glasses_on_a_gallery_face_never_show_through_a_face_of_no_one(
    portrait_face: Callable[[str], TargetFace],
) -> None:
    assert wears_glasses(portrait_face("p20_1.jpg")) and wears_glasses(portrait_face("p19_1.jpg"))
    names = ("p11_1.jpg", "p13_1.jpg", "p15_2.jpg", "p16_1.jpg", "p17_1.jpg")
    faces = [portrait_face(name) for name in names]
    assert not any(wears_glasses(face) for face in faces)
    # Five faces without glasses and one with: the wearer gives no part, so no frames (half-faded or whole) show.
    # Before the wearer was left out, seed 7 showed frames clear enough for the check.
    for seed in range(1, 11):
        made = face_of_no_one([*faces, portrait_face("p20_1.jpg")], seed)
        assert not wears_glasses(made), seed
