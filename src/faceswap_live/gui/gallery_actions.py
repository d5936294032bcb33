"""What the user does with the face gallery: add a face from a photo (find its faces, pick one, confirm consent), remove
one, choose the face everyone gets, and offer the loaded faces to the per-person face mapping (which can mix two).

Faces load in the background and are kept, so switching between them is instant; the preview never waits for one.
GUI thread only.
"""

from __future__ import annotations

import dataclasses
import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from faceswap_live.errors import TargetFaceError
from faceswap_live.gallery import CONSENT_STATEMENT, GalleryEntry, TargetGallery
from faceswap_live.gui.dialog_host import DialogHost
from faceswap_live.gui.dialogs import ConsentDialog, FacePickerDialog
from faceswap_live.gui.gallery_widget import NO_TARGET, FacesPane
from faceswap_live.gui.workers import BackgroundJobs
from faceswap_live.inputs.target_photo import crop_target, find_faces_in_photo, load_target_face, read_image
from faceswap_live.stages.expression import photo_note
from faceswap_live.types import BgrImage, FaceLandmarks, TargetFace

logger = logging.getLogger(__name__)


class GalleryActions(QObject):
    """The gallery's faces and the choice among them.

    live_outputs: the outputs viewers may be watching now, in words (before the real face goes out, the user is asked).
    landmark_model_path: needed to find faces in photos; None until the model is there (see set_landmark_model).
    """

    target_ready = Signal(str)
    """A gallery entry's face has been loaded and handed on as the face everyone gets (entry id)."""
    target_chosen = Signal(object)
    """The face everyone gets now (a TargetFace, or None for their own face, also while the chosen one loads)."""
    selection_changed = Signal()
    error = Signal(object)

    def __init__(
        self,
        gallery: TargetGallery,
        pane: FacesPane,
        live_outputs: Callable[[], list[str]],
        dialogs: DialogHost,
        jobs: BackgroundJobs,
        window: QWidget,
        landmark_model_path: Path | None = None,
    ) -> None:
        super().__init__(window)
        self.gallery = gallery
        self._widget, self._hint, self._state = pane.gallery, pane.hint, pane.state
        self._live_outputs, self._dialogs, self._jobs, self._window = live_outputs, dialogs, jobs, window
        self._landmark_model_path = landmark_model_path
        self.loaded_targets: dict[str, TargetFace] = {}
        self._loading: set[str] = set()
        self.current_id = NO_TARGET
        self._swap_on = True
        self._closing = False
        pane.add_button.clicked.connect(self.choose_photo)
        pane.gallery.target_chosen.connect(self.select_target)
        pane.gallery.photos_dropped.connect(self.add_photos)
        pane.gallery.remove_requested.connect(self.remove_target)
        pane.gallery.more_photos_requested.connect(self.choose_more_photos)
        pane.gallery.first_photo_only_requested.connect(self.use_first_photo_only)

    def set_landmark_model(self, path: Path) -> None:
        """The face model is there: load the chosen face first, then the others, so later switches are instant."""
        self._landmark_model_path = path
        if self.current_id:
            self.select_target(self.current_id)
        for entry_id in self._widget.ids():
            if entry_id and entry_id not in self.loaded_targets:
                self._load(entry_id)

    def shutdown(self) -> None:
        self._closing = True

    def refresh(self) -> None:
        """Show the gallery's entries again (the chosen one stays chosen while it exists)."""
        entries: list[GalleryEntry] = self.gallery.list()
        if self.current_id not in {entry.id for entry in entries}:
            self.current_id = NO_TARGET
        self._widget.set_entries(entries, self.current_id)
        self._hint.setVisible(not entries)

    # --- choosing ---

    def select_number(self, number: int) -> None:
        """Alt+number: the gallery's face with that number (1 = the first after "No swap")."""
        ids = self._widget.ids()
        if number < len(ids):
            self.select_target(ids[number])

    def select_target(self, entry_id: str, confirmed: bool = False) -> None:
        """Swap to a gallery face ("" = none). Instant when loaded; otherwise pass-through until it is ready.

        Switching from the live face to "No swap" while an output is on asks first (unless confirmed).
        """
        if entry_id == NO_TARGET and self.current_id != NO_TARGET and not confirmed:
            self._widget.select_id(self.current_id)  # stays on the live face until the user agrees
            outputs, proceed = self._live_outputs(), lambda: self.select_target(NO_TARGET, True)
            if self._dialogs.confirm_real_face("Stop swapping your face?", outputs, proceed):
                return
        self.current_id = entry_id
        self._widget.select_id(entry_id)
        self.selection_changed.emit()
        if entry_id == NO_TARGET:
            self.target_chosen.emit(None)
            self._state.setText("Showing your own face.")
            return
        target = self.loaded_targets.get(entry_id)
        if target is not None:
            self.target_chosen.emit(target)
            self._show_chosen(entry_id, target)
            self.target_ready.emit(entry_id)
            return
        self.target_chosen.emit(None)  # pass-through while it loads: the preview never waits
        self._state.setText("Loading the face…")
        self._load(entry_id)

    def show_swap_enabled(self, enabled: bool) -> None:
        """The state line follows the swap switch: a chosen face is not "swapping" while the swap is off."""
        self._swap_on = enabled
        target = self.loaded_targets.get(self.current_id)
        if target is not None:
            self._show_chosen(self.current_id, target)

    def _show_chosen(self, entry_id: str, target: TargetFace) -> None:
        name = self._widget.name_of(entry_id) or target.name
        if not self._swap_on:
            self._state.setText(f"{name} is chosen; the swap is off (Ctrl+Space turns it on).")
            return
        swapping = f"Swapping to {name}."
        note = self._widget.note_of(entry_id)
        # Other photos help with the expression (the nearest one is drawn), not with a turned first photo.
        shows_expression = bool(photo_note(target.landmarks.blendshapes or {}))
        if note and shows_expression and not self._widget.more_photos_of(entry_id):
            note += "; more photos of the same person help too (right-click the face)"
        self._state.setText(f"{swapping} {note[:1].upper()}{note[1:]}." if note else swapping)

    def mapping_choices(self) -> list[tuple[str, TargetFace]]:
        """The loaded gallery faces by name, for the per-person face mapping."""
        return [
            (self._widget.name_of(entry_id) or target.name, target) for entry_id, target in self.loaded_targets.items()
        ]

    def _load(self, entry_id: str) -> None:
        if entry_id in self._loading or self._landmark_model_path is None:
            return
        self._loading.add(entry_id)
        gallery, model_path = self.gallery, self._landmark_model_path

        def load() -> TargetFace:
            entry = gallery.get(entry_id)
            target = load_target_face(Path(entry.photo_path), model_path, entry.face_index)
            more = []
            for path in entry.more_photos:
                try:
                    more.append(load_target_face(path, model_path))
                except TargetFaceError as problem:  # one unreadable extra photo must not lose the face
                    logger.warning("Leaving out another photo of %s: %s", entry.name, problem)
            return dataclasses.replace(target, more_photos=tuple(more))

        def done(target: TargetFace) -> None:
            self._loading.discard(entry_id)
            self.loaded_targets[entry_id] = target
            if self.current_id == entry_id and not self._closing:
                self.select_target(entry_id)

        def failed(error: Exception) -> None:
            self._loading.discard(entry_id)
            if self.current_id == entry_id:
                self._state.setText("This face could not be loaded.")
            self.error.emit(error)

        self._jobs.submit(load, done, failed)

    def remove_target(self, entry_id: str, confirmed: bool = False) -> None:
        """Remove a face from the gallery; removing the live face while an output is on asks first."""
        if not entry_id:
            return
        if entry_id == self.current_id and not confirmed:
            name = self._widget.name_of(entry_id) or "this face"
            question = f"Remove {name}, the face you are swapping to now?"
            outputs, proceed = self._live_outputs(), lambda: self.remove_target(entry_id, True)
            if self._dialogs.confirm_real_face(question, outputs, proceed):
                return
        self.gallery.remove(entry_id)
        self.loaded_targets.pop(entry_id, None)
        if self.current_id == entry_id:
            self.select_target(NO_TARGET, confirmed=True)
        self.refresh()

    # --- more photos of one face ---

    def choose_more_photos(self, entry_id: str) -> None:
        name = self._widget.name_of(entry_id) or "this face"
        self.add_more_photos(entry_id, self._dialogs.choose_photos(f"More photos of {name} (the same person)"))

    def add_more_photos(self, entry_id: str, paths: list[Path]) -> None:
        """Add other photos of an entry's person (background); the face is loaded again with them and, if it is the
        one being swapped to, drawn from them at once."""
        if not paths:
            return
        if self._landmark_model_path is None:
            self.error.emit("The face model is still loading; try again in a moment.")
            return
        gallery, model_path = self.gallery, self._landmark_model_path
        name = self._widget.name_of(entry_id) or "the face"
        self._state.setText(f"Adding {len(paths)} photo(s) of {name}…")

        def add() -> GalleryEntry:
            entry = gallery.get(entry_id)
            for path in paths:
                entry = gallery.add_more_photo(entry_id, path, model_path)
            return entry

        def added(entry: GalleryEntry) -> None:
            self._state.setText(f"{entry.name} now has {1 + len(entry.more_photos)} photos.")
            self._reload(entry_id)

        self._jobs.submit(add, added, self._failed)

    def use_first_photo_only(self, entry_id: str) -> None:
        """Forget an entry's other photos (the first photo, its consent and name stay)."""
        try:
            entry = self.gallery.clear_more_photos(entry_id)
        except TargetFaceError as error:
            self.error.emit(error)
            return
        self._state.setText(f"{entry.name} uses its first photo only.")
        self._reload(entry_id)

    def _reload(self, entry_id: str) -> None:
        """Load an entry's face again after its photos changed; the face being swapped to is handed on again."""
        self.loaded_targets.pop(entry_id, None)
        self.refresh()
        if self.current_id == entry_id:
            self.select_target(entry_id)
        else:
            self._load(entry_id)

    # --- adding ---

    def choose_photo(self) -> None:
        self.add_photos(self._dialogs.choose_photos())

    def add_photos(self, paths: list[Path]) -> bool:
        """Add the first of these photos (each needs its own consent); False when there is none."""
        if paths:
            self.add_target_from_file(paths[0])
        return bool(paths)

    def add_target_from_file(self, path: Path) -> None:
        """Find the faces in a photo (background), let the user pick one and confirm consent, then add it."""
        if self._landmark_model_path is None:
            self.error.emit("The face model is still loading; try again in a moment.")
            return
        model_path = self._landmark_model_path
        self._state.setText(f"Looking for faces in {path.name}…")

        def find() -> tuple[BgrImage, list[FaceLandmarks]]:
            image = read_image(path)
            return image, find_faces_in_photo(image, model_path)

        def found(value: tuple[BgrImage, list[FaceLandmarks]]) -> None:
            image, faces = value
            self._state.setText("")
            if not faces:
                self.error.emit(
                    TargetFaceError(
                        f"No face was found in {path.name}. Use a photo where the face is clearly visible, "
                        "looking roughly towards the camera, and not too small or dark."
                    )
                )
                return
            if len(faces) == 1:
                self._ask_consent(path, image, faces, 0)
                return
            picker = FacePickerDialog(image, [face.box for face in faces], path.name, self._window)
            picker.accepted.connect(lambda: self._ask_consent(path, image, faces, picker.selected_index))
            self._dialogs.open(picker)

        self._jobs.submit(find, found, self._failed)

    def _failed(self, error: Exception) -> None:
        self._state.setText("")
        self.error.emit(error)

    def _ask_consent(self, path: Path, image: BgrImage, faces: list[FaceLandmarks], index: int) -> None:
        target = crop_target(image, faces[index], name=path.stem, source_path=path)
        dialog = ConsentDialog(target.image_bgr, path.stem, CONSENT_STATEMENT, self._window)
        dialog.accepted.connect(lambda: self._add_confirmed(path, index, dialog.name, target, faces[index]))
        self._dialogs.open(dialog)

    def _add_confirmed(self, path: Path, face_index: int, name: str, target: TargetFace, face: FaceLandmarks) -> None:
        gallery = self.gallery
        self._state.setText(f"Adding {name}…")

        def add() -> GalleryEntry:
            # The chosen face's box makes the thumbnail a crop of that face, not the middle of the photo; its scores
            # and mesh the entry's note on the photo.
            return gallery.add(path, name, face_index, True, CONSENT_STATEMENT, face=face)

        def added(entry: GalleryEntry) -> None:
            self.loaded_targets[entry.id] = dataclasses.replace(target, name=name)
            self.refresh()
            self.select_target(entry.id)

        self._jobs.submit(add, added, self._failed)
