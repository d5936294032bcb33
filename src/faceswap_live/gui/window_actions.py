"""The window's actions (menu items and their keyboard shortcuts), its menus and its toolbar, and the list of shortcuts
shown under Help. What each action does is connected by the window."""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QAction, QActionGroup, QKeySequence
from PySide6.QtWidgets import QMainWindow, QToolBar

from faceswap_live.gui.preview import PreviewMode

SHORTCUTS = (  # as shown under Help
    ("Ctrl+O", "Add a face from a photo"),
    ("Ctrl+Shift+O", "Use a video file as the camera"),
    ("Ctrl+Space", "Swap on / off"),
    ("Ctrl+0, Alt+1…9", "Your own face, face 1…9 of the gallery"),
    ("Ctrl+1 / 2 / 3", "Output / side by side / original"),
    ("F3 or Ctrl+P", "Profiling overlay"),
    ("Ctrl+M, Ctrl+Shift+M", "Landmark mesh, mask outline"),
    ("Ctrl+Shift+V", "Virtual camera on / off"),
    ("Ctrl+B", "Show / hide the side panel"),
    ("F11", "Full screen"),
    ("Ctrl+Q", "Quit"),
)
VIEWS: tuple[tuple[PreviewMode, str, str], ...] = (
    ("output", "&Output", "Ctrl+1"),
    ("side_by_side", "Side by side with &original", "Ctrl+2"),
    ("original", "Original &camera", "Ctrl+3"),
)


class WindowActions:
    """Creates the actions on the window (their shortcuts work even when the menu bar is hidden), then its menus and
    toolbar."""

    def __init__(self, window: QMainWindow) -> None:
        self._window = window
        self.add_face = self._action("&Add face from photo…", ["Ctrl+O"])
        self.video_source = self._action("Use &video file as source…", ["Ctrl+Shift+O"])
        self.quit = self._action("&Quit", ["Ctrl+Q"])
        self.swap = self._action("&Swap face", ["Ctrl+Space"], checkable=True)
        self.no_target = self._action("&No swap (your own face)", ["Ctrl+0"])
        self.target_numbers = [self._action(f"Face {number}", [f"Alt+{number}"]) for number in range(1, 10)]
        """Alt+1…9: the gallery's faces by number (no menu entries)."""
        self.view_group = QActionGroup(window)
        self.views: dict[PreviewMode, QAction] = {}
        for mode, text, shortcut in VIEWS:
            self.views[mode] = self._action(text, [shortcut], checkable=True)
            self.view_group.addAction(self.views[mode])
        self.views["output"].setChecked(True)
        self.overlay = self._action("&Profiling overlay", ["F3", "Ctrl+P"], checkable=True)
        self.mesh = self._action("Landmark &mesh (with overlay)", ["Ctrl+M"], checkable=True)
        self.mask = self._action("Face m&ask outline (with overlay)", ["Ctrl+Shift+M"], checkable=True)
        self.side_panel = self._action("Side &panel", ["Ctrl+B"], checkable=True)
        self.side_panel.setChecked(True)
        self.fullscreen = self._action("&Full screen", ["F11"], checkable=True)
        self.virtual_camera = self._action("&Virtual camera", ["Ctrl+Shift+V"])
        self.shortcuts = self._action("&Keyboard shortcuts", ["F1"])
        self.messages = self._action("&Messages…", [])
        self.about = self._action("&About faceswap-live", [])
        self._build_menus()
        self._build_toolbar()
        self.add_face.setText("Add face…")

    def _action(self, text: str, shortcuts: list[str], checkable: bool = False) -> QAction:
        action = QAction(text, self._window)
        action.setShortcuts([QKeySequence(shortcut) for shortcut in shortcuts])
        action.setCheckable(checkable)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        self._window.addAction(action)
        return action

    def _build_menus(self) -> None:
        menus = self._window.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addActions([self.add_face, self.video_source])
        file_menu.addSeparator()
        file_menu.addAction(self.quit)
        swap_menu = menus.addMenu("&Swap")
        swap_menu.addActions([self.swap, self.no_target])
        view_menu = menus.addMenu("&View")
        view_menu.addActions(list(self.views.values()))
        view_menu.addSeparator()
        view_menu.addActions([self.overlay, self.mesh, self.mask])
        view_menu.addSeparator()
        view_menu.addActions([self.side_panel, self.fullscreen])
        output_menu = menus.addMenu("&Output")
        output_menu.addAction(self.virtual_camera)
        help_menu = menus.addMenu("&Help")
        help_menu.addActions([self.shortcuts, self.messages])
        help_menu.addSeparator()
        help_menu.addAction(self.about)

    def _build_toolbar(self) -> None:
        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(self.add_face)
        toolbar.addSeparator()
        toolbar.addAction(self.swap)
        toolbar.addSeparator()
        toolbar.addActions(list(self.views.values()))
        toolbar.addSeparator()
        toolbar.addAction(self.overlay)
        self._window.addToolBar(toolbar)
