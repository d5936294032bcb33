"""Work-around for a reference-counting bug in shiboken6 6.12 on Python 3.11.

There, every call of a PySide6 method that returns nothing (setText, update, QPainter.drawImage, …) gives back one
reference to None that it never took. Before Python 3.12 None is not immortal, so a GUI that repaints 60 times a
second brings None's reference count to zero within seconds to minutes and the interpreter aborts with
"Fatal Python error: none_dealloc: deallocating None".

The guard detects the bug once (a few calls of a void method; the count must not move) and, where present, keeps a
large reserve of references on None. Extra references on None are harmless: None is never freed. Python 3.12+ and
fixed PySide6 releases are left alone.
"""

from __future__ import annotations

import ctypes
import logging
import sys

from PySide6.QtCore import QObject, QTimer

logger = logging.getLogger(__name__)

NONE_REFERENCE_RESERVE = 1 << 40  # ~3 months at 100 000 lost references a second
CHECK_INTERVAL_MS = 10_000
_PROBE_CALLS = 64


def pyside_loses_none_references() -> bool:
    """True when calling a void PySide6 method drops a reference to None (the shiboken6 6.12 bug)."""
    if sys.version_info >= (3, 12):
        return False  # None is immortal: the lost references do no harm
    probe = QObject()
    before = sys.getrefcount(None)
    for _ in range(_PROBE_CALLS):
        probe.setObjectName("probe")
    lost = before - sys.getrefcount(None)
    return lost >= _PROBE_CALLS // 2


def top_up_none_references() -> None:
    """Keep None's reference count far from zero. GUI thread (holds the GIL; ctypes field access never drops it)."""
    count = ctypes.c_ssize_t.from_address(id(None))  # ob_refcnt is PyObject's first field
    if count.value < NONE_REFERENCE_RESERVE // 2:
        count.value += NONE_REFERENCE_RESERVE


_timer: QTimer | None = None


def install_none_reference_guard(parent: QObject | None = None) -> bool:
    """Detect the bug and, if present, top None up now and every 10 s. Returns True when the guard is active.

    Call once after the QApplication exists (the timer needs an event loop). Idempotent.
    """
    global _timer
    if _timer is not None:
        return True
    if not pyside_loses_none_references():
        return False
    logger.info("PySide6 drops references to None on this Python; keeping a reserve (see gui/refcount_guard.py)")
    top_up_none_references()
    _timer = QTimer(parent)
    _timer.timeout.connect(top_up_none_references)
    _timer.start(CHECK_INTERVAL_MS)
    return True
