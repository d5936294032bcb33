"""A local MJPEG-over-HTTP stream of the output, for OBS (Media Source / Browser Source), browsers and any client.

    http://127.0.0.1:8765/             a small page showing the stream
    http://127.0.0.1:8765/stream.mjpg  multipart/x-mixed-replace JPEG stream
    http://127.0.0.1:8765/snapshot.jpg the newest frame

Each new frame is JPEG-encoded once, on the sink's own thread, and the same bytes go to every client. Each client is
served by its own thread that waits for the next encoded frame; a client that goes away only ends its own thread.
"""

from __future__ import annotations

import errno
import ipaddress
import logging
import socket
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import cv2

from faceswap_live.errors import OutputError
from faceswap_live.outputs.base import JOIN_TIMEOUT_S, OutputSink
from faceswap_live.runtime.slot import LatestSlot
from faceswap_live.types import BgrImage, FrameResult

logger = logging.getLogger(__name__)

BOUNDARY = "faceswap-live-frame"
CLIENT_WAIT_S = 0.25
"""How often a waiting client thread checks whether the stream is closing."""
SOCKET_TIMEOUT_S = 10.0
"""A client that sends no request, or reads nothing, for this long is dropped (stalled connections cost a thread)."""
MAX_CONNECTIONS = 32
"""Connections served at once; more are closed at once (OBS and a few browsers need a handful)."""

_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>faceswap-live stream</title>
<style>body{margin:0;background:#000;display:flex;align-items:center;justify-content:center;height:100vh}
img{max-width:100%;max-height:100%}</style></head>
<body><img src="/stream.mjpg" alt="faceswap-live output (AI-generated)"></body></html>
"""


def host_header_allowed(host_header: str | None, bound_host: str) -> bool:
    """Whether a request's Host header names this stream by address, not by a domain name a web page controls.

    A page on some web site can make its own domain name point at 127.0.0.1 (DNS rebinding) and then read the stream
    as if it were the site's own; its requests still carry that domain as Host. So only IP addresses, "localhost" and
    the host the stream was bound to are accepted. No Host header at all (HTTP/1.0 tools) is not a browser: allowed.
    """
    if host_header is None:
        return True
    host = host_header.strip().lower()
    if host.startswith("["):  # [::1]:8765
        host = host[1 : host.find("]")] if "]" in host else host
    elif host.count(":") == 1:
        host = host.rsplit(":", 1)[0]
    if host in ("localhost", bound_host.lower()):
        return True
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def is_loopback_host(host: str) -> bool:
    """True for hosts that only this computer can reach (127.0.0.0/8, ::1, localhost)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class _EncodedFrames:
    """The newest JPEG and its sequence number, shared by the encoder and every client thread."""

    def __init__(self) -> None:
        self._condition = threading.Condition()
        self.sequence = 0
        self.jpeg = b""
        self.closed = False

    def publish(self, jpeg: bytes) -> None:
        with self._condition:
            self.sequence += 1
            self.jpeg = jpeg
            self._condition.notify_all()

    def wait_newer(self, seen_sequence: int, timeout_s: float) -> tuple[int, bytes] | None:
        """The newest frame if it is newer than seen_sequence (waiting up to timeout_s); None otherwise."""
        with self._condition:
            if self.sequence <= seen_sequence and not self.closed:
                self._condition.wait(timeout_s)
            if self.closed or self.sequence <= seen_sequence:
                return None
            return self.sequence, self.jpeg

    def close(self) -> None:
        with self._condition:
            self.closed = True
            self._condition.notify_all()


class _StreamServer(ThreadingHTTPServer):
    daemon_threads = True
    block_on_close = False  # client threads end by themselves within CLIENT_WAIT_S once the stream closes
    request_queue_size = MAX_CONNECTIONS  # the default 5 makes clients that connect at once wait a second per retry

    def __init__(self, address: tuple[str, int], sink: MjpegStreamSink) -> None:
        if ":" in address[0]:
            self.address_family = socket.AF_INET6
        self.sink = sink
        self.connections = 0
        self.refused_connections = 0
        self._connections_lock = threading.Lock()
        super().__init__(address, _StreamRequestHandler)

    def verify_request(self, request: Any, client_address: Any) -> bool:
        """Take the connection if fewer than MAX_CONNECTIONS are served (counted until its thread ends)."""
        with self._connections_lock:
            if self.connections >= MAX_CONNECTIONS:
                self.refused_connections += 1
                return False
            self.connections += 1
            return True

    def process_request_thread(self, request: Any, client_address: Any) -> None:
        try:
            super().process_request_thread(request, client_address)
        finally:
            with self._connections_lock:
                self.connections -= 1


class _StreamRequestHandler(BaseHTTPRequestHandler):
    server: _StreamServer
    server_version = "faceswap-live"
    timeout = SOCKET_TIMEOUT_S

    def do_GET(self) -> None:
        if not host_header_allowed(self.headers.get("Host"), self.server.sink.host):
            self.send_error(HTTPStatus.FORBIDDEN, "Open the stream by its address, e.g. http://127.0.0.1:PORT/")
            return
        path = self.path.split("?", 1)[0]
        if path in ("/", "/index.html"):
            self._send_body(_PAGE.encode("utf-8"), "text/html; charset=utf-8")
        elif path == "/stream.mjpg":
            self._stream()
        elif path == "/snapshot.jpg":
            jpeg = self.server.sink.encode_newest()
            if jpeg is None:
                self.send_error(HTTPStatus.SERVICE_UNAVAILABLE, "No frame yet")
            else:
                self._send_body(jpeg, "image/jpeg")
        else:
            self.send_error(HTTPStatus.NOT_FOUND)

    def _send_body(self, body: bytes, content_type: str) -> None:
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        self.wfile.write(body)

    def _stream(self) -> None:
        sink = self.server.sink
        self.send_response(HTTPStatus.OK)
        self.send_header("Content-Type", f"multipart/x-mixed-replace; boundary={BOUNDARY}")
        self.send_header("Cache-Control", "no-store")
        self.send_header("Connection", "close")
        self.end_headers()
        sink.client_connected()
        try:
            sink.encode_newest()  # a new client sees the current picture at once, even when frames are slow
            seen_sequence = 0
            while not sink.closing:
                newer = sink.frames.wait_newer(seen_sequence, CLIENT_WAIT_S)
                if newer is None:
                    continue
                seen_sequence, jpeg = newer
                header = f"--{BOUNDARY}\r\nContent-Type: image/jpeg\r\nContent-Length: {len(jpeg)}\r\n\r\n"
                self.wfile.write(header.encode("ascii") + jpeg + b"\r\n")
                self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError, ConnectionAbortedError, TimeoutError):
            logger.debug("Stream client %s went away", self.client_address)
        finally:
            sink.client_disconnected()
            self.close_connection = True

    def log_message(self, format: str, *args: object) -> None:
        logger.debug("HTTP %s: " + format, self.client_address[0], *args)


class MjpegStreamSink(OutputSink):
    """Serves the output as MJPEG over HTTP on host:port (port 0 = any free port; see `.url`).

    Binds to 127.0.0.1 unless another host is asked for, which logs a warning (anyone on the network could watch).
    Raises OutputError when the address cannot be bound (port in use, unknown host).
    """

    name = "stream"

    def __init__(self, host: str = "127.0.0.1", port: int = 8765, quality: int = 80) -> None:
        if not is_loopback_host(host):
            logger.warning(
                "The stream is bound to %s: other devices on the network can watch it. "
                "Use 127.0.0.1 to keep it on this computer.",
                host or "all interfaces",
            )
        self.quality = quality
        self.frames = _EncodedFrames()
        self.frames_encoded = 0
        self.closing = False
        self._clients = 0
        self._clients_lock = threading.Lock()
        self._slot: LatestSlot[FrameResult] = LatestSlot()
        self._newest_bgr: BgrImage | None = None
        self._newest_sequence = 0
        self._encoded_sequence = 0
        self._encode_lock = threading.Lock()
        self.host = host
        try:
            self._server = _StreamServer((host, port), self)
        except OSError as error:
            reason = "the port is in use by another program" if error.errno == errno.EADDRINUSE else str(error)
            raise OutputError(
                f"The stream could not listen on {host}:{port}: {reason}. Choose another port (--port)."
            ) from error
        self.host = host
        self.port: int = self._server.server_address[1]
        self._server_thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.1}, name="faceswap-stream-http", daemon=True
        )
        self._encoder_thread = threading.Thread(target=self._encode_loop, name="faceswap-stream-encoder", daemon=True)
        self._server_thread.start()
        self._encoder_thread.start()
        logger.info("%s", self.status())

    @property
    def url(self) -> str:
        """The stream's address, e.g. http://127.0.0.1:8765/stream.mjpg."""
        shown = "127.0.0.1" if self.host in ("", "0.0.0.0") else "[::1]" if self.host == "::" else self.host
        if ":" in shown and not shown.startswith("["):
            shown = f"[{shown}]"
        return f"http://{shown}:{self.port}/stream.mjpg"

    @property
    def clients(self) -> int:
        return self._clients

    def send(self, result: FrameResult) -> None:
        self._slot.put(result)

    def close(self) -> None:
        if self.closing:
            return
        self.closing = True
        self._slot.close()
        self.frames.close()
        self._server.shutdown()
        self._server.server_close()
        for thread in (self._server_thread, self._encoder_thread):
            thread.join(JOIN_TIMEOUT_S)

    def status(self) -> str:
        if self.closing:
            return f"Stream closed ({self.url})"
        viewers = f"{self._clients} viewer" + ("" if self._clients == 1 else "s")
        return f"Stream: {self.url} ({viewers})"

    # --- called from client threads and the encoder thread ---

    def client_connected(self) -> None:
        with self._clients_lock:
            self._clients += 1

    def client_disconnected(self) -> None:
        with self._clients_lock:
            self._clients -= 1

    def encode_newest(self) -> bytes | None:
        """JPEG of the newest frame, encoding it only if no one has yet. None before the first frame."""
        with self._encode_lock:
            image, sequence = self._newest_bgr, self._newest_sequence
            if image is None:
                return None
            if sequence != self._encoded_sequence:
                ok, encoded = cv2.imencode(".jpg", image, [cv2.IMWRITE_JPEG_QUALITY, self.quality])
                if not ok:
                    logger.error("JPEG encoding failed for a %s frame", image.shape)
                    return None
                self._encoded_sequence = sequence
                self.frames_encoded += 1
                self.frames.publish(encoded.tobytes())
            return self.frames.jpeg

    def _encode_loop(self) -> None:
        """Encoder thread: keep the newest frame; encode it once when someone is watching."""
        while not self.closing:
            result = self._slot.take(timeout_s=CLIENT_WAIT_S)
            if result is None:
                continue
            with self._encode_lock:
                self._newest_bgr = result.output_bgr
                self._newest_sequence += 1
            if self._clients > 0:
                self.encode_newest()
