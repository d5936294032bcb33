"""The main window: the preview, the faces, the settings and the status bar laid out, their actions and shortcuts wired
to the parts that do the work, and drops of photos or videos on the window.

The parts: RunController (settings, runner, outputs), PreviewFeed (results into the preview), GalleryActions (the
faces), ModelController (model files), DialogHost (every question asked) and WindowState (what is kept between runs).
Threads: everything here runs on the GUI thread; slow one-off work runs on BackgroundJobs.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import Qt, Signal
from PySide6.QtGui import QCloseEvent, QDragEnterEvent, QDropEvent
from PySide6.QtWidgets import QDialog, QLabel, QMainWindow, QSplitter, QVBoxLayout, QWidget

from faceswap_live import __version__
from faceswap_live.config import AppConfig, data_dir, default_config_path
from faceswap_live.gallery import TargetGallery
from faceswap_live.gui.cameras import list_cameras
from faceswap_live.gui.dialog_host import DialogHost
from faceswap_live.gui.face_mapping import FaceMapping
from faceswap_live.gui.gallery_actions import GalleryActions
from faceswap_live.gui.gallery_widget import NO_TARGET, FacesPane, image_paths_in
from faceswap_live.gui.messages import ErrorBar, MessagesButton, gui_wording
from faceswap_live.gui.model_controller import ModelController
from faceswap_live.gui.preview import PreviewMode, PreviewWidget
from faceswap_live.gui.preview_feed import PreviewFeed
from faceswap_live.gui.run_controller import RunController, read_config
from faceswap_live.gui.settings_panel import SettingsPanel
from faceswap_live.gui.window_actions import SHORTCUTS, WindowActions
from faceswap_live.gui.window_state import WindowState, fit_to_screen
from faceswap_live.gui.workers import BackgroundJobs
from faceswap_live.inputs.capture import IMAGE_SUFFIXES, FrameSource
from faceswap_live.models.store import ModelStore
from faceswap_live.runtime.runner import PipelineRunner

logger = logging.getLogger(__name__)


class MainWindow(QMainWindow):
    """The app window. Dependencies can be injected so tests never touch the user's folders or devices.

    config_path: settings TOML (default: the user config file); the window state (target, view) is kept beside it.
    gallery_root: folder of the target gallery (default: <user data dir>/targets).
    landmark_model_path: the MediaPipe model (default: fetched through the model store in the background).
    model_store: a ModelStore (default: ModelStore()).
    open_source: how the runner opens config.capture (default: camera, video file or image by name).
    cameras: the camera list for the source menu (default: list_cameras()).
    autostart: start the pipeline once the model is there (tests may set it False and call start()).
    source: use this camera or video file for this run only (the saved setting is kept).
    quit_after_frames: close the window once this many processed frames have been shown (scripted checks).
    """

    target_ready = Signal(str)
    """A gallery entry's face has been loaded and handed to the runner (entry id)."""

    def __init__(
        self,
        *,
        config_path: Path | None = None,
        gallery_root: Path | None = None,
        landmark_model_path: Path | None = None,
        model_store: ModelStore | None = None,
        open_source: Callable[[AppConfig], FrameSource] | None = None,
        cameras: list[tuple[str, str]] | None = None,
        autostart: bool = True,
        source: str | None = None,
        quit_after_frames: int = 0,
    ) -> None:
        super().__init__()
        self.setWindowTitle("faceswap-live")
        self.setAcceptDrops(True)
        config_path = config_path or default_config_path()
        self._jobs = BackgroundJobs(self)
        self.dialogs = DialogHost(self)
        self._closing = False

        config, config_problem = read_config(config_path)
        self.run = RunController(config_path, config, source, open_source, self)
        self.preview = PreviewWidget()
        self.error_bar = ErrorBar()
        self.faces_pane = pane = FacesPane()
        self.gallery_widget, self.gallery_hint, self.target_state = pane.gallery, pane.hint, pane.state
        self.panel = SettingsPanel(self.run.config, cameras if cameras is not None else list_cameras())
        self._build_layout()
        self.menu_actions = actions = WindowActions(self)
        self.swap_action, self.overlay_action, self.mesh_action = actions.swap, actions.overlay, actions.mesh
        self.mask_action, self.virtual_camera_action = actions.mask, actions.virtual_camera
        self.swap_action.setChecked(self.run.config.swap.enabled)
        self.models = ModelController(
            model_store, landmark_model_path, self.panel, self.preview, self.dialogs, self._jobs, self
        )
        gallery = TargetGallery(root=gallery_root or data_dir() / "targets")
        self.faces = GalleryActions(
            gallery, self.faces_pane, self.run.outputs.live_outputs, self.dialogs, self._jobs, self, landmark_model_path
        )
        self.feed = PreviewFeed(
            self.run, self.faces, self.preview, self.panel, self.status_source, self.status_speed, quit_after_frames
        )
        self.face_mapping = FaceMapping(
            self.preview, self.faces.mapping_choices, self.run.set_face_target, self.run.clear_face_targets
        )
        self.state = WindowState(self, config_path.with_name("window-state.json"))
        self._connect()

        self.state.restore()
        self.faces.show_swap_enabled(self.run.config.swap.enabled)
        self.faces.refresh()
        self.models.refresh_state(self.run.config.swap.engine)
        if config_problem:
            self.show_error(config_problem)
        fit_to_screen(self)
        if autostart:
            self.start()

    # --- layout and wiring ---

    def _build_layout(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 4, 8)
        left_layout.addWidget(self.error_bar)
        left_layout.addWidget(self.preview, 1)

        self.side_splitter = QSplitter(Qt.Orientation.Vertical)
        self.side_splitter.addWidget(self.faces_pane)
        self.side_splitter.addWidget(self.panel)
        self.side_splitter.setStretchFactor(0, 1)
        self.side_splitter.setStretchFactor(1, 3)
        self.side_splitter.setSizes([300, 560])

        self.main_splitter = QSplitter(Qt.Orientation.Horizontal)
        self.main_splitter.addWidget(left)
        self.main_splitter.addWidget(self.side_splitter)
        self.main_splitter.setStretchFactor(0, 1)
        self.main_splitter.setStretchFactor(1, 0)
        self.main_splitter.setCollapsible(0, False)
        self.main_splitter.setSizes([1060, 360])
        self.setCentralWidget(self.main_splitter)

        self.status_source = QLabel("")
        self.status_speed = QLabel("")
        self.messages_button = MessagesButton()
        self.statusBar().addWidget(self.status_source, 1)
        self.statusBar().addPermanentWidget(self.messages_button)
        self.statusBar().addPermanentWidget(self.status_speed)

    def _connect(self) -> None:
        actions, run, outputs, faces, panel = self.menu_actions, self.run, self.run.outputs, self.faces, self.panel
        actions.add_face.triggered.connect(faces.choose_photo)
        actions.video_source.triggered.connect(self.choose_video_source)
        actions.quit.triggered.connect(self.close)
        actions.swap.toggled.connect(run.set_swap_enabled)
        actions.no_target.triggered.connect(lambda: faces.select_target(NO_TARGET))
        for number, action in enumerate(actions.target_numbers, start=1):
            action.triggered.connect(lambda _checked=False, n=number: faces.select_number(n))
        for mode, action in actions.views.items():
            action.toggled.connect(lambda checked, m=mode: self.set_preview_mode(m) if checked else None)
        actions.overlay.toggled.connect(self.set_overlay)
        actions.mesh.toggled.connect(self._face_drawing_changed)
        actions.mask.toggled.connect(self._face_drawing_changed)
        actions.side_panel.toggled.connect(self.side_splitter.setVisible)
        actions.fullscreen.toggled.connect(lambda on: self.showFullScreen() if on else self.showNormal())
        actions.virtual_camera.triggered.connect(
            lambda: outputs.set_virtual_camera(not run.config.output.virtual_camera)
        )
        actions.shortcuts.triggered.connect(lambda: self.dialogs.show_shortcuts(SHORTCUTS))
        actions.messages.triggered.connect(self.show_messages)
        actions.about.triggered.connect(
            lambda: self.dialogs.show_about(__version__, self.run.config_path, self.faces.gallery.root)
        )
        self.messages_button.clicked.connect(self.show_messages)
        self.preview.open_video_requested.connect(self.choose_video_source)

        panel.config_changed.connect(run.apply_config)
        panel.video_file_requested.connect(self.choose_video_source)
        panel.virtual_camera_requested.connect(outputs.set_virtual_camera)
        panel.stream_requested.connect(outputs.set_stream)
        panel.recording_requested.connect(outputs.set_recording)
        panel.record_file_requested.connect(self.choose_record_file)
        panel.label_off_requested.connect(lambda: self.dialogs.confirm_label_off(lambda: panel.set_label(False)))
        panel.model_download_requested.connect(self.models.download)

        for problems in (run.error, faces.error, self.models.error):
            problems.connect(self.show_error)
        run.config_applied.connect(self._config_applied)
        outputs.virtual_camera_shown.connect(panel.show_virtual_camera)
        outputs.stream_shown.connect(panel.output_panel.set_stream_state)
        outputs.recording_shown.connect(panel.output_panel.set_recording)
        outputs.recording_saved.connect(self.status_source.setText)
        outputs.record_path_changed.connect(self.state.schedule_save)
        faces.target_chosen.connect(run.set_target)
        faces.target_ready.connect(self.target_ready)
        faces.selection_changed.connect(self.state.schedule_save)
        self.models.landmark_model_ready.connect(self._landmark_model_ready)
        self.models.engine_models_present.connect(run.retry_engine)
        self.feed.enough_frames.connect(self.close, Qt.ConnectionType.QueuedConnection)

    # --- what scripts and tests read most (the parts are public: run, feed, faces, models, dialogs, state) ---

    @property
    def runner(self) -> PipelineRunner | None:
        return self.run.runner

    @property
    def config(self) -> AppConfig:
        return self.run.config

    @property
    def active_dialog(self) -> QDialog | None:
        return self.dialogs.active

    # --- lifecycle ---

    def start(self) -> None:
        """Get the landmark model (in the background if needed), then start the pipeline and the preview."""
        self.feed.start()
        self.models.fetch_landmark_model()

    def _landmark_model_ready(self, path: Path) -> None:
        if self._closing:
            return
        self.run.start_runner(path, self.models.locator())
        self.faces.set_landmark_model(path)

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> bool:
        """Stop the preview, the runner's threads (within about a second) and the outputs; save settings. Idempotent.

        True when every worker thread stopped."""
        if self._closing:
            return True
        self._closing = True
        self.feed.stop()
        self.state.save_and_stop()
        self.faces.shutdown()
        stopped = self.run.shutdown()
        if not self._jobs.wait(0.1):
            logger.info("A background job (photo or model) is still finishing; it will end on its own")
        return stopped

    # --- view ---

    def set_preview_mode(self, mode: PreviewMode) -> None:
        self.preview.set_mode(mode)
        self.feed.update_banner()
        self.menu_actions.views[mode].setChecked(True)
        self.state.schedule_save()

    def set_overlay(self, enabled: bool) -> None:
        self.preview.set_overlay(enabled)
        if self.overlay_action.isChecked() != enabled:
            self.overlay_action.setChecked(enabled)
        if enabled:
            self.feed.refresh_stats()
        self.state.schedule_save()

    def _face_drawing_changed(self, _checked: bool = False) -> None:
        mesh, mask = self.mesh_action.isChecked(), self.mask_action.isChecked()
        self.preview.set_face_drawing(mesh, mask)
        if (mesh or mask) and not self.overlay_action.isChecked():
            self.set_overlay(True)
        self.state.schedule_save()

    def _config_applied(self, previous: AppConfig, config: AppConfig) -> None:
        if self.panel.config != config:
            self.panel.set_config(config)
        self.swap_action.setChecked(config.swap.enabled)  # toggles back to set_swap_enabled, which sees no change
        self.faces.show_swap_enabled(config.swap.enabled)
        if config.swap.engine != previous.swap.engine:
            self.models.refresh_state(config.swap.engine)
        self.state.schedule_save()

    # --- dialogs and messages ---

    def choose_video_source(self) -> None:
        path = self.dialogs.choose_video_file()
        if path:
            self.run.use_source(path)

    def choose_record_file(self) -> None:
        outputs = self.run.outputs
        path = self.dialogs.choose_record_file(outputs.record_path or outputs.default_record_path())
        if path is not None:
            outputs.set_record_path(path)

    def show_error(self, error: object) -> None:
        """Show a problem once, in the bar above the preview (and in the message log); the app keeps going."""
        text = gui_wording(error)
        if not text or self._closing:
            return
        logger.warning("%s", text)
        self.messages_button.add(text)
        self.error_bar.show_message(text)

    def show_messages(self) -> None:
        self.dialogs.show_messages(self.messages_button.log)

    # --- drag and drop: photos add faces, a video becomes the camera ---

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls()
        if not self.faces.add_photos(image_paths_in(urls)):
            videos = [url.toLocalFile() for url in urls if url.isLocalFile()]
            if videos and Path(videos[0]).suffix.lower() not in IMAGE_SUFFIXES:
                self.run.use_source(videos[0])
        event.acceptProposedAction()
