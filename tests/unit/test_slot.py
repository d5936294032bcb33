"""The latest-wins mailbox between capture and processing."""

import threading
import time

from faceswap_live.runtime.slot import LatestSlot


def test_newest_item_wins_and_overwritten_items_are_counted_as_dropped() -> None:
    slot: LatestSlot[int] = LatestSlot()
    for value in range(5):
        slot.put(value)
    assert slot.take(timeout_s=0) == 4
    assert slot.dropped == 4
    assert slot.take(timeout_s=0.01) is None


def test_a_waiting_consumer_wakes_on_put_and_on_close() -> None:
    slot: LatestSlot[str] = LatestSlot()
    received: list[str | None] = []
    consumer = threading.Thread(target=lambda: received.append(slot.take(timeout_s=5)))
    consumer.start()
    time.sleep(0.05)
    slot.put("frame")
    consumer.join(1)
    assert received == ["frame"]

    waiter = threading.Thread(target=lambda: received.append(slot.take(timeout_s=5)))
    waiter.start()
    slot.close()
    waiter.join(1)
    assert not waiter.is_alive() and received[-1] is None
