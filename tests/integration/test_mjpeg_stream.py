"""The MJPEG stream read by real HTTP clients, as OBS or a browser would: JPEG parts that decode to the output,
several viewers at once, viewers leaving mid-stream, loopback only by default."""

from __future__ import annotations

import http.client
import logging
import socket
import threading
import time
import urllib.request
from collections.abc import Iterator
from urllib.parse import urlsplit

import cv2
import numpy as np
import pytest

from faceswap_live.errors import OutputError
from faceswap_live.outputs.mjpeg_stream import BOUNDARY, MjpegStreamSink
from faceswap_live.types import BgrImage, Frame, FrameResult


def _result(image_bgr: BgrImage, index: int = 0) -> FrameResult:
    now = time.perf_counter()
    return FrameResult(image_bgr, Frame(image_bgr, index, now - 0.04), (), {}, now, True)


def _coloured(blue: int, green: int, red: int) -> BgrImage:
    image = np.empty((240, 320, 3), dtype=np.uint8)
    image[:] = (blue, green, red)
    return image


class Feeder:
    """Sends frames to the sink from a thread, like the processing thread does: frame i has blue = i % 256."""

    def __init__(self, sink: MjpegStreamSink, fps: float = 60.0) -> None:
        self.sink, self.period_s, self.sent = sink, 1 / fps, 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def __enter__(self) -> Feeder:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(2)

    def _run(self) -> None:
        while not self._stop.wait(self.period_s):
            self.sink.send(_result(_coloured(self.sent % 256, 40, 200), self.sent))
            self.sent += 1


def _read_parts(response: http.client.HTTPResponse) -> Iterator[BgrImage]:
    """Parse multipart/x-mixed-replace by hand, as a client does, and decode each JPEG."""
    while True:
        line = response.readline()
        if not line:
            return
        if line.strip() != f"--{BOUNDARY}".encode():
            continue
        headers: dict[str, str] = {}
        while (header := response.readline().strip()) != b"":
            name, _, value = header.decode().partition(":")
            headers[name.strip().lower()] = value.strip()
        assert headers["content-type"] == "image/jpeg"
        data = response.read(int(headers["content-length"]))
        image = cv2.imdecode(np.frombuffer(data, dtype=np.uint8), cv2.IMREAD_COLOR)
        assert image is not None, "a part is not a decodable JPEG"
        yield image


def _open_stream(url: str) -> http.client.HTTPResponse:
    parts = urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname or "", parts.port, timeout=5)
    connection.request("GET", parts.path)
    response = connection.getresponse()
    assert response.status == 200
    assert response.getheader("Content-Type") == f"multipart/x-mixed-replace; boundary={BOUNDARY}"
    return response


@pytest.fixture()
def sink() -> Iterator[MjpegStreamSink]:
    stream = MjpegStreamSink(port=0)
    yield stream
    stream.close()


def test_a_client_receives_the_output_as_jpeg_parts(sink: MjpegStreamSink) -> None:
    sink.send(_result(_coloured(30, 160, 220)))
    response = _open_stream(sink.url)
    image = next(_read_parts(response))
    response.close()
    assert image.shape == (240, 320, 3)
    assert np.abs(image.astype(int) - (30, 160, 220)).max() <= 6  # JPEG tolerance; BGR stays BGR


def test_several_clients_at_once_each_frame_encoded_once_and_a_leaving_client_does_not_disturb_others(
    sink: MjpegStreamSink,
) -> None:
    with Feeder(sink):
        responses = [_open_stream(sink.url) for _ in range(3)]
        readers = [_read_parts(response) for response in responses]
        for reader in readers:
            assert next(reader).shape == (240, 320, 3)
        # One viewer vanishes mid-stream (socket closed under the server's feet).
        responses[0].close()
        seen: list[list[int]] = [[], []]
        for _ in range(15):
            for slot, reader in enumerate(readers[1:]):
                seen[slot].append(int(next(reader)[120, 160, 0]))
        assert all(len(set(blues)) > 5 for blues in seen), "the remaining viewers stopped getting new frames"
        assert _wait(lambda: sink.clients == 2), "the departed viewer was not noticed"
        for response in responses[1:]:
            response.close()
        encoded = sink.frames_encoded
        taken = sink._slot.delivered  # frames the stream took from the processing thread
    assert 15 <= encoded <= taken, "frames are encoded per client instead of once"


def test_opencv_reads_the_stream_url(sink: MjpegStreamSink) -> None:
    with Feeder(sink):
        capture = cv2.VideoCapture(sink.url, cv2.CAP_FFMPEG)
        try:
            if not capture.isOpened():
                pytest.skip("this OpenCV build cannot open HTTP streams")
            ok, image = capture.read()
        finally:
            capture.release()
    assert ok and image.shape == (240, 320, 3)
    assert np.abs(image[120, 160, 1:].astype(int) - (40, 200)).max() <= 8


def test_page_and_snapshot(sink: MjpegStreamSink) -> None:
    base = sink.url.removesuffix("/stream.mjpg")
    with pytest.raises(urllib.error.HTTPError) as no_frame:
        urllib.request.urlopen(f"{base}/snapshot.jpg", timeout=5)
    assert no_frame.value.code == 503
    sink.send(_result(_coloured(200, 100, 10)))
    assert _wait(lambda: sink._newest_bgr is not None)
    with urllib.request.urlopen(f"{base}/snapshot.jpg", timeout=5) as response:
        image = cv2.imdecode(np.frombuffer(response.read(), dtype=np.uint8), cv2.IMREAD_COLOR)
    assert np.abs(image.astype(int) - (200, 100, 10)).max() <= 6
    with urllib.request.urlopen(f"{base}/", timeout=5) as response:
        assert b'src="/stream.mjpg"' in response.read()


def test_bound_to_loopback_by_default_and_elsewhere_only_with_a_warning(caplog: pytest.LogCaptureFixture) -> None:
    default = MjpegStreamSink(port=0)
    try:
        assert default._server.server_address[0] == "127.0.0.1"
        assert default.url.startswith("http://127.0.0.1:")
        address = _non_loopback_address()
        if address is not None:  # another computer reaching this one by its network address is refused
            with pytest.raises(OSError):
                socket.create_connection((address, default.port), timeout=2).close()
    finally:
        default.close()
    assert not [record for record in caplog.records if record.levelno >= logging.WARNING]
    with caplog.at_level(logging.WARNING):
        everywhere = MjpegStreamSink(host="0.0.0.0", port=0)
        everywhere.close()
    assert any("other devices on the network" in record.getMessage() for record in caplog.records)


def test_a_port_in_use_is_a_clear_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        with pytest.raises(OutputError, match=f"{port}.*in use"):
            MjpegStreamSink(port=port)


def test_close_ends_open_streams_and_threads() -> None:
    stream = MjpegStreamSink(port=0)
    stream.send(_result(_coloured(1, 2, 3)))
    response = _open_stream(stream.url)
    next(_read_parts(response))
    stream.close()
    stream.close()
    # The server ends the response: reading to its end returns (a hang would hit the 5 s socket timeout).
    assert len(list(_read_parts(response))) <= 1
    response.close()
    assert _wait(lambda: not any(t.name.startswith("faceswap-stream") for t in threading.enumerate()))
    assert "closed" in stream.status()


def _non_loopback_address() -> str | None:
    """This computer's address on its network, if it has one (no packet is sent)."""
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
        try:
            probe.connect(("192.0.2.1", 9))  # TEST-NET-1: only picks the outgoing interface
        except OSError:
            return None
        address = str(probe.getsockname()[0])
    return None if address.startswith("127.") or address == "0.0.0.0" else address


def _wait(condition: object, timeout_s: float = 5.0) -> bool:
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if condition():  # type: ignore[operator]
            return True
        time.sleep(0.01)
    return False


def _get_status(port: int, host_header: str) -> int:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        connection.request("GET", "/snapshot.jpg", headers={"Host": host_header})
        return connection.getresponse().status
    finally:
        connection.close()


def test_a_web_page_cannot_read_the_stream_through_dns_rebinding(sink: MjpegStreamSink) -> None:
    """A site that points its own name at 127.0.0.1 sends that name as Host: refused; addresses are served."""
    sink.send(_result(_coloured(10, 20, 30)))
    deadline = time.monotonic() + 5
    while _get_status(sink.port, f"127.0.0.1:{sink.port}") != 200 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _get_status(sink.port, f"attacker.example:{sink.port}") == 403
    assert _get_status(sink.port, "attacker.example") == 403
    for allowed in (f"127.0.0.1:{sink.port}", f"localhost:{sink.port}", f"[::1]:{sink.port}"):
        assert _get_status(sink.port, allowed) == 200, allowed


def test_stalled_connections_time_out_and_too_many_are_refused(monkeypatch: pytest.MonkeyPatch) -> None:
    from faceswap_live.outputs import mjpeg_stream as stream

    monkeypatch.setattr(stream._StreamRequestHandler, "timeout", 0.5)
    sink = MjpegStreamSink(port=0)
    try:
        silent = [socket.create_connection(("127.0.0.1", sink.port), timeout=5) for _ in range(stream.MAX_CONNECTIONS)]
        extra = socket.create_connection(("127.0.0.1", sink.port), timeout=5)
        assert extra.recv(1) == b""  # over the cap: closed at once
        extra.close()
        for connection in silent:  # a connection that never sends a request is dropped after the time-out
            assert connection.recv(1) == b""
            connection.close()
        deadline = time.monotonic() + 5
        while sink._server.connections and time.monotonic() < deadline:
            time.sleep(0.05)
        assert sink._server.connections == 0
        assert _get_status(sink.port, f"127.0.0.1:{sink.port}") in (200, 503)  # served again
    finally:
        sink.close()
