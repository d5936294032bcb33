"""The runtime that moves frames: the per-frame pipeline and the threads around it.

- pipeline.py: one frame through the stages and the swap engine (owned by one thread).
- runner.py: the capture and processing threads, handing results to the preview and the output sinks.
- slot.py: the one-slot, latest-wins mailbox between threads.
"""
