"""The target gallery: a grid of saved faces (thumbnails), "no swap" first; drop photos on it to add faces.

Shows what the gallery store (faceswap_live.gallery) holds; it stores nothing itself.
"""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QSize, Qt, Signal
from PySide6.QtGui import QAction, QColor, QDragEnterEvent, QDropEvent, QIcon, QPainter, QPixmap
from PySide6.QtWidgets import QAbstractItemView, QListView, QListWidget, QListWidgetItem, QMenu, QWidget

from faceswap_live.inputs.capture import IMAGE_SUFFIXES

NO_TARGET = ""
NOTE_ROLE = Qt.ItemDataRole.UserRole + 1
"""Item data role holding the entry's note about its photo."""
THUMBNAIL_PX = 84


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


def thumbnail_path_of(entry: Any) -> Path | None:
    """The entry's thumbnail file, whatever the gallery calls the attribute."""
    for attribute in ("thumbnail_path", "thumbnail"):
        value = getattr(entry, attribute, None)
        if value:
            return Path(value)
    return None


def image_paths_in(urls: Iterable[Any]) -> list[Path]:
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

    def set_entries(self, entries: Iterable[Any], current_id: str = NO_TARGET) -> None:
        """Show these gallery entries (objects with id, name and a thumbnail path) and select current_id."""
        self._updating = True
        try:
            self.clear()
            first = QListWidgetItem(self._no_swap_icon, "No swap")
            first.setData(Qt.ItemDataRole.UserRole, NO_TARGET)
            first.setToolTip("Pass-through: your own face (Ctrl+0)")
            self.addItem(first)
            for number, entry in enumerate(entries, start=1):
                path = thumbnail_path_of(entry)
                icon = QIcon(str(path)) if path is not None and path.is_file() else QIcon()
                item = QListWidgetItem(icon, str(entry.name))
                item.setData(Qt.ItemDataRole.UserRole, str(entry.id))
                shortcut = f" (Alt+{number})" if number <= 9 else ""
                note = str(getattr(entry, "note", "") or "")
                item.setData(NOTE_ROLE, note)
                item.setToolTip(f"{entry.name}{shortcut}\n{note}" if note else f"{entry.name}{shortcut}")
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

    def _show_menu(self, position: Any) -> None:
        item = self.itemAt(position)
        if item is None or not item.data(Qt.ItemDataRole.UserRole):
            return
        menu = QMenu(self)
        remove = QAction(f"Remove {item.text()}", menu)
        remove.triggered.connect(lambda: self.remove_requested.emit(str(item.data(Qt.ItemDataRole.UserRole))))
        menu.addAction(remove)
        menu.exec(self.viewport().mapToGlobal(position))

    # --- drag and drop of photo files ---

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if image_paths_in(event.mimeData().urls()):
            event.acceptProposedAction()
        else:
            event.ignore()

    def dragMoveEvent(self, event: Any) -> None:  # noqa: N802 - Qt API
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
