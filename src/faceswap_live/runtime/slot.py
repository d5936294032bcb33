"""A one-slot, latest-wins mailbox between threads: the newest item replaces an unread one, and drops are counted.

Latency never grows when the consumer is slower than the producer, unlike a queue.
"""

from __future__ import annotations

import threading
from typing import Generic, TypeVar

ItemT = TypeVar("ItemT")


class LatestSlot(Generic[ItemT]):
    """Any thread may put; one consumer thread takes."""

    def __init__(self) -> None:
        self._item: ItemT | None = None
        self._condition = threading.Condition()
        self.dropped = 0
        self.delivered = 0
        self._closed = False

    def put(self, item: ItemT) -> None:
        with self._condition:
            if self._item is not None:
                self.dropped += 1
            self._item = item
            self._condition.notify()

    def take(self, timeout_s: float | None = None) -> ItemT | None:
        """The newest item, waiting up to timeout_s; None on timeout or after close()."""
        with self._condition:
            if self._item is None and not self._closed:
                self._condition.wait(timeout_s)
            item, self._item = self._item, None
            if item is not None:
                self.delivered += 1
            return item

    @property
    def closed(self) -> bool:
        return self._closed

    def close(self) -> None:
        """Wake a waiting consumer for shutdown."""
        with self._condition:
            self._closed = True
            self._condition.notify_all()
