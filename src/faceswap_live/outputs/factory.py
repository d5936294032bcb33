"""Opening the outputs the settings ask for: virtual camera, MJPEG stream, recording."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from faceswap_live.config import AppConfig
from faceswap_live.errors import FaceswapError
from faceswap_live.outputs.base import OutputSink
from faceswap_live.outputs.mjpeg_stream import MjpegStreamSink
from faceswap_live.outputs.recorder import RecordingSink
from faceswap_live.outputs.virtual_camera import VirtualCameraSink


def open_sinks(config: AppConfig, on_error: Callable[[FaceswapError], None] | None = None) -> list[OutputSink]:
    """Open the outputs config.output asks for, sized like the capture (config.capture width/height/fps).

    An output that cannot open raises its FaceswapError (VirtualCameraError, OutputError), after closing the ones
    already opened; with `on_error`, the error is passed there instead and the other outputs still open (the app keeps
    running with the preview).
    """
    output, capture = config.output, config.capture
    width, height, fps = capture.width, capture.height, capture.fps
    openers: list[Callable[[], OutputSink]] = []
    if output.virtual_camera:
        openers.append(
            lambda: VirtualCameraSink(
                output.virtual_camera_width or width,
                output.virtual_camera_height or height,
                fps,
                output.virtual_camera_backend or None,
                output.virtual_camera_device or None,
            )
        )
    if output.stream:
        openers.append(lambda: MjpegStreamSink(output.stream_host, output.stream_port, output.stream_quality))
    if output.record_path:
        openers.append(
            lambda: RecordingSink(
                Path(output.record_path), fps, width, height, audio_device=output.record_audio_device or None
            )
        )
    sinks: list[OutputSink] = []
    for opener in openers:
        try:
            sinks.append(opener())
        except FaceswapError as error:
            if on_error is None:
                for sink in sinks:
                    sink.close()
                raise
            on_error(error)
    return sinks
