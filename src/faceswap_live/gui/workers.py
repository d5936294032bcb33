"""Background work for the GUI: run a function on Qt's thread pool and get its result back on the GUI thread.

Used for the slow, one-off jobs (finding faces in a photo, loading a target, hashing or downloading a model) so the
preview never stalls. Per-frame data never goes through here: the preview polls the runner.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from typing import Any

from PySide6.QtCore import QObject, QRunnable, QThreadPool, Signal

from faceswap_live.errors import FaceswapError

logger = logging.getLogger(__name__)


class _Signals(QObject):
    finished = Signal(object)
    failed = Signal(object)
    progress = Signal(int, int)


class _Job(QRunnable):
    def __init__(self, function: Callable[..., Any], signals: _Signals, with_progress: bool) -> None:
        super().__init__()
        self._function = function
        self._signals = signals
        self._with_progress = with_progress
        self.setAutoDelete(True)

    def run(self) -> None:
        try:
            result = self._function(self._signals.progress.emit) if self._with_progress else self._function()
        except Exception as error:  # every failure reaches the GUI thread as a value, never kills the pool thread
            if isinstance(error, FaceswapError):
                logger.info("Background job failed: %s", error)
            else:  # a bug, not a user-facing problem: keep the traceback in the log
                logger.exception("Background job failed")
            self._signals.failed.emit(error)
            return
        self._signals.finished.emit(result)


class BackgroundJobs(QObject):
    """Runs callables on a private QThreadPool. Callbacks run on the GUI thread (queued signals).

    Call from the GUI thread. `wait(timeout_s)` on close lets running jobs end; jobs are never killed.
    """

    def __init__(self, parent: QObject | None = None, max_threads: int = 2) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(max_threads)
        self._live_signals: set[_Signals] = set()

    def submit(
        self,
        function: Callable[..., Any],
        on_done: Callable[[Any], None] | None = None,
        on_error: Callable[[Exception], None] | None = None,
        on_progress: Callable[[int, int], None] | None = None,
    ) -> None:
        """Run function() (or function(progress) when on_progress is given) on the pool."""
        signals = _Signals()
        self._live_signals.add(signals)  # keep the QObject alive until the job reports back

        def finished(result: object) -> None:
            self._live_signals.discard(signals)
            if on_done is not None:
                on_done(result)

        def failed(error: object) -> None:
            self._live_signals.discard(signals)
            if on_error is not None:
                on_error(error)  # type: ignore[arg-type]
            else:
                logger.error("Background job failed: %s", error)

        signals.finished.connect(finished)
        signals.failed.connect(failed)
        if on_progress is not None:
            signals.progress.connect(on_progress)
        self._pool.start(_Job(function, signals, with_progress=on_progress is not None))

    @property
    def busy(self) -> bool:
        return self._pool.activeThreadCount() > 0 or bool(self._live_signals)

    def wait(self, timeout_s: float) -> bool:
        """Block until running jobs end (True) or the timeout passes (False)."""
        self._pool.clear()  # queued jobs that have not started never start
        return bool(self._pool.waitForDone(int(timeout_s * 1000)))
