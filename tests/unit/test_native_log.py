"""Native stderr lines caught around calls into native code: matched lines go to the debug log, others pass, and
threads using it at once leave stderr where it was."""

from __future__ import annotations

import os
import re
import threading
import time

import pytest

from faceswap_live.native_log import native_stderr_to_debug


def test_native_lines_go_to_the_debug_log_and_others_pass(capfd: pytest.CaptureFixture[str]) -> None:
    with native_stderr_to_debug(re.compile(r"W0000 ")):
        os.write(2, b"W0000 00:00 graph.cc:1] chatter\nsomething the user must see\n")
    err = capfd.readouterr().err
    assert "chatter" not in err and "something the user must see" in err


def test_threads_redirecting_at_once_leave_stderr_where_it_was() -> None:
    before = os.fstat(2)

    def use() -> None:
        for _ in range(20):
            with native_stderr_to_debug():
                time.sleep(0.001)

    threads = [threading.Thread(target=use) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    after = os.fstat(2)
    assert (after.st_dev, after.st_ino) == (before.st_dev, before.st_ino)
