"""Native libraries (MediaPipe, libpng, FFmpeg inside OpenCV) write straight to file descriptor 2, past Python's
logging: their lines would come before every error message, so no error would be one line. This catches them."""

from __future__ import annotations

import contextlib
import logging
import os
import re
import sys
import tempfile
import threading
from collections.abc import Iterator

logger = logging.getLogger(__name__)

_REDIRECT_LOCK = threading.RLock()
"""fd 2 is one per process: two threads redirecting it at once would restore each other's copies in the wrong order."""


@contextlib.contextmanager
def native_stderr_to_debug(pattern: re.Pattern[str] | None = None) -> Iterator[None]:
    """Catch what is written to fd 2 meanwhile; lines matching `pattern` (all when None) go to the debug log.

    Other lines (another thread's message) are written to stderr unchanged when the block ends. Use it around single
    calls into native code, never around long work: it holds back everything else written to stderr meanwhile, and
    other threads wanting it wait.
    """
    with _REDIRECT_LOCK:
        yield from _redirected(pattern)


def _redirected(pattern: re.Pattern[str] | None) -> Iterator[None]:
    try:
        sys.stderr.flush()
        saved = os.dup(2)
    except (OSError, ValueError):  # no usable fd 2 (a GUI without a console)
        yield
        return
    with tempfile.TemporaryFile() as capture:
        os.dup2(capture.fileno(), 2)
        try:
            yield
        finally:
            os.dup2(saved, 2)
            os.close(saved)
            capture.seek(0)
            others = []
            for line in capture.read().decode("utf-8", "replace").splitlines():
                if pattern is None or pattern.match(line):
                    logger.debug("native: %s", line)
                else:
                    others.append(line + "\n")
            if others:
                with contextlib.suppress(OSError, ValueError):
                    sys.stderr.write("".join(others))
