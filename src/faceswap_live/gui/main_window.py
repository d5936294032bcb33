"""The main window: live preview, target gallery, settings, outputs, and the wiring between them and the runner.

Threads: everything here runs on the GUI thread. The runner's worker threads are polled (latest_result every ~16 ms,
profile stats 4 times a second); their errors arrive through a queued signal. Slow one-off work (finding faces in a
photo, loading a target, checking or downloading a model) runs on BackgroundJobs, so the preview never stalls.
"""

from __future__ import annotations

import base64
import dataclasses
import json
import logging
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from PySide6.QtCore import QByteArray, QObject, Qt, QTimer, Signal
from PySide6.QtGui import QAction, QActionGroup, QCloseEvent, QDragEnterEvent, QDropEvent, QGuiApplication, QKeySequence
from PySide6.QtWidgets import (
    QDialog,
    QFileDialog,
    QHBoxLayout,
    QLabel,
    QMainWindow,
    QMessageBox,
    QPushButton,
    QSplitter,
    QToolBar,
    QToolButton,
    QVBoxLayout,
    QWidget,
)

from faceswap_live.config import AppConfig, OutputConfig, default_config_path, load_config, replace, save_config
from faceswap_live.errors import (
    ConfigError,
    FaceswapError,
    TargetFaceError,
    VirtualCameraError,
)
from faceswap_live.gui.cameras import list_cameras
from faceswap_live.gui.dialogs import ConsentDialog, FacePickerDialog, LabelOffDialog, LicenceDialog
from faceswap_live.gui.face_mapping import FaceMapping
from faceswap_live.gui.gallery_widget import NO_TARGET, GalleryWidget, image_paths_in
from faceswap_live.gui.messages import ErrorBar, MessageLog, MessageLogDialog, gui_wording
from faceswap_live.gui.output_controller import OutputController
from faceswap_live.gui.overlay import OverlayStats
from faceswap_live.gui.preview import PreviewMode, PreviewWidget
from faceswap_live.gui.settings_panel import SettingsPanel
from faceswap_live.gui.workers import BackgroundJobs
from faceswap_live.inputs.capture import IMAGE_SUFFIXES, FrameSource, open_frame_source
from faceswap_live.inputs.target_photo import crop_target, find_faces_in_photo, load_target_face, read_image
from faceswap_live.runtime.runner import PASS_THROUGH, EngineFallbackError, OutputFailedError, PipelineRunner
from faceswap_live.types import BgrImage, Box, FaceLandmarks, TargetFace

logger = logging.getLogger(__name__)

PREVIEW_INTERVAL_MS = 16
NO_FACE_BANNER_S = 1.0
"""After this long without a swapped face, the preview says that viewers see the real face."""
ENGINE_LABELS = {"mesh": "Built-in", "onnx": "ONNX model", PASS_THROUGH: "none: frames pass through unchanged"}
EMPTY_GALLERY_HINT = (
    "No faces yet: click “Add face…” or drop a photo of a face here. Until then the preview shows your own face."
)
STATS_INTERVAL_MS = 250
SAVE_DELAY_MS = 600
CLOSE_TIMEOUT_S = 0.9
ONNX_MODELS = ("inswapper_128", "arcface_w600k_r50")
VIDEO_FILTER = "Videos (*.mp4 *.mov *.avi *.mkv *.webm *.m4v);;All files (*)"
PHOTO_FILTER = "Photos (*.jpg *.jpeg *.png *.webp *.bmp *.tif *.tiff);;All files (*)"
DEFAULT_CONSENT_STATEMENT = (
    "I confirm that this is my own face, or that the person shown has given me permission to use their face "
    "in this way."
)


class _ErrorBridge(QObject):
    """Carries errors from worker threads to the GUI thread (queued signal)."""

    raised = Signal(object)


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
        model_store: Any = None,
        open_source: Callable[[AppConfig], FrameSource] | None = None,
        cameras: list[tuple[str, str]] | None = None,
        autostart: bool = True,
        source: str | None = None,
        quit_after_frames: int = 0,
    ) -> None:
        super().__init__()
        self.setWindowTitle("faceswap-live")
        self.setAcceptDrops(True)
        self._config_path = config_path or default_config_path()
        self._state_path = self._config_path.with_name("window-state.json")
        self._landmark_model_path = landmark_model_path
        self._store = model_store
        self._open_source = open_source or (lambda config: open_frame_source(config.capture))
        self._jobs = BackgroundJobs(self)
        self._bridge = _ErrorBridge(self)
        self._bridge.raised.connect(self._show_error)
        self._runner: PipelineRunner | None = None
        self._virtual_camera: Any = None
        self._outputs = OutputController()
        self._messages = MessageLog()
        self._record_path: Path | None = None
        self._last_swapped_at = time.monotonic()
        self._quit_after_frames = quit_after_frames
        self.frames_shown = 0
        self._targets: dict[str, TargetFace] = {}
        self._loading_targets: set[str] = set()
        self._current_target_id = NO_TARGET
        self._last_result_id = 0
        self._closing = False
        self.active_dialog: QDialog | None = None

        self._preview_timer = QTimer(self)
        self._preview_timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._preview_timer.timeout.connect(self._poll_result)
        self._stats_timer = QTimer(self)
        self._stats_timer.timeout.connect(self._refresh_stats)
        self._save_timer = QTimer(self)
        self._save_timer.setSingleShot(True)
        self._save_timer.timeout.connect(self.save_settings)

        config, config_problem = self._read_config()
        self._saved_source = config.capture.source
        self._source_override = source
        if source is not None:
            config = dataclasses.replace(config, capture=replace(config.capture, source=str(source)))
        self._config = config
        self._gallery = self._open_gallery(gallery_root)
        state = self._read_state()

        self.preview = PreviewWidget()
        self.preview.open_video_requested.connect(self.choose_video_source)
        self.face_mapping = FaceMapping(self.preview, self._mapping_choices, self._map_face, self._clear_face_map)
        self.error_bar = ErrorBar()
        self.gallery_widget = GalleryWidget()
        self.panel = SettingsPanel(config, cameras if cameras is not None else list_cameras())
        self._build_layout()
        self._build_actions()
        self._connect()

        self._restore_state(state)
        self._refresh_gallery()
        self._refresh_model_state()
        if config_problem:
            self._show_error(config_problem)
        self._fit_to_screen()
        if autostart:
            self.start()

    # ------------------------------------------------------------------------------------------------ construction

    def _read_config(self) -> tuple[AppConfig, str]:
        try:
            return load_config(self._config_path), ""
        except ConfigError as error:
            return AppConfig(), f"{error} Using the default settings for now."

    def _open_gallery(self, root: Path | None) -> Any:
        try:
            from faceswap_live.gallery import TargetGallery
        except ImportError:  # the gallery store is a separate module; without it the window still previews
            logger.warning("Target gallery module not available")
            return None
        if root is None:
            from faceswap_live.config import data_dir

            root = data_dir() / "targets"
        return TargetGallery(root=root)

    def _consent_statement(self) -> str:
        try:
            from faceswap_live.gallery import CONSENT_STATEMENT
        except ImportError:
            return DEFAULT_CONSENT_STATEMENT
        return str(CONSENT_STATEMENT)

    def _fit_to_screen(self) -> None:
        """1440×880 where it fits; on a smaller screen (1280×800 laptops) the whole window stays visible."""
        screen = self.screen() or QGuiApplication.primaryScreen()
        available = screen.availableGeometry() if screen is not None else None
        width, height = 1440, 880
        if available is not None:
            width, height = min(width, available.width()), min(height, available.height() - 30)  # title bar
        self.resize(width, height)

    def _build_layout(self) -> None:
        left = QWidget()
        left_layout = QVBoxLayout(left)
        left_layout.setContentsMargins(8, 8, 4, 8)
        left_layout.addWidget(self.error_bar)
        left_layout.addWidget(self.preview, 1)

        faces = QWidget()
        faces_layout = QVBoxLayout(faces)
        faces_layout.setContentsMargins(8, 8, 8, 0)
        header = QHBoxLayout()
        title = QLabel("<b>Faces</b>")
        self.add_face_button = QPushButton("Add face…")
        self.add_face_button.setToolTip("Add a face from a photo (Ctrl+O), or drop photos on the list")
        header.addWidget(title)
        header.addStretch(1)
        header.addWidget(self.add_face_button)
        faces_layout.addLayout(header)
        faces_layout.addWidget(self.gallery_widget, 1)
        self.gallery_hint = QLabel(EMPTY_GALLERY_HINT)
        self.gallery_hint.setWordWrap(True)
        self.gallery_hint.setStyleSheet("color: #9fd3ff;")
        faces_layout.addWidget(self.gallery_hint)
        self.target_state = QLabel("")
        self.target_state.setWordWrap(True)
        faces_layout.addWidget(self.target_state)

        self.side_splitter = QSplitter(Qt.Orientation.Vertical)
        self.side_splitter.addWidget(faces)
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
        self.messages_button = QToolButton()
        self.messages_button.setAutoRaise(True)
        self.messages_button.setToolTip("Every message of this session, also the dismissed ones")
        self.messages_button.clicked.connect(self.show_messages)
        self.messages_button.hide()
        self.statusBar().addWidget(self.status_source, 1)
        self.statusBar().addPermanentWidget(self.messages_button)
        self.statusBar().addPermanentWidget(self.status_speed)

    def _action(self, text: str, shortcuts: list[str], handler: Callable[..., Any], checkable: bool = False) -> QAction:
        action = QAction(text, self)
        action.setShortcuts([QKeySequence(shortcut) for shortcut in shortcuts])
        action.setCheckable(checkable)
        action.setShortcutContext(Qt.ShortcutContext.WindowShortcut)
        (action.toggled if checkable else action.triggered).connect(handler)
        self.addAction(action)  # shortcuts work even when the menu bar is hidden
        return action

    def _build_actions(self) -> None:
        self.add_face_action = self._action("&Add face from photo…", ["Ctrl+O"], lambda: self.choose_target_photo())
        self.video_source_action = self._action(
            "Use &video file as source…", ["Ctrl+Shift+O"], self.choose_video_source
        )
        quit_action = self._action("&Quit", ["Ctrl+Q"], self.close)
        self.swap_action = self._action("&Swap face", ["Ctrl+Space"], self._swap_toggled, checkable=True)
        self.swap_action.setChecked(self._config.swap.enabled)
        self.no_target_action = self._action(
            "&No swap (your own face)", ["Ctrl+0"], lambda: self.select_target(NO_TARGET)
        )
        self._target_actions = [
            self._action(f"Face {number}", [f"Alt+{number}"], lambda _=False, n=number: self._select_target_number(n))
            for number in range(1, 10)
        ]

        self.view_group = QActionGroup(self)
        self.view_actions: dict[PreviewMode, QAction] = {}
        for mode, text, shortcut in (
            ("output", "&Output", "Ctrl+1"),
            ("side_by_side", "Side by side with &original", "Ctrl+2"),
            ("original", "Original &camera", "Ctrl+3"),
        ):
            action = self._action(text, [shortcut], lambda checked, m=mode: self._view_chosen(checked, m), True)
            self.view_group.addAction(action)
            self.view_actions[mode] = action  # type: ignore[index]
        self.view_actions["output"].setChecked(True)
        self.overlay_action = self._action("&Profiling overlay", ["F3", "Ctrl+P"], self.set_overlay, checkable=True)
        self.mesh_action = self._action("Landmark &mesh (with overlay)", ["Ctrl+M"], self._face_drawing_changed, True)
        self.mask_action = self._action(
            "Face m&ask outline (with overlay)", ["Ctrl+Shift+M"], self._face_drawing_changed, True
        )
        self.panel_action = self._action("Side &panel", ["Ctrl+B"], self._panel_toggled, checkable=True)
        self.panel_action.setChecked(True)
        self.fullscreen_action = self._action("&Full screen", ["F11"], self._fullscreen_toggled, checkable=True)
        self.virtual_camera_action = self._action(
            "&Virtual camera", ["Ctrl+Shift+V"], lambda: self.set_virtual_camera(not self._config.output.virtual_camera)
        )
        shortcuts_action = self._action("&Keyboard shortcuts", ["F1"], self._show_shortcuts)
        self.messages_action = self._action("&Messages…", [], self.show_messages)

        menus = self.menuBar()
        file_menu = menus.addMenu("&File")
        file_menu.addActions([self.add_face_action, self.video_source_action])
        file_menu.addSeparator()
        file_menu.addAction(quit_action)
        swap_menu = menus.addMenu("&Swap")
        swap_menu.addActions([self.swap_action, self.no_target_action])
        view_menu = menus.addMenu("&View")
        view_menu.addActions(list(self.view_actions.values()))
        view_menu.addSeparator()
        view_menu.addActions([self.overlay_action, self.mesh_action, self.mask_action])
        view_menu.addSeparator()
        view_menu.addActions([self.panel_action, self.fullscreen_action])
        output_menu = menus.addMenu("&Output")
        output_menu.addAction(self.virtual_camera_action)
        help_menu = menus.addMenu("&Help")
        help_menu.addActions([shortcuts_action, self.messages_action])

        toolbar = QToolBar("Main")
        toolbar.setObjectName("mainToolbar")
        toolbar.setMovable(False)
        toolbar.setToolButtonStyle(Qt.ToolButtonStyle.ToolButtonTextOnly)
        toolbar.addAction(self.add_face_action)
        toolbar.addSeparator()
        toolbar.addAction(self.swap_action)
        toolbar.addSeparator()
        for action in self.view_actions.values():
            toolbar.addAction(action)
        toolbar.addSeparator()
        toolbar.addAction(self.overlay_action)
        self.addToolBar(toolbar)
        self.add_face_action.setText("Add face…")

    def _connect(self) -> None:
        self.add_face_button.clicked.connect(lambda: self.choose_target_photo())
        self.gallery_widget.target_chosen.connect(self.select_target)
        self.gallery_widget.photos_dropped.connect(self._photos_dropped)
        self.gallery_widget.remove_requested.connect(self.remove_target)
        self.panel.config_changed.connect(self.apply_config)
        self.panel.video_file_requested.connect(self.choose_video_source)
        self.panel.virtual_camera_requested.connect(self.set_virtual_camera)
        self.panel.stream_requested.connect(self.set_stream)
        self.panel.recording_requested.connect(self.set_recording)
        self.panel.record_file_requested.connect(self.choose_record_file)
        self.panel.label_off_requested.connect(self._confirm_label_off)
        self.panel.model_download_requested.connect(self._download_models)

    # ------------------------------------------------------------------------------------------------ lifecycle

    @property
    def runner(self) -> PipelineRunner | None:
        return self._runner

    @property
    def config(self) -> AppConfig:
        return self._config

    @property
    def gallery(self) -> Any:
        return self._gallery

    @property
    def source_description(self) -> str:
        return self._runner.source_description if self._runner is not None else ""

    def start(self) -> None:
        """Get the landmark model (in the background if needed), then start the pipeline and the preview timers."""
        self._preview_timer.start(PREVIEW_INTERVAL_MS)
        self._stats_timer.start(STATS_INTERVAL_MS)
        if self._landmark_model_path is not None:
            self._start_runner()
            return
        self.preview.set_message("Getting the face landmark model (3.7 MB, first start only)…")

        def fetch(progress: Callable[[int, int], None]) -> Path:
            return Path(self._model_store().fetch("face_landmarker", progress=progress))

        def done(path: Path) -> None:
            self._landmark_model_path = path
            self._start_runner()

        def failed(error: Exception) -> None:
            self.preview.set_message(f"The face model is not available.\n{error}")
            self._show_error(error)

        def progress(done_bytes: int, total_bytes: int) -> None:
            if total_bytes:
                self.preview.set_message(f"Downloading the face landmark model… {100 * done_bytes // total_bytes} %")

        self._jobs.submit(fetch, done, failed, progress)

    def _model_store(self) -> Any:
        if self._store is None:
            from faceswap_live.models.store import ModelStore

            self._store = ModelStore(show_progress=False)
        return self._store

    def _start_runner(self) -> None:
        if self._closing or self._landmark_model_path is None:
            return
        if self._runner is None:
            self._runner = PipelineRunner(
                self._config,
                self._landmark_model_path,
                store=self._store if self._store is not None else _LazyStore(self._model_store),
                on_error=self._bridge.raised.emit,
                open_source=self._open_source,
            )
        self._runner.set_target(self._targets.get(self._current_target_id))
        self._outputs.set_runner(self._runner)
        self._start_source()
        if self._config.output.virtual_camera and self._virtual_camera is None:
            self.set_virtual_camera(True)
        if self._config.output.stream and self._outputs.stream is None:
            self.set_stream(True)
        self._preload_targets()

    def _start_source(self) -> None:
        """(Re)start the runner on the configured source; a source that cannot open becomes a message, not a crash."""
        runner = self._runner
        if runner is None:
            return
        try:
            if runner.running:
                runner.update_config(self._config)
            else:
                runner.update_config(self._config)
                runner.start()
        except FaceswapError as error:  # the camera cannot open (or the old pipeline is still stopping)
            runner.stop(timeout_s=CLOSE_TIMEOUT_S) if runner.running else None
            self.preview.set_result(None)
            self.preview.set_message(f"{error}", offer_video_file=True)
            self.status_source.setText("No input")
            return
        self.preview.set_message("" if self.preview.result is not None else "Waiting for the first frame…")
        self.status_source.setText(f"Input: {runner.source_description}")

    def closeEvent(self, event: QCloseEvent) -> None:  # noqa: N802 - Qt API
        self.shutdown()
        super().closeEvent(event)

    def shutdown(self) -> bool:
        """Stop timers, the runner's threads (within about a second) and the outputs; save settings. Idempotent."""
        if self._closing:
            return True
        self._closing = True
        self._preview_timer.stop()
        self._stats_timer.stop()
        if self._save_timer.isActive():
            self._save_timer.stop()
        self.save_settings()
        stopped = True
        if self._runner is not None:
            stopped = self._runner.stop(timeout_s=CLOSE_TIMEOUT_S)  # also closes the output sinks
        self._outputs.close()
        self._virtual_camera = None
        if not self._jobs.wait(0.1):
            logger.info("A background job (photo or model) is still finishing; it will end on its own")
        return stopped

    # ------------------------------------------------------------------------------------------------ preview

    def _poll_result(self) -> None:
        runner = self._runner
        if runner is None:
            return
        result = runner.latest_result()
        if result is None or id(result) == self._last_result_id:
            return
        self._last_result_id = id(result)
        if self.preview.message:  # frames flow: "starting", "no camera" and the like are no longer true
            self.preview.set_message("")
        self.preview.set_result(result)
        self._update_banner(result.swapped, bool(result.faces))
        self.frames_shown += 1
        if self._quit_after_frames and self.frames_shown >= self._quit_after_frames:
            self._quit_after_frames = 0
            QTimer.singleShot(0, self.close)

    def real_face_reason(self, swapped: bool, faces_found: bool) -> str:
        """Why viewers (or the user, in Original view) see the real face now; "" when they see a swapped one."""
        runner = self._runner
        if self.preview.mode == "original":
            return "Original view: this preview shows your real camera picture"
        if runner is not None and runner.engine_in_use == PASS_THROUGH:
            return "Viewers see your real face: the face pipeline is not running"
        if not self._config.swap.enabled:
            return "Viewers see your real face: the swap is off (Ctrl+Space)"
        if self._current_target_id == NO_TARGET and not swapped:  # a person given their own face is swapped
            return "Viewers see your real face: “No swap” is chosen"
        if swapped:
            self._last_swapped_at = time.monotonic()
            return ""
        if time.monotonic() - self._last_swapped_at < NO_FACE_BANNER_S:
            return ""  # a blink or a hand in front of the face: not worth a warning
        return "Viewers see your real face: " + ("the face is not swapped yet" if faces_found else "no face found")

    def _update_banner(self, swapped: bool, faces_found: bool) -> None:
        self.preview.set_banner(self.real_face_reason(swapped, faces_found))

    def _refresh_stats(self) -> None:
        runner = self._runner
        if runner is None or not runner.running:
            return
        snapshot = runner.profile_snapshot()
        engine = runner.engine_in_use
        self._show_engine_in_use(engine)
        stats = OverlayStats(
            snapshot=snapshot,
            dropped_frames=runner.dropped_frames,
            provider=runner.provider,
            engine=(
                engine if engine == self._config.swap.engine else f"{engine} (instead of {self._config.swap.engine})"
            )
            if engine
            else "starting",
            source=runner.source_description,
        )
        self.preview.set_stats(stats)
        self.status_speed.setText(f"{snapshot.fps:.1f} fps · {snapshot.latency.p50_ms:.0f} ms latency")
        sink = self._virtual_camera
        if sink is not None:
            error = getattr(sink, "error", None)
            if error is not None:
                self._show_error(error)
                self._close_virtual_camera()
            elif sink not in runner.sinks:  # the runner closed it after it raised (reported already)
                self._close_virtual_camera()
            else:
                self.panel.set_virtual_camera_state(sink.status())
        self._refresh_outputs()

    def _engine_caption(self, engine: str) -> str:
        """The engine for the overlay: the one really in use, and the chosen one when they differ."""
        chosen = self._config.swap.engine
        if not engine:
            return "starting"
        return engine if engine == chosen else f"{engine} (instead of {chosen})"

    def _show_engine_in_use(self, engine: str) -> None:
        if not engine:
            self.panel.set_engine_in_use("Starting…", differs=False)
            return
        chosen = self._config.swap.engine
        label = ENGINE_LABELS.get(engine, engine)
        if engine == chosen:
            self.panel.set_engine_in_use(f"In use: {label}", differs=False)
        else:
            self.panel.set_engine_in_use(
                f"In use: {label} (the {ENGINE_LABELS.get(chosen, chosen)} engine could not start, see Messages)",
                differs=True,
            )

    def _view_chosen(self, checked: bool, mode: PreviewMode) -> None:
        if checked:
            self.set_preview_mode(mode)

    def set_preview_mode(self, mode: PreviewMode) -> None:
        self.preview.set_mode(mode)
        result = self.preview.result
        self._update_banner(result is not None and result.swapped, result is not None and bool(result.faces))
        self.view_actions[mode].setChecked(True)
        self._schedule_save()

    def set_overlay(self, enabled: bool) -> None:
        self.preview.set_overlay(enabled)
        if self.overlay_action.isChecked() != enabled:
            self.overlay_action.setChecked(enabled)
        if enabled:
            self._refresh_stats()
        self._schedule_save()

    def _face_drawing_changed(self, _checked: bool = False) -> None:
        self.preview.set_face_drawing(self.mesh_action.isChecked(), self.mask_action.isChecked())
        if (self.mesh_action.isChecked() or self.mask_action.isChecked()) and not self.overlay_action.isChecked():
            self.set_overlay(True)
        self._schedule_save()

    def _panel_toggled(self, visible: bool) -> None:
        self.side_splitter.setVisible(visible)

    def _fullscreen_toggled(self, on: bool) -> None:
        if on:
            self.showFullScreen()
        else:
            self.showNormal()

    # ------------------------------------------------------------------------------------------------ errors

    def _show_error(self, error: object) -> None:
        """Show a problem once, in the bar above the preview (and in the message log); the app keeps going."""
        text = gui_wording(error)
        if not text or self._closing:
            return
        logger.warning("%s", text)
        if self._messages.add(text):
            count = len(self._messages.messages)
            self.messages_button.setText(f"Messages ({count})")
            self.messages_button.show()
        self.error_bar.show_message(text)
        if isinstance(error, OutputFailedError):
            self._refresh_outputs()
        if isinstance(error, EngineFallbackError):
            self._show_engine_in_use(error.engine_in_use)

    def show_messages(self) -> None:
        """Every message of this session, also those dismissed from the bar."""
        self._open_dialog(MessageLogDialog(self._messages, self))

    # ------------------------------------------------------------------------------------------------ settings

    def apply_config(self, config: AppConfig) -> None:
        """Use new settings from the next frame on, and save them shortly after (debounced)."""
        previous, self._config = self._config, config
        if self.panel.config != config:
            self.panel.set_config(config)
        if self.swap_action.isChecked() != config.swap.enabled:
            blocked = self.swap_action.blockSignals(True)
            self.swap_action.setChecked(config.swap.enabled)
            self.swap_action.blockSignals(blocked)
        if self._runner is not None:
            if config.capture != previous.capture or not self._runner.running:
                self._start_source()
            else:
                self._runner.update_config(config)
        if config.swap.engine != previous.swap.engine:
            self._refresh_model_state()
        self._reopen_changed_outputs(previous.output, config.output)
        self._schedule_save()

    def _swap_toggled(self, enabled: bool) -> None:
        if enabled != self._config.swap.enabled:
            self.apply_config(dataclasses.replace(self._config, swap=replace(self._config.swap, enabled=enabled)))

    def set_swap_enabled(self, enabled: bool) -> None:
        self.swap_action.setChecked(enabled)

    def _schedule_save(self) -> None:
        if not self._closing:
            self._save_timer.start(SAVE_DELAY_MS)

    def save_settings(self) -> None:
        """Write the settings TOML and the window state now (normally debounced after changes)."""
        config = self._config
        if self._source_override is not None and config.capture.source == self._source_override:
            config = dataclasses.replace(config, capture=replace(config.capture, source=self._saved_source))
        try:
            save_config(config, self._config_path)
            state = {
                "target": self._current_target_id,
                "preview_mode": self.preview.mode,
                "overlay": self.overlay_action.isChecked(),
                "mesh": self.mesh_action.isChecked(),
                "mask": self.mask_action.isChecked(),
                "geometry": base64.b64encode(bytes(self.saveGeometry().data())).decode("ascii"),
                "splitter": base64.b64encode(bytes(self.main_splitter.saveState().data())).decode("ascii"),
                "record_path": str(self._record_path) if self._record_path is not None else "",
            }
            self._state_path.write_text(json.dumps(state, indent=2), encoding="utf-8")
        except OSError as error:
            self._show_error(f"Settings could not be saved to {self._config_path.parent}: {error.strerror or error}.")

    def _read_state(self) -> dict[str, Any]:
        try:
            state = json.loads(self._state_path.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        return state if isinstance(state, dict) else {}

    def _restore_state(self, state: dict[str, Any]) -> None:
        self._current_target_id = str(state.get("target", NO_TARGET))
        if state.get("record_path"):
            self._record_path = Path(str(state["record_path"]))
        self._refresh_outputs()
        mode = state.get("preview_mode", "output")
        if mode in self.view_actions:
            self.set_preview_mode(mode)
        self.mesh_action.setChecked(bool(state.get("mesh", False)))
        self.mask_action.setChecked(bool(state.get("mask", False)))
        self.set_overlay(bool(state.get("overlay", False)))
        for key, restore in (("geometry", self.restoreGeometry), ("splitter", self.main_splitter.restoreState)):
            if isinstance(state.get(key), str):
                restore(QByteArray(base64.b64decode(state[key])))

    # ------------------------------------------------------------------------------------------------ source

    def choose_video_source(self) -> None:
        path, _filter = QFileDialog.getOpenFileName(self, "Use a video file as the camera", "", VIDEO_FILTER)
        if path:
            self.use_source(path)

    def use_source(self, source: str) -> None:
        """Switch the input to a camera ("0", "/dev/video2") or a file path."""
        self.apply_config(dataclasses.replace(self._config, capture=replace(self._config.capture, source=str(source))))

    # ------------------------------------------------------------------------------------------------ targets

    def _refresh_gallery(self) -> None:
        entries = self._gallery.list() if self._gallery is not None else []
        ids = {str(entry.id) for entry in entries}
        if self._current_target_id not in ids:
            self._current_target_id = NO_TARGET
        self.gallery_widget.set_entries(entries, self._current_target_id)
        self.gallery_hint.setVisible(not entries)
        self.add_face_button.setEnabled(self._gallery is not None)
        self.add_face_action.setEnabled(self._gallery is not None)

    def _select_target_number(self, number: int) -> None:
        ids = self.gallery_widget.ids()
        if number < len(ids):
            self.select_target(ids[number])

    def live_outputs(self) -> list[str]:
        """The outputs on now (what viewers may be watching), in words."""
        outputs = ["virtual camera"] if self._virtual_camera is not None else []
        return outputs + self._outputs.active()

    def _confirm_unmask(self, question: str, proceed: Callable[[], None]) -> bool:
        """Ask before the real face goes out to viewers; True when asked (proceed runs if the user agrees)."""
        outputs = self.live_outputs()
        if not outputs:
            return False
        box = QMessageBox(
            QMessageBox.Icon.Warning,
            "Show your real face?",
            f"{question}\n\nViewers of the {' and the '.join(outputs)} will see your real face.",
            QMessageBox.StandardButton.Cancel,
            self,
        )
        box.addButton("Show my real face", QMessageBox.ButtonRole.AcceptRole)
        box.setDefaultButton(QMessageBox.StandardButton.Cancel)
        box.accepted.connect(proceed)
        self._open_dialog(box)
        return True

    def select_target(self, entry_id: str, confirmed: bool = False) -> None:
        """Swap to a gallery face ("" = none). Instant when loaded; otherwise pass-through until it is ready.

        Switching from the live face to "No swap" while an output is on asks first (unless confirmed).
        """
        if entry_id == NO_TARGET and self._current_target_id != NO_TARGET and not confirmed:
            self.gallery_widget.select_id(self._current_target_id)  # stays on the live face until the user agrees
            if self._confirm_unmask("Stop swapping your face?", lambda: self.select_target(NO_TARGET, True)):
                return
        self._current_target_id = entry_id
        self.gallery_widget.select_id(entry_id)
        self._schedule_save()
        if entry_id == NO_TARGET:
            self._set_runner_target(None)
            self.target_state.setText("Showing your own face.")
            return
        target = self._targets.get(entry_id)
        if target is not None:
            self._set_runner_target(target)
            swapping = f"Swapping to {self.gallery_widget.name_of(entry_id) or target.name}."
            note = self.gallery_widget.note_of(entry_id)
            self.target_state.setText(f"{swapping} {note[:1].upper()}{note[1:]}." if note else swapping)
            self.target_ready.emit(entry_id)
            return
        self._set_runner_target(None)  # pass-through while it loads: the preview never waits
        self.target_state.setText("Loading the face…")
        self._load_target(entry_id)

    def _mapping_choices(self) -> list[tuple[str, TargetFace]]:
        return [
            (self.gallery_widget.name_of(entry_id) or target.name, target) for entry_id, target in self._targets.items()
        ]

    def _map_face(self, track_id: int, target: TargetFace | None) -> None:
        if self._runner is not None:
            self._runner.set_face_target(track_id, target)

    def _clear_face_map(self) -> None:
        if self._runner is not None:
            self._runner.clear_face_targets()

    def _set_runner_target(self, target: TargetFace | None) -> None:
        if self._runner is not None:
            self._runner.set_target(target)

    def _load_target(self, entry_id: str) -> None:
        if entry_id in self._loading_targets or self._gallery is None or self._landmark_model_path is None:
            return
        self._loading_targets.add(entry_id)
        gallery, model_path = self._gallery, self._landmark_model_path

        def load() -> TargetFace:
            if hasattr(gallery, "load_target"):
                return gallery.load_target(entry_id, model_path)  # type: ignore[no-any-return]
            entry = gallery.get(entry_id)
            return load_target_face(Path(entry.photo_path), model_path, entry.face_index)

        def done(target: TargetFace) -> None:
            self._loading_targets.discard(entry_id)
            self._targets[entry_id] = target
            if self._current_target_id == entry_id and not self._closing:
                self.select_target(entry_id)

        def failed(error: Exception) -> None:
            self._loading_targets.discard(entry_id)
            if self._current_target_id == entry_id:
                self.target_state.setText("This face could not be loaded.")
            self._show_error(error)

        self._jobs.submit(load, done, failed)

    def _preload_targets(self) -> None:
        """Load the selected face first, then the others, so later switches are instant."""
        if self._gallery is None:
            return
        ids = [entry_id for entry_id in self.gallery_widget.ids() if entry_id]
        if self._current_target_id:
            self.select_target(self._current_target_id)
        for entry_id in ids:
            if entry_id not in self._targets:
                self._load_target(entry_id)

    def remove_target(self, entry_id: str, confirmed: bool = False) -> None:
        """Remove a face from the gallery; removing the live face while an output is on asks first."""
        if self._gallery is None or not entry_id:
            return
        if entry_id == self._current_target_id and not confirmed:
            name = self.gallery_widget.name_of(entry_id) or "this face"
            question = f"Remove {name}, the face you are swapping to now?"
            if self._confirm_unmask(question, lambda: self.remove_target(entry_id, True)):
                return
        self._gallery.remove(entry_id)
        self._targets.pop(entry_id, None)
        if self._current_target_id == entry_id:
            self.select_target(NO_TARGET, confirmed=True)
        self._refresh_gallery()

    def choose_target_photo(self) -> None:
        paths, _filter = QFileDialog.getOpenFileNames(self, "Add a face from a photo", "", PHOTO_FILTER)
        self._photos_dropped([Path(path) for path in paths])

    def _photos_dropped(self, paths: list[Path]) -> None:
        if paths:
            self.add_target_from_file(paths[0])  # one at a time: each needs its own consent

    def add_target_from_file(self, path: Path) -> None:
        """Find the faces in a photo (background), let the user pick one and confirm consent, then add it."""
        if self._gallery is None:
            self._show_error("The face gallery is not available in this build.")
            return
        if self._landmark_model_path is None:
            self._show_error("The face model is still loading; try again in a moment.")
            return
        model_path = self._landmark_model_path
        self.target_state.setText(f"Looking for faces in {path.name}…")

        def find() -> tuple[BgrImage, list[FaceLandmarks]]:
            image = read_image(path)
            return image, find_faces_in_photo(image, model_path)

        def found(value: tuple[BgrImage, list[FaceLandmarks]]) -> None:
            image, faces = value
            self.target_state.setText("")
            if not faces:
                self._show_error(
                    TargetFaceError(
                        f"No face was found in {path.name}. Use a photo where the face is clearly visible, "
                        "looking roughly towards the camera, and not too small or dark."
                    )
                )
                return
            if len(faces) == 1:
                self._ask_consent(path, image, faces, 0)
                return
            picker = FacePickerDialog(image, [face.box for face in faces], path.name, self)
            picker.accepted.connect(lambda: self._ask_consent(path, image, faces, picker.selected_index))
            self._open_dialog(picker)

        def failed(error: Exception) -> None:
            self.target_state.setText("")
            self._show_error(error)

        self._jobs.submit(find, found, failed)

    def _ask_consent(self, path: Path, image: BgrImage, faces: list[FaceLandmarks], index: int) -> None:
        target = crop_target(image, faces[index], name=path.stem, source_path=path)
        dialog = ConsentDialog(target.image_bgr, path.stem, self._consent_statement(), self)
        dialog.accepted.connect(lambda: self._add_confirmed(path, index, dialog.name, target, faces[index].box))
        self._open_dialog(dialog)

    def _add_confirmed(self, path: Path, face_index: int, name: str, target: TargetFace, face_box: Box) -> None:
        gallery, statement = self._gallery, self._consent_statement()
        self.target_state.setText(f"Adding {name}…")

        def add() -> Any:
            # The chosen face's box makes the thumbnail a crop of that face, not the middle of the photo.
            blendshapes = target.landmarks.blendshapes  # for the entry's note on the photo's expression
            return gallery.add(path, name, face_index, True, statement, face_box=face_box, blendshapes=blendshapes)

        def added(entry: Any) -> None:
            entry_id = str(entry.id)
            self._targets[entry_id] = dataclasses.replace(target, name=name)
            self._refresh_gallery()
            self.select_target(entry_id)

        def failed(error: Exception) -> None:
            self.target_state.setText("")
            self._show_error(error)

        self._jobs.submit(add, added, failed)

    def _open_dialog(self, dialog: QDialog) -> None:
        """Open window-modal without a nested event loop; the preview keeps running behind it."""
        self.active_dialog = dialog
        dialog.setAttribute(Qt.WidgetAttribute.WA_DeleteOnClose, True)
        dialog.finished.connect(lambda _result: self._dialog_finished(dialog))
        dialog.open()

    def _dialog_finished(self, dialog: QDialog) -> None:
        if self.active_dialog is dialog:  # accepting one dialog may already have opened the next
            self.active_dialog = None

    # ------------------------------------------------------------------------------------------------ outputs

    def set_virtual_camera(self, enabled: bool) -> None:
        """Open or close the virtual camera; a missing driver is explained once and the switch stays off."""
        if enabled and self._virtual_camera is None:
            try:
                sink = self._open_virtual_camera()
            except VirtualCameraError as error:
                self._show_error(error)
                self.panel.set_virtual_camera_state("Not available (see the message above the preview).")
                self.panel.virtual_camera.setChecked(False)
                return
            self._virtual_camera = sink
            if self._runner is not None:
                self._runner.add_sink(sink)
            self.panel.set_virtual_camera_state(sink.status())
        elif not enabled:
            self._close_virtual_camera()
        self.panel.virtual_camera.setChecked(enabled)
        if self._config.output.virtual_camera != enabled:
            self.apply_config(
                dataclasses.replace(self._config, output=replace(self._config.output, virtual_camera=enabled))
            )

    def _open_virtual_camera(self) -> Any:
        from faceswap_live.outputs.virtual_camera import VirtualCameraSink

        capture, output = self._config.capture, self._config.output
        return VirtualCameraSink(
            output.virtual_camera_width or capture.width,
            output.virtual_camera_height or capture.height,
            capture.fps,
            backend=output.virtual_camera_backend or None,
            device=output.virtual_camera_device or None,
        )

    def _close_virtual_camera(self) -> None:
        sink, self._virtual_camera = self._virtual_camera, None
        if sink is not None:
            if self._runner is not None:
                self._runner.remove_sink(sink)
            else:
                sink.close()
        self.panel.virtual_camera.setChecked(False)
        self.panel.set_virtual_camera_state("Off")

    def set_stream(self, enabled: bool) -> None:
        """Start or stop the MJPEG stream on the configured port and host; a busy port is explained, switch off."""
        if enabled and self._outputs.stream is None:
            try:
                self._outputs.start_stream(self._config)
            except FaceswapError as error:
                self._show_error(error)
                enabled = False
        elif not enabled:
            self._outputs.stop_stream()
        if self._config.output.stream != enabled:
            self.apply_config(dataclasses.replace(self._config, output=replace(self._config.output, stream=enabled)))
        self._refresh_outputs()

    def default_record_path(self) -> Path:
        folder = self._record_path.parent if self._record_path is not None else Path.home() / "Videos"
        if not folder.is_dir():
            folder = Path.home()
        return folder / time.strftime("faceswap-live-%Y%m%d-%H%M%S.mp4")

    def choose_record_file(self) -> None:
        path, _filter = QFileDialog.getSaveFileName(
            self, "Record to", str(self._record_path or self.default_record_path()), "MP4 video (*.mp4)"
        )
        if path:
            self._record_path = Path(path).with_suffix(".mp4")
            self._refresh_outputs()
            self._schedule_save()

    def set_recording(self, enabled: bool) -> None:
        """Start recording the output to the chosen file (a new time-stamped name each time by default), or stop."""
        if enabled and self._outputs.recording is None:
            path = self._record_path if self._record_path is not None and not self._record_path.exists() else None
            path = path or self.default_record_path()
            try:
                self._outputs.start_recording(path, self._config)
            except FaceswapError as error:
                self._show_error(error)
            else:
                self._record_path = path
        elif not enabled:
            sink = self._outputs.stop_recording()
            if sink is not None:
                self.status_source.setText(f"Saved the recording to {sink.path}")
        self._refresh_outputs()
        self._schedule_save()

    def _refresh_outputs(self) -> None:
        """Show the stream's and the recording's state; an output that failed is switched off in the panel."""
        for name, error in self._outputs.failures():
            if error is not None:
                self._show_error(error)
            if name == "stream" and self._config.output.stream:
                self.apply_config(dataclasses.replace(self._config, output=replace(self._config.output, stream=False)))
        panel = self.panel.output_panel
        panel.set_stream_state(self._outputs.stream_state())
        recording = self._outputs.recording
        shown_path = recording.path if recording is not None else self._record_path
        panel.set_recording(recording is not None, self._outputs.recording_state(), str(shown_path or ""))

    def _reopen_changed_outputs(self, previous: OutputConfig, output: OutputConfig) -> None:
        """A stream whose port or host changed, or a virtual camera whose device or size changed, opens anew."""
        if self._outputs.stream is not None and (previous.stream_port, previous.stream_host) != (
            output.stream_port,
            output.stream_host,
        ):
            self._outputs.stop_stream()
            self.set_stream(True)
        camera_fields = ("virtual_camera_device", "virtual_camera_width", "virtual_camera_height")
        if self._virtual_camera is not None and any(
            getattr(previous, name) != getattr(output, name) for name in camera_fields
        ):
            self._close_virtual_camera()
            self.set_virtual_camera(True)

    def _confirm_label_off(self) -> None:
        dialog = LabelOffDialog(self)
        dialog.accepted.connect(lambda: self.panel.set_label(False))
        self._open_dialog(dialog)

    # ------------------------------------------------------------------------------------------------ models

    def _refresh_model_state(self) -> None:
        engine = self._config.swap.engine
        if engine != "onnx":
            self.panel.set_model_state("Built-in engine: runs on the CPU, no download needed.")
            return
        self.panel.set_model_state("Checking the model files…")
        store = self._model_store()

        def check() -> dict[str, str]:
            return {name: str(store.status(name)) for name in ONNX_MODELS}

        self._jobs.submit(check, self._show_model_state, self._show_error)

    def _show_model_state(self, states: dict[str, str]) -> None:
        store = self._model_store()
        lines = []
        for name, state in states.items():
            entry = store.entry(name)
            colour = "#6fdc8c" if state == "present" else "#ff9b5e"
            lines.append(f"{entry.description}: <span style='color:{colour}'>{state}</span>")
        licence = store.entry(ONNX_MODELS[0])
        lines.append(f"<small>Licence: {licence.licence}</small>")
        missing = any(state != "present" for state in states.values())
        self.panel.set_model_state("<br>".join(lines), can_download=missing)
        if (
            not missing
            and self._runner is not None
            and self._runner.engine_in_use not in ("", self._config.swap.engine)
        ):
            self._runner.update_config(self._config)  # the model is there now: try the chosen engine again

    def _download_models(self) -> None:
        store = self._model_store()
        entry = store.entry(ONNX_MODELS[0])
        total = sum(store.entry(name).size_bytes or 0 for name in ONNX_MODELS)
        dialog = LicenceDialog(entry.description, entry.licence, entry.licence_url, f"{total / 1e6:.0f} MB", self)

        def download(progress: Callable[[int, int], None]) -> dict[str, str]:
            for name in ONNX_MODELS:
                store.fetch(name, accept_licence=True, progress=progress)
            return {name: str(store.status(name)) for name in ONNX_MODELS}

        def progress(done_bytes: int, total_bytes: int) -> None:
            self.panel.set_model_state("Downloading…", progress=(done_bytes, total_bytes))

        def failed(error: Exception) -> None:
            self._show_error(error)
            self._refresh_model_state()

        def start() -> None:
            self.panel.set_model_state("Downloading…", progress=(0, 0))
            self._jobs.submit(download, self._show_model_state, failed, progress)

        dialog.accepted.connect(start)
        self._open_dialog(dialog)

    # ------------------------------------------------------------------------------------------------ misc

    def _show_shortcuts(self) -> None:
        rows = [
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
        ]
        html = (
            "<table>" + "".join(f"<tr><td><b>{k}</b>&nbsp;&nbsp;</td><td>{v}</td></tr>" for k, v in rows) + "</table>"
        )
        box = QMessageBox(QMessageBox.Icon.NoIcon, "Keyboard shortcuts", html, QMessageBox.StandardButton.Close, self)
        self._open_dialog(box)

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:  # noqa: N802 - Qt API
        if event.mimeData().hasUrls():
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:  # noqa: N802 - Qt API
        urls = event.mimeData().urls()
        photos = image_paths_in(urls)
        if photos:
            self._photos_dropped(photos)
        else:
            videos = [url.toLocalFile() for url in urls if url.isLocalFile()]
            if videos and Path(videos[0]).suffix.lower() not in IMAGE_SUFFIXES:
                self.use_source(videos[0])
        event.acceptProposedAction()


class _LazyStore:
    """Creates the ModelStore on first use (its construction reads environment and folders)."""

    def __init__(self, factory: Callable[[], Any]) -> None:
        self._factory = factory

    def fetch(self, name: str, *, accept_licence: bool = False) -> Path:
        return Path(self._factory().fetch(name, accept_licence=accept_licence))
