"""Saved target faces, each with the consent the user gave when adding it. Headless (no Qt); GUI and CLI share it.

Layout on disk (default root: data_dir()/targets):

    <root>/<entry id>/entry.json      metadata, written atomically
                     /photo.<ext>     a copy of the source photo (the original may move or disappear)
                     /thumbnail.png   a square crop around the chosen face

An entry folder is assembled under a temporary name and renamed into place, so a crash never leaves half an entry.
"""

from __future__ import annotations

import dataclasses
import datetime
import json
import logging
import os
import re
import shutil
import tempfile
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import cv2
import numpy as np

from faceswap_live.config import data_dir
from faceswap_live.errors import TargetFaceError
from faceswap_live.types import BgrImage, Box, FaceLandmarks, TargetFace

logger = logging.getLogger(__name__)

CONSENT_STATEMENT = (
    "I confirm that I have the right to use this person's face: it is my own face, or the person shown has given me "
    "permission to use their likeness with faceswap-live. I will not use it to deceive, harass, defraud or "
    "impersonate anyone, and I understand that everything faceswap-live outputs is labelled as AI-modified."
)
"""The statement the user confirms when adding a face in the app (its consent dialog). On the command line, --consent
confirms the right to use the target photo of one run."""
THUMBNAIL_PX = 256
ENTRY_FILE = "entry.json"
THUMBNAIL_FILE = "thumbnail.png"
_ID_PATTERN = re.compile(r"^[0-9a-f]{12}$")


@dataclass(frozen=True, slots=True)
class ConsentRecord:
    """What the user confirmed, and when (UTC, ISO 8601)."""

    confirmed: bool
    timestamp: str
    statement: str


@dataclass(frozen=True, slots=True)
class GalleryEntry:
    """One saved target face. photo_path and thumbnail_path are inside the gallery's folder."""

    id: str
    name: str
    photo_path: Path
    thumbnail_path: Path
    face_index: int
    consent: ConsentRecord
    created_at: str
    source_name: str
    """The file name the photo had when it was added (for the user's reference)."""
    note: str = ""
    """Advice about the photo for the user (e.g. "this photo smiles: ..."; see expression.photo_note)."""
    more_photos: tuple[Path, ...] = ()
    """Other photos of the same person, inside the gallery's folder (TargetFace.more_photos; largest face in each)."""

    def to_json(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "name": self.name,
            "photo": self.photo_path.name,
            "thumbnail": self.thumbnail_path.name,
            "face_index": self.face_index,
            "consent": {
                "confirmed": self.consent.confirmed,
                "timestamp": self.consent.timestamp,
                "statement": self.consent.statement,
            },
            "created_at": self.created_at,
            "source_name": self.source_name,
            "note": self.note,
            "more_photos": [path.name for path in self.more_photos],
        }

    @staticmethod
    def from_json(folder: Path, data: dict[str, Any]) -> GalleryEntry:
        consent = data["consent"]
        return GalleryEntry(
            id=str(data["id"]),
            name=str(data["name"]),
            photo_path=folder / str(data["photo"]),
            thumbnail_path=folder / str(data["thumbnail"]),
            face_index=int(data["face_index"]),
            consent=ConsentRecord(bool(consent["confirmed"]), str(consent["timestamp"]), str(consent["statement"])),
            created_at=str(data["created_at"]),
            source_name=str(data.get("source_name", "")),
            note=str(data.get("note", "")),
            more_photos=tuple(folder / str(name) for name in data.get("more_photos", [])),
        )


def thumbnail_crop(image_bgr: BgrImage, face_box: Box | None, size_px: int = THUMBNAIL_PX) -> BgrImage:
    """A size_px² BGR thumbnail: a square around the face (1.6× its box), or the centre of the photo without a box."""
    height, width = image_bgr.shape[:2]
    if face_box is None:
        side = min(width, height)
        centre_x, centre_y = width / 2, height / 2
    else:
        side = int(max(face_box.width, face_box.height) * 1.6)
        centre_x, centre_y = (face_box.x0 + face_box.x1) / 2, (face_box.y0 + face_box.y1) / 2
    side = max(1, min(side, width, height))
    x0 = int(np.clip(round(centre_x - side / 2), 0, width - side))
    y0 = int(np.clip(round(centre_y - side / 2), 0, height - side))
    square = image_bgr[y0 : y0 + side, x0 : x0 + side]
    interpolation = cv2.INTER_AREA if side > size_px else cv2.INTER_CUBIC
    return np.asarray(cv2.resize(square, (size_px, size_px), interpolation=interpolation), dtype=np.uint8)


def _write_json_atomically(path: Path, data: dict[str, Any]) -> None:
    descriptor, temporary = tempfile.mkstemp(prefix=".entry-", suffix=".json", dir=path.parent)
    try:
        with os.fdopen(descriptor, "w", encoding="utf-8") as file:
            json.dump(data, file, indent=2, ensure_ascii=False)
            file.flush()
            os.fsync(file.fileno())
        os.replace(temporary, path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


class TargetGallery:
    """The saved target faces in one folder. Any thread, but one writer at a time (the GUI thread or the CLI)."""

    def __init__(self, root: Path | None = None) -> None:
        self.root = root if root is not None else data_dir() / "targets"

    def add(
        self,
        photo_path: Path,
        name: str,
        face_index: int,
        consent_confirmed: bool,
        statement: str = CONSENT_STATEMENT,
        *,
        face: FaceLandmarks | None = None,
        model_path: Path | None = None,
    ) -> GalleryEntry:
        """Save a face from a photo, with the user's consent.

        face: the chosen face's landmarks in the photo's pixels (the GUI has them from its face chooser); without it,
        model_path (the landmark model) is used to find the faces and face_index picks one; with neither, the
        thumbnail is the photo's centre and the entry has no note. The face's box makes the thumbnail, its
        expression scores and mesh the entry's note about the photo (expression.photo_note). Raises
        TargetFaceError without consent, with an empty name, an unreadable photo, or a face_index that does not
        exist; OSError-type problems become TargetFaceError too.
        """
        if not consent_confirmed:
            raise TargetFaceError(
                "A face can only be added after you confirm that you have the right to use it "
                '(tick "I confirm this" when adding it; on the command line, --consent confirms a target photo).'
            )
        if not name.strip():
            raise TargetFaceError("Give the face a name to show in the gallery.")
        if face_index < 0:
            raise TargetFaceError(f"Face number {face_index + 1} does not exist.")
        from faceswap_live.inputs.target_photo import read_image  # imports MediaPipe: only when a face is added

        image = read_image(photo_path)
        if face is None and model_path is not None:
            from faceswap_live.inputs.target_photo import find_faces_in_photo

            faces = find_faces_in_photo(image, model_path)
            if not faces:
                raise TargetFaceError(
                    f"No face was found in {photo_path.name}. Use a photo where the face is clearly visible."
                )
            if face_index >= len(faces):
                raise TargetFaceError(
                    f"{photo_path.name} holds {len(faces)} face(s); face number {face_index + 1} does not exist."
                )
            face = faces[face_index]
        from faceswap_live.engines.target_mask import wears_glasses
        from faceswap_live.stages.expression import photo_note

        face_box = None if face is None else face.box
        note = ""
        if face is not None:
            glasses = wears_glasses(TargetFace(image_bgr=image, landmarks=face, name=name))
            note = photo_note(face.blendshapes or {}, face.points_px, glasses=glasses)
        entry_id = uuid.uuid4().hex[:12]
        # Microseconds keep faces added within one second in the order they were added.
        now = datetime.datetime.now(datetime.UTC).isoformat(timespec="microseconds")
        try:
            self.root.mkdir(parents=True, exist_ok=True)
            staging = Path(tempfile.mkdtemp(prefix=f".adding-{entry_id}-", dir=self.root))
            try:
                suffix = photo_path.suffix.lower() or ".jpg"
                shutil.copyfile(photo_path, staging / f"photo{suffix}")
                ok, encoded = cv2.imencode(".png", thumbnail_crop(image, face_box))
                if not ok:
                    raise TargetFaceError(f"Could not make a thumbnail of {photo_path.name}.")
                (staging / THUMBNAIL_FILE).write_bytes(encoded.tobytes())
                folder = self.root / entry_id
                entry = GalleryEntry(
                    id=entry_id,
                    name=name.strip(),
                    photo_path=folder / f"photo{suffix}",
                    thumbnail_path=folder / THUMBNAIL_FILE,
                    face_index=face_index,
                    consent=ConsentRecord(confirmed=True, timestamp=now, statement=statement or CONSENT_STATEMENT),
                    created_at=now,
                    source_name=photo_path.name,
                    note=note,
                )
                _write_json_atomically(staging / ENTRY_FILE, entry.to_json())
                staging.rename(folder)
            except BaseException:
                shutil.rmtree(staging, ignore_errors=True)
                raise
        except OSError as error:
            raise TargetFaceError(f"Could not save the face in {self.root}: {error.strerror or error}.") from error
        logger.info("Added %r to the gallery (%s), consent confirmed at %s", entry.name, entry_id, now)
        return entry

    def add_more_photo(self, entry_id: str, photo_path: Path, model_path: Path) -> GalleryEntry:
        """Add another photo of an entry's person (the largest face in it; the entry's consent covers that person):
        the built-in engine then draws whichever photo's expression is nearest the user's. Returns the updated entry.
        Raises TargetFaceError for an unreadable photo, one without a face, or an entry that cannot be written."""
        from faceswap_live.inputs.target_photo import find_faces_in_photo, read_image

        entry = self.get(entry_id)
        image = read_image(photo_path)
        if not find_faces_in_photo(image, model_path, max_faces=1):
            raise TargetFaceError(
                f"No face was found in {photo_path.name}. "
                f"Use a photo of {entry.name} where the face is clearly visible."
            )
        folder = self._folder(entry_id)
        stems = {path.stem for path in entry.more_photos}
        number = 1
        while f"more-{number}" in stems:
            number += 1
        destination = folder / f"more-{number}{photo_path.suffix.lower() or '.jpg'}"
        updated = dataclasses.replace(entry, more_photos=(*entry.more_photos, destination))
        try:
            shutil.copyfile(photo_path, destination)
            _write_json_atomically(folder / ENTRY_FILE, updated.to_json())
        except OSError as error:
            destination.unlink(missing_ok=True)
            raise TargetFaceError(f"Could not save the photo in {folder}: {error.strerror or error}.") from error
        logger.info("Added another photo of %r (%s): %s", entry.name, entry_id, destination.name)
        return updated

    def clear_more_photos(self, entry_id: str) -> GalleryEntry:
        """Back to the entry's first photo only: its other photos are forgotten and their files deleted. Returns the
        updated entry; raises TargetFaceError when the entry cannot be written."""
        entry = self.get(entry_id)
        updated = dataclasses.replace(entry, more_photos=())
        folder = self._folder(entry_id)
        try:
            _write_json_atomically(folder / ENTRY_FILE, updated.to_json())
            for path in entry.more_photos:
                path.unlink(missing_ok=True)
        except OSError as error:
            raise TargetFaceError(f"Could not update the saved face in {folder}: {error.strerror or error}.") from error
        logger.info("%r (%s) uses its first photo only again", entry.name, entry_id)
        return updated

    def list(self) -> list[GalleryEntry]:
        """All entries, oldest first; unreadable entries are skipped with a warning."""
        if not self.root.is_dir():
            return []
        entries = []
        for folder in self.root.iterdir():
            if not _ID_PATTERN.match(folder.name) or not folder.is_dir():
                continue  # staging folders and strays
            try:
                entries.append(self._load(folder))
            except (OSError, ValueError, KeyError, TypeError) as error:
                logger.warning("Skipping unreadable gallery entry %s: %s", folder, error)
        return sorted(entries, key=lambda entry: (entry.created_at, entry.id))

    def get(self, entry_id: str) -> GalleryEntry:
        """One entry by id. Raises TargetFaceError if there is no such entry."""
        folder = self._folder(entry_id)
        try:
            return self._load(folder)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise TargetFaceError(f"The saved face {entry_id} cannot be read: {error}.") from error

    def remove(self, entry_id: str) -> None:
        """Delete an entry and its files. Raises TargetFaceError if there is no such entry."""
        folder = self._folder(entry_id)
        try:
            shutil.rmtree(folder)
        except OSError as error:
            raise TargetFaceError(f"Could not delete the saved face {entry_id}: {error.strerror or error}.") from error
        logger.info("Removed gallery entry %s", entry_id)

    def _folder(self, entry_id: str) -> Path:
        folder = self.root / entry_id
        if not _ID_PATTERN.match(entry_id) or not (folder / ENTRY_FILE).is_file():
            raise TargetFaceError(f"There is no saved face with id {entry_id!r}.")
        return folder

    @staticmethod
    def _load(folder: Path) -> GalleryEntry:
        return GalleryEntry.from_json(folder, json.loads((folder / ENTRY_FILE).read_text(encoding="utf-8")))
