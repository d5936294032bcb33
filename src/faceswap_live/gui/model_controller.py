"""The model files the window needs: the face landmark model (fetched in the background on first start) and the neural
engine's models (their state in the settings panel, and the download after the user accepts the licence).

GUI thread only; checks and downloads run on BackgroundJobs so the preview never stalls.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from PySide6.QtCore import QObject, Signal
from PySide6.QtWidgets import QWidget

from faceswap_live.engines.registry import LANDMARK_MODEL, find_engine
from faceswap_live.gui.dialog_host import DialogHost
from faceswap_live.gui.dialogs import LicenceDialog
from faceswap_live.gui.preview import PreviewWidget
from faceswap_live.gui.settings_panel import SettingsPanel
from faceswap_live.gui.workers import BackgroundJobs
from faceswap_live.models.store import ModelStore


class LazyModelStore:
    """Creates the ModelStore on first use (its construction reads environment and folders)."""

    def __init__(self, factory: Callable[[], ModelStore]) -> None:
        self._factory = factory

    def fetch(self, name: str, *, accept_licence: bool = False) -> Path:
        return Path(self._factory().fetch(name, accept_licence=accept_licence))


class ModelController(QObject):
    """store: a ModelStore (default: created on first use). landmark_model_path: the MediaPipe model (default:
    fetched through the store in the background)."""

    error = Signal(object)
    """A problem to show the user."""
    landmark_model_ready = Signal(object)
    """The face landmark model's Path."""
    engine_models_present = Signal()
    """Every file of the neural engine is there (after a check or a download)."""

    def __init__(
        self,
        store: ModelStore | None,
        landmark_model_path: Path | None,
        panel: SettingsPanel,
        preview: PreviewWidget,
        dialogs: DialogHost,
        jobs: BackgroundJobs,
        window: QWidget,
    ) -> None:
        super().__init__(window)
        self._store = store
        self.landmark_model_path = landmark_model_path
        self._panel, self._preview, self._dialogs, self._jobs, self._window = panel, preview, dialogs, jobs, window
        self._engine = ""

    @property
    def store(self) -> ModelStore:
        if self._store is None:
            self._store = ModelStore(show_progress=False)
        return self._store

    def locator(self) -> ModelStore | LazyModelStore:
        """What the runner finds model files with: the store, created only when a model is really asked for."""
        return self._store if self._store is not None else LazyModelStore(lambda: self.store)

    def fetch_landmark_model(self) -> None:
        """Emit landmark_model_ready now when the model is known, else once it is fetched (progress in the preview)."""
        if self.landmark_model_path is not None:
            self.landmark_model_ready.emit(self.landmark_model_path)
            return
        self._preview.set_message("Getting the face landmark model (3.7 MB, first start only)…")

        def fetch(progress: Callable[[int, int], None]) -> Path:
            return Path(self.store.fetch(LANDMARK_MODEL, progress=progress))

        def done(path: Path) -> None:
            self.landmark_model_path = path
            self.landmark_model_ready.emit(path)

        def failed(error: Exception) -> None:
            self._preview.set_message(f"The face model is not available.\n{error}")
            self.error.emit(error)

        def progress(done_bytes: int, total_bytes: int) -> None:
            if total_bytes:
                self._preview.set_message(f"Downloading the face landmark model… {100 * done_bytes // total_bytes} %")

        self._jobs.submit(fetch, done, failed, progress)

    def refresh_state(self, engine: str) -> None:
        """Show whether the chosen engine's model files are there (checked in the background)."""
        self._engine = engine
        if not self._engine_models():
            self._panel.set_model_state(
                f"{find_engine(engine).short_label} engine: runs on the CPU, no download needed."
            )
            return
        self._panel.set_model_state("Checking the model files…")
        store = self.store

        def check() -> dict[str, str]:
            return {name: str(store.status(name)) for name in self._engine_models()}

        self._jobs.submit(check, self._show_state, self.error.emit)

    def _engine_models(self) -> tuple[str, ...]:
        """The chosen engine's own model files (the landmark model is fetched on its own at start)."""
        return tuple(name for name in find_engine(self._engine).model_names if name != LANDMARK_MODEL)

    def _show_state(self, states: dict[str, str]) -> None:
        store = self.store
        lines = []
        for name, state in states.items():
            entry = store.entry(name)
            colour = "#6fdc8c" if state == "present" else "#ff9b5e"
            lines.append(f"{entry.description}: <span style='color:{colour}'>{state}</span>")
        licence = store.entry(self._engine_models()[0])
        lines.append(f"<small>Licence: {licence.licence}</small>")
        missing = any(state != "present" for state in states.values())
        self._panel.set_model_state("<br>".join(lines), can_download=missing)
        if not missing:
            self.engine_models_present.emit()

    def download(self) -> None:
        """Show the licence; once accepted, download the neural engine's models with progress in the panel."""
        store = self.store
        entry = store.entry(self._engine_models()[0])
        total = sum(store.entry(name).size_bytes or 0 for name in self._engine_models())
        dialog = LicenceDialog(
            entry.description, entry.licence, entry.licence_url, f"{total / 1e6:.0f} MB", self._window
        )

        def download(progress: Callable[[int, int], None]) -> dict[str, str]:
            for name in self._engine_models():
                store.fetch(name, accept_licence=True, progress=progress)
            return {name: str(store.status(name)) for name in self._engine_models()}

        def progress(done_bytes: int, total_bytes: int) -> None:
            self._panel.set_model_state("Downloading…", progress=(done_bytes, total_bytes))

        def failed(error: Exception) -> None:
            self.error.emit(error)
            self.refresh_state(self._engine)

        def start() -> None:
            self._panel.set_model_state("Downloading…", progress=(0, 0))
            self._jobs.submit(download, self._show_state, failed, progress)

        dialog.accepted.connect(start)
        self._dialogs.open(dialog)
