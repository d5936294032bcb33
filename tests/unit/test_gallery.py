"""Saved target faces: consent is required and remembered; entries survive restarts and can be removed."""

from __future__ import annotations

import json
from pathlib import Path

import cv2
import numpy as np
import pytest

from faceswap_live.errors import TargetFaceError
from faceswap_live.gallery import CONSENT_STATEMENT, THUMBNAIL_PX, TargetGallery, thumbnail_crop
from faceswap_live.types import Box


def test_adding_without_consent_is_refused_and_stores_nothing(tmp_path: Path, hopper_path: Path) -> None:
    gallery = TargetGallery(tmp_path / "targets")
    with pytest.raises(TargetFaceError, match="right to use"):
        gallery.add(hopper_path, "Grace", 0, consent_confirmed=False, statement=CONSENT_STATEMENT)
    assert gallery.list() == []
    root = tmp_path / "targets"
    assert not root.exists() or not any(root.iterdir())


def test_added_face_keeps_its_consent_record_across_restarts(tmp_path: Path, hopper_path: Path) -> None:
    root = tmp_path / "targets"
    entry = TargetGallery(root).add(
        hopper_path, " Grace Hopper ", 0, consent_confirmed=True, statement=CONSENT_STATEMENT
    )
    reloaded = TargetGallery(root).get(entry.id)  # a new gallery object = the app started again
    assert reloaded == entry
    assert reloaded.name == "Grace Hopper"
    assert reloaded.consent.confirmed is True
    assert reloaded.consent.statement == CONSENT_STATEMENT
    assert reloaded.consent.timestamp.endswith("+00:00")
    metadata = json.loads((root / entry.id / "entry.json").read_text(encoding="utf-8"))
    assert metadata["consent"]["confirmed"] is True
    # The photo is a copy: the gallery keeps working when the original is deleted.
    hopper_path.unlink()
    assert cv2.imread(str(reloaded.photo_path)) is not None
    thumbnail = cv2.imread(str(reloaded.thumbnail_path))
    assert thumbnail.shape == (THUMBNAIL_PX, THUMBNAIL_PX, 3)


def test_list_get_and_remove(tmp_path: Path, hopper_path: Path, astronaut_path: Path) -> None:
    gallery = TargetGallery(tmp_path / "targets")
    first = gallery.add(hopper_path, "Grace", 0, True, CONSENT_STATEMENT)
    second = gallery.add(astronaut_path, "Eileen", 0, True, CONSENT_STATEMENT)
    assert {entry.id for entry in gallery.list()} == {first.id, second.id}
    gallery.remove(first.id)
    assert [entry.id for entry in gallery.list()] == [second.id]
    assert not (tmp_path / "targets" / first.id).exists()
    with pytest.raises(TargetFaceError, match="no saved face"):
        gallery.get(first.id)
    with pytest.raises(TargetFaceError):
        gallery.remove("../../etc")


def test_a_broken_entry_is_skipped_not_fatal(tmp_path: Path, hopper_path: Path) -> None:
    gallery = TargetGallery(tmp_path / "targets")
    good = gallery.add(hopper_path, "Grace", 0, True, CONSENT_STATEMENT)
    broken = tmp_path / "targets" / "0123456789ab"
    broken.mkdir()
    (broken / "entry.json").write_text("{not json", encoding="utf-8")
    assert [entry.id for entry in gallery.list()] == [good.id]


def test_unreadable_photo_and_empty_name_are_refused(tmp_path: Path, hopper_path: Path) -> None:
    gallery = TargetGallery(tmp_path / "targets")
    not_a_photo = tmp_path / "notes.jpg"
    not_a_photo.write_text("hello", encoding="utf-8")
    with pytest.raises(TargetFaceError):
        gallery.add(not_a_photo, "Someone", 0, True, CONSENT_STATEMENT)
    with pytest.raises(TargetFaceError, match="name"):
        gallery.add(hopper_path, "   ", 0, True, CONSENT_STATEMENT)
    assert gallery.list() == []


def test_thumbnail_is_a_square_around_the_given_face() -> None:
    image = np.zeros((400, 600, 3), dtype=np.uint8)
    image[100:200, 400:500] = 255  # the "face"
    thumbnail = thumbnail_crop(image, Box(400, 100, 500, 200), size_px=160)
    assert thumbnail.shape == (160, 160, 3)
    white = thumbnail.min(axis=2) > 200
    rows, columns = np.nonzero(white)
    assert abs(rows.mean() - 80) < 4 and abs(columns.mean() - 80) < 4  # centred
    assert 0.3 < white.mean() < 0.5  # the face fills (1/1.6)² of the square


def test_thumbnail_centres_on_the_detected_face(
    tmp_path: Path, hopper_path: Path, hopper_bgr: np.ndarray, landmark_model_path: Path
) -> None:
    from faceswap_live.inputs.target_photo import find_faces_in_photo

    entry = TargetGallery(tmp_path / "targets").add(
        hopper_path, "Grace", 0, True, CONSENT_STATEMENT, model_path=landmark_model_path
    )
    thumbnail = cv2.imread(str(entry.thumbnail_path))
    faces = find_faces_in_photo(thumbnail, landmark_model_path)
    assert len(faces) == 1
    box = faces[0].box
    assert box.width > THUMBNAIL_PX * 0.4  # the face fills the thumbnail, not a corner of a wide photo
    assert abs((box.x0 + box.x1) / 2 - THUMBNAIL_PX / 2) < THUMBNAIL_PX * 0.15
    with pytest.raises(TargetFaceError, match="face number 3"):
        TargetGallery(tmp_path / "targets").add(
            hopper_path, "Grace", 2, True, CONSENT_STATEMENT, model_path=landmark_model_path
        )


def test_more_photos_of_a_face_are_kept_with_it_across_restarts(
    tmp_path: Path, hopper_path: Path, astronaut_path: Path, landmark_model_path: Path
) -> None:
    root = tmp_path / "targets"
    entry = TargetGallery(root).add(hopper_path, "Grace", 0, True, CONSENT_STATEMENT)
    updated = TargetGallery(root).add_more_photo(entry.id, astronaut_path, landmark_model_path)
    again = TargetGallery(root).add_more_photo(entry.id, hopper_path, landmark_model_path)
    reloaded = TargetGallery(root).get(entry.id)
    assert reloaded == again
    assert [path.name for path in reloaded.more_photos] == ["more-1.png", "more-2.png"]
    assert updated.more_photos == reloaded.more_photos[:1]
    assert all(cv2.imread(str(path)) is not None for path in reloaded.more_photos)
    assert reloaded.consent == entry.consent and reloaded.photo_path == entry.photo_path
    # A photo without a face is refused and changes nothing.
    blank = tmp_path / "blank.png"
    cv2.imwrite(str(blank), np.full((200, 200, 3), 128, np.uint8))
    with pytest.raises(TargetFaceError, match="No face was found in blank.png"):
        TargetGallery(root).add_more_photo(entry.id, blank, landmark_model_path)
    assert TargetGallery(root).get(entry.id) == reloaded
    assert sorted(path.name for path in (root / entry.id).glob("more-*")) == ["more-1.png", "more-2.png"]
    # Back to the first photo only: the others are forgotten, their files gone, the rest of the entry kept.
    first_only = TargetGallery(root).clear_more_photos(entry.id)
    assert TargetGallery(root).get(entry.id) == first_only == entry
    assert not list((root / entry.id).glob("more-*"))
