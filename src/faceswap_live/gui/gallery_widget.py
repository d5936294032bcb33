"""The target gallery: a grid of saved faces (thumbnails), "no swap" first; drop photos on it to add faces. The faces
pane puts it under a header with the "Add face…" button, a hint while it is empty and the state of the chosen face.

Shows what the gallery store (faceswap_live.gallery) holds; it stores nothing itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from PySide6.QtCore import QPoint, QSize, Qt, QUrl, Signal
from PySide6.QtGui import QAction, QColor, QDragEnterEvent, QDragMoveEvent, QDropEvent, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import (
    QAbstractItemView,
    QHBoxLayout,
    QLabel,
    QListView,
    QListWidget,
    QListWidgetItem,
    QMenu,
    QPushButton,
    QVBoxLayout,
    QWidget,
)

from faceswap_live.gallery import GalleryEntry
from faceswap_live.inputs.capture import IMAGE_SUFFIXES

NO_TARGET = ""
NOTE_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role holding the entry's note about its photo."""
MORE_PHOTOS_ROLE = Qt.ItemDataRole.UserRole + 2
"""Item data role holding how many more photos of the person the entry has."""
THUMBNAIL_PX = 84
EMPTY_GALLERY_HINT = (
    "No faces yet: click “Add face…” or drop a photo of a face here. Until then the preview shows your own face."
)


def _no_swap_icon() -> QIcon:
    pixmap = QPixmap(THUMBNAIL_PX, THUMBNAIL_PX)
    pixmap.fill(QColor(40, 44, 54))
    painter = QPainter(pixmap)
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setPen(QColor(150, 158, 175))
    font = painter.font()
    font.setPixelSize(13)
    painter.setFont(font)
    painter.drawText(pixmap.rect(), Qt.AlignmentFlag.AlignCenter, "Your own\nface")
    painter.end()
    return QIcon(pixmap)


def image_paths_in(urls: Iterable[QUrl]) -> list[Path]:
    """Local image files among dropped URLs (QUrl objects)."""
    paths = []
    for url in urls:
        if url.isLocalFile():
            path = Path(url.toLocalFile())
            if path.suffix.lower() in IMAGE_SUFFIXES:
                paths.append(path)
    return paths


class GalleryWidget(QListWidget):
    """Grid of targets. Signals carry gallery entry ids ("" = no swap). GUI thread only."""

    target_chosen = Signal(str)
    photos_dropped = Signal(list)
    remove_requested = Signal(str)
    more_photos_requested = Signal(str)
    """The user asked to add other photos of an entry's person (entry id)."""
    first_photo_only_requested = Signal(str)
    """The user asked to go back to an entry's first photo only (entry id)."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setViewMode(QListView.ViewMode.IconMode)
        self.setIconSize(QSize(THUMBNAIL_PX, THUMBNAIL_PX))
        self.setGridSize(QSize(THUMBNAIL_PX + 22, THUMBNAIL_PX + 30))
        self.setResizeMode(QListView.ResizeMode.Adjust)
        self.setMovement(QListView.Movement.Static)
        self.setWrapping(True)
        self.setUniformItemSizes(True)
        self.setWordWrap(True)
        self.setSelectionMode(QAbstractItemView.SelectionMode.SingleSelection)
        self.setAcceptDrops(True)
        self.setDragDropMode(QAbstractItemView.DragDropMode.DropOnly)
        self.setMinimumHeight(2 * (THUMBNAIL_PX + 30) + 8)  # two rows: more than one face in view
        self.setContextMenuPolicy(Qt.ContextMenuPolicy.CustomContextMenu)
        self.customContextMenuRequested.connect(self._show_menu)
        self.currentItemChanged.connect(self._current_changed)
        self.setToolTip("Click a face to swap to it. Drop photos here to add faces.")
        self._no_swap_icon = _no_swap_icon()
        self._updating = False
        self.set_entries([])

    def set_entries(self, entries: Iterable[GalleryEntry], current_id: str = NO_TARGET) -> None:
        """Show these gallery entries and select current_id."""
        self._updating = True
        try:
            self.clear()
            first = QListWidgetItem(self._no_swap_icon, "No swap")
            first.setData(Qt.ItemDataRole.UserRole, NO_TARGET)
            first.setToolTip("Pass-through: your own face (Ctrl+0)")
            self.addItem(first)
            for number, entry in enumerate(entries, start=1):
                path = entry.thumbnail_path
                icon = QIcon(str(path)) if path.is_file() else QIcon()
                item = QListWidgetItem(icon, entry.name)
                item.setData(Qt.ItemDataRole.UserRole, entry.id)
                shortcut = f" (Alt+{number})" if number <= 9 else ""
                note = entry.note
                item.setData(NOTE_ROLE, note)
                item.setData(MORE_PHOTOS_ROLE, len(entry.more_photos))
                lines = [f"{entry.name}{shortcut}"]
                if entry.more_photos:
                    lines.append(f"{1 + len(entry.more_photos)} photos: the one nearest your expression is drawn")
                lines += [note] if note else []
                item.setToolTip("\n".join(lines))
                self.addItem(item)
            self.select_id(current_id)
        finally:
            self._updating = False

    def ids(self) -> list[str]:
        """Entry ids in display order, "" (no swap) first."""
        return [str(self.item(row).data(Qt.ItemDataRole.UserRole)) for row in range(self.count())]

    def name_of(self, entry_id: str) -> str:
        """The shown name of an entry ("" when it is not listed)."""
        for row in range(self.count()):
            if self.item(row).data(Qt.ItemDataRole.UserRole) == entry_id:
                return str(self.item(row).text())
        return ""

    def note_of(self, entry_id: str) -> str:
        """The entry's advice about its photo (e.g. "this photo smiles: ..."; "" when there is none)."""
        for row in range(self.count()):
            if self.item(row).data(Qt.ItemDataRole.UserRole) == entry_id:
                return str(self.item(row).data(NOTE_ROLE) or "")
        return ""

    def more_photos_of(self, entry_id: str) -> int:
        """How many more photos of the person the entry has (0 when it is not listed)."""
        for row in range(self.count()):
            if self.item(row).data(Qt.ItemDataRole.UserRole) == entry_id:
                return int(self.item(row).data(MORE_PHOTOS_ROLE) or 0)
        return 0

    def select_id(self, entry_id: str) -> None:
        """Highlight an entry without emitting target_chosen."""
        blocked = self.blockSignals(True)
        try:
            for row in range(self.count()):
                if self.item(row).data(Qt.ItemDataRole.UserRole) == entry_id:
                    self.setCurrentRow(row)
                    break
        finally:
            self.blockSignals(blocked)

    def _current_changed(self, current: QListWidgetItem | None, _previous: QListWidgetItem | None) -> None:
        if current is not None and not self._updating:
            self.target_chosen.emit(str(current.data(Qt.ItemDataRole.UserRole)))

    def _show_menu(self, position: QPoint) -> None:
        item = self.itemAt(position)
        if item is None or not item.data(Qt.ItemDataRole.UserRole):
            return
        self.menu_for(item).exec(self.viewport().mapToGlobal(position))

    def menu_for(self, item: QListWidgetItem) -> QMenu:
        """The right-click menu of a gallery face: add more photos of that person, or remove the face."""
        entry_id = str(item.data(Qt.ItemDataRole.UserRole))
        menu = QMenu(self)
        more = QAction(f"Add more photos of {item.text()}…", menu)
        more.setToolTip("Photos of the same person smiling or frowning: each moment, the one nearest your own is drawn")
        more.triggered.connect(lambda: self.more_photos_requested.emit(entry_id))
        menu.addAction(more)
        if item.data(MORE_PHOTOS_ROLE):
            first_only = QAction(f"Use only the first photo of {item.text()}", menu)
            first_only.triggered.connect(lambda: self.first_photo_only_requested.emit(entry_id))
            menu.addAction(first_only)
        remove = QAction(f"Remove {item.text()}", menu)
        remove.triggered.connect(lambda: self.remove_requested.emit(entry_id))
        menu.addAction(remove)
        return menu

    # --- drag and drop of photo files ---

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if image_paths_in(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: QDragMoveEvent) -> None:  # noqa: N802 - Qt API
        if image_paths_in(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        paths = image_paths_in(event.mimeData().urls())
        if paths:
            event.acceptProposedAction()
            self.photos_dropped.emit(paths)
        else:
            event.ignore()


class FacesPane(QWidget):
    """The "Faces" header with the add button, the gallery, a hint while it is empty, and the chosen face's state."""

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        layout = QVBoxLayout(self)
        layout.setContentsMargins(8, 8, 8, 0)
        header = QHBoxLayout()
        self.add_button = QPushButton("Add face…")
        self.add_button.setToolTip("Add a face from a photo (Ctrl+O), or drop photos on the list")
        header.addWidget(QLabel("<b>Faces</b>"))
        header.addStretch(1)
        header.addWidget(self.add_button)
        layout.addLayout(header)
        self.gallery = GalleryWidget()
        layout.addWidget(self.gallery, 1)
        self.hint = QLabel(EMPTY_GALLERY_HINT)
        self.hint.setWordWrap(True)
        self.hint.setStyleSheet("color: #9fd3ff;")
        layout.addWidget(self.hint)
        self.state = QLabel("")
        """What happens with the chosen face ("Swapping to …", "Loading the face…")."""
        self.state.setWordWrap(True)
        layout.addWidget(self.state)
