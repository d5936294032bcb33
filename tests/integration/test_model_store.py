"""The model store against a real HTTP server on 127.0.0.1: download, verify, retry, fall back, refuse bad files.

The server serves files the tests make; nothing here touches the internet.
"""

from __future__ import annotations

import bz2
import dataclasses
import hashlib
import itertools
import os
import socket
import sys
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from faceswap_live import model_commands
from faceswap_live.errors import ModelError
from faceswap_live.models.registry import ModelEntry
from faceswap_live.models.store import HASH_CACHE_FILENAME, ModelStatus, ModelStore

GOOD_BYTES = os.urandom(5_000_000)  # several of the store's 1 MiB download chunks, also in the first half
GOOD_SHA256 = hashlib.sha256(GOOD_BYTES).hexdigest()


@dataclass
class Route:
    """What the test server answers on one path."""

    content: bytes = b""
    status_code: int = 200
    truncate_responses: int = 0
    """This many responses announce the full length but stop half-way and close the connection."""


@dataclass
class FileServer:
    """A real HTTP/1.0 server on 127.0.0.1 that records the path of every request."""

    port: int
    routes: dict[str, Route] = field(default_factory=dict)
    requests: list[str] = field(default_factory=list)

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.port}{path}"

    def requests_for(self, path: str) -> int:
        """How many requests were made for `path`."""
        return self.requests.count(path)


def _make_handler(server_state: list[FileServer]) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: object) -> None:  # quiet test output
            pass

        def do_GET(self) -> None:
            state = server_state[0]
            state.requests.append(self.path)
            route = state.routes.get(self.path)
            if route is None:
                self.send_error(404)
                return
            if route.status_code != 200:
                self.send_error(route.status_code)
                return
            body = route.content
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if route.truncate_responses > 0:
                route.truncate_responses -= 1
                body = body[: len(body) // 2]
            self.wfile.write(body)

    return Handler


@pytest.fixture()
def file_server(monkeypatch: pytest.MonkeyPatch) -> Iterator[FileServer]:
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    state: list[FileServer] = []
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _make_handler(state))
    state.append(FileServer(port=httpd.server_address[1]))
    thread = threading.Thread(
        target=httpd.serve_forever, kwargs={"poll_interval": 0.05}, name="test-file-server", daemon=True
    )
    thread.start()
    try:
        yield state[0]
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


def _refused_url() -> str:
    """A URL on a port where nothing listens (connection refused)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    return f"http://127.0.0.1:{port}/nothing.onnx"


def _entry(urls: tuple[str, ...], *, gated: bool = False, size_bytes: int | None = len(GOOD_BYTES)) -> ModelEntry:
    return ModelEntry(
        name="tiny_model",
        filename="tiny_model.onnx",
        urls=urls,
        sha256=GOOD_SHA256,
        size_bytes=size_bytes,
        licence="Example non-commercial research" if gated else "MIT",
        licence_url="https://example.org/licence",
        used_by="tests",
        description="random bytes",
        requires_licence_acceptance=gated,
    )


def _store(tmp_path: Path, *entries: ModelEntry, mirror_dir: Path | None = None) -> ModelStore:
    return ModelStore(
        user_dir=tmp_path / "user",
        project_dir=tmp_path / "project",
        mirror_dir=mirror_dir if mirror_dir is not None else tmp_path / "mirror",
        show_progress=False,
        registry=entries,
        attempts_per_url=2,
        retry_delay_s=0.0,
        timeout_s=5.0,
    )


def test_download_is_verified_and_installed_in_the_user_folder(tmp_path: Path, file_server: FileServer) -> None:
    file_server.routes["/tiny.onnx"] = Route(GOOD_BYTES)
    store = _store(tmp_path, _entry((file_server.url("/tiny.onnx"),)))
    assert store.status("tiny_model") == ModelStatus.MISSING
    progress: list[tuple[int, int]] = []

    path = store.fetch("tiny_model", progress=lambda done, total: progress.append((done, total)))

    assert path == tmp_path / "user" / "tiny_model.onnx"
    assert path.read_bytes() == GOOD_BYTES
    assert progress[-1] == (len(GOOD_BYTES), len(GOOD_BYTES))
    assert sorted(p.name for p in (tmp_path / "user").iterdir()) == [HASH_CACHE_FILENAME, "tiny_model.onnx"]
    assert store.status("tiny_model") == ModelStatus.PRESENT
    # A second fetch finds the copy and does not download again.
    assert store.fetch("tiny_model") == path
    assert len(file_server.requests) == 1


def test_a_server_sending_the_wrong_file_is_refused_and_the_file_moved_aside(
    tmp_path: Path, file_server: FileServer
) -> None:
    wrong_bytes = bytes(len(GOOD_BYTES))
    wrong_sha256 = hashlib.sha256(wrong_bytes).hexdigest()
    file_server.routes["/tiny.onnx"] = Route(wrong_bytes)
    store = _store(tmp_path, _entry((file_server.url("/tiny.onnx"),)))

    with pytest.raises(ModelError) as caught:
        store.fetch("tiny_model")

    message = str(caught.value)
    assert GOOD_SHA256 in message and wrong_sha256 in message
    assert "tiny_model.onnx" in message and str(tmp_path / "user" / "tiny_model.onnx") in message
    moved = tmp_path / "user" / f"tiny_model.onnx.bad-{wrong_sha256[:12]}"
    assert moved.read_bytes() == wrong_bytes
    assert not (tmp_path / "user" / "tiny_model.onnx").exists()
    assert store.locate("tiny_model") is None


def test_failing_urls_fall_through_to_the_next_one(tmp_path: Path, file_server: FileServer) -> None:
    file_server.routes["/broken.onnx"] = Route(status_code=500)
    file_server.routes["/good.onnx"] = Route(GOOD_BYTES)
    urls = (
        file_server.url("/broken.onnx"),
        _refused_url(),
        file_server.url("/missing.onnx"),
        file_server.url("/good.onnx"),
    )
    store = _store(tmp_path, _entry(urls))

    assert store.fetch("tiny_model").read_bytes() == GOOD_BYTES
    # A server error is tried again (attempts_per_url=2); a 404 is not.
    assert file_server.requests_for("/broken.onnx") == 2
    assert file_server.requests_for("/missing.onnx") == 1


def test_when_every_url_fails_the_error_names_each_and_where_to_put_the_file(
    tmp_path: Path, file_server: FileServer
) -> None:
    file_server.routes["/broken.onnx"] = Route(status_code=503)
    urls = (file_server.url("/broken.onnx"), _refused_url())
    store = _store(tmp_path, _entry(urls))

    with pytest.raises(ModelError) as caught:
        store.fetch("tiny_model")

    message = str(caught.value)
    assert urls[0] in message and "503" in message
    assert urls[1] in message and "cannot connect" in message and "Connection refused" in message
    assert str(tmp_path / "user" / "tiny_model.onnx") in message
    assert GOOD_SHA256 in message


def test_an_interrupted_download_is_tried_again_from_the_start(tmp_path: Path, file_server: FileServer) -> None:
    file_server.routes["/tiny.onnx"] = Route(GOOD_BYTES, truncate_responses=1)
    store = _store(tmp_path, _entry((file_server.url("/tiny.onnx"),)))
    progress: list[tuple[int, int]] = []

    path = store.fetch("tiny_model", progress=lambda done, total: progress.append((done, total)))

    assert path.read_bytes() == GOOD_BYTES
    assert file_server.requests_for("/tiny.onnx") == 2
    # The progress shown goes back for the second try instead of adding to the lost half, and ends complete.
    assert any(later < earlier for (earlier, _), (later, _) in itertools.pairwise(progress))
    assert progress[-1] == (len(GOOD_BYTES), len(GOOD_BYTES))
    assert sorted(p.name for p in (tmp_path / "user").iterdir()) == [HASH_CACHE_FILENAME, "tiny_model.onnx"]


def test_a_partial_download_is_never_taken_for_the_file(tmp_path: Path, file_server: FileServer) -> None:
    route = Route(GOOD_BYTES, truncate_responses=10**6)
    file_server.routes["/tiny.onnx"] = route
    # No pinned size: only the announced length and the hash can tell the half file from the whole one.
    store = _store(tmp_path, _entry((file_server.url("/tiny.onnx"),), size_bytes=None))

    with pytest.raises(ModelError, match="connection lost during the download") as caught:
        store.fetch("tiny_model")
    assert "gave up after 2 attempts" in str(caught.value)
    assert list((tmp_path / "user").iterdir()) == []  # no final file, no half file left behind
    assert store.locate("tiny_model") is None
    assert store.status("tiny_model") == ModelStatus.MISSING

    # Once the server behaves, the next fetch downloads the whole file.
    route.truncate_responses = 0
    assert store.fetch("tiny_model").read_bytes() == GOOD_BYTES


def test_a_compressed_source_is_unpacked_and_checked(tmp_path: Path, file_server: FileServer) -> None:
    file_server.routes["/tiny.onnx.bz2"] = Route(bz2.compress(GOOD_BYTES))
    store = _store(tmp_path, _entry((file_server.url("/tiny.onnx.bz2"),)))

    assert store.fetch("tiny_model").read_bytes() == GOOD_BYTES
    assert sorted(p.name for p in (tmp_path / "user").iterdir()) == [HASH_CACHE_FILENAME, "tiny_model.onnx"]


def test_a_corrupt_compressed_source_is_moved_aside_and_the_next_url_used(
    tmp_path: Path, file_server: FileServer
) -> None:
    file_server.routes["/tiny.onnx.bz2"] = Route(b"not bzip2 data")
    file_server.routes["/tiny.onnx"] = Route(GOOD_BYTES)
    store = _store(tmp_path, _entry((file_server.url("/tiny.onnx.bz2"), file_server.url("/tiny.onnx"))))

    assert store.fetch("tiny_model").read_bytes() == GOOD_BYTES
    moved = tmp_path / "user" / f"tiny_model.onnx.bz2.bad-{hashlib.sha256(b'not bzip2 data').hexdigest()[:12]}"
    assert moved.read_bytes() == b"not bzip2 data"


def test_without_a_callback_a_progress_bar_is_shown_on_the_terminal(
    tmp_path: Path, file_server: FileServer, capsys: pytest.CaptureFixture[str]
) -> None:
    file_server.routes["/tiny.onnx"] = Route(GOOD_BYTES)
    store = ModelStore(
        user_dir=tmp_path / "user",
        project_dir=tmp_path / "project",
        mirror_dir=tmp_path / "mirror",
        show_progress=True,
        registry=[_entry((file_server.url("/tiny.onnx"),))],
    )
    store.fetch("tiny_model")
    assert "100%" in capsys.readouterr().err


def test_a_corrupt_local_copy_is_moved_aside_and_downloaded_again(tmp_path: Path, file_server: FileServer) -> None:
    file_server.routes["/tiny.onnx"] = Route(GOOD_BYTES)
    store = _store(tmp_path, _entry((file_server.url("/tiny.onnx"),)))
    corrupt = bytearray(GOOD_BYTES)
    corrupt[1000] ^= 0xFF
    (tmp_path / "user").mkdir()
    (tmp_path / "user" / "tiny_model.onnx").write_bytes(corrupt)
    assert store.status("tiny_model") == ModelStatus.WRONG_HASH

    assert store.fetch("tiny_model").read_bytes() == GOOD_BYTES
    moved = tmp_path / "user" / f"tiny_model.onnx.bad-{hashlib.sha256(corrupt).hexdigest()[:12]}"
    assert moved.read_bytes() == corrupt


def test_a_licence_gated_model_is_not_downloaded_without_acceptance(tmp_path: Path, file_server: FileServer) -> None:
    file_server.routes["/tiny.onnx"] = Route(GOOD_BYTES)
    store = _store(tmp_path, _entry((file_server.url("/tiny.onnx"),), gated=True))

    with pytest.raises(ModelError) as caught:
        store.fetch("tiny_model")
    message = str(caught.value)
    assert "Example non-commercial research" in message
    assert "faceswap-live models fetch tiny_model --accept-licence" in message
    assert file_server.requests == []

    assert store.fetch("tiny_model", accept_licence=True).read_bytes() == GOOD_BYTES


def test_a_licence_gated_model_placed_by_hand_is_used(tmp_path: Path) -> None:
    store = _store(tmp_path, _entry((_refused_url(),), gated=True))
    (tmp_path / "project").mkdir()
    (tmp_path / "project" / "tiny_model.onnx").write_bytes(GOOD_BYTES)

    assert store.fetch("tiny_model") == tmp_path / "project" / "tiny_model.onnx"


def test_copies_are_preferred_user_then_project_then_mirror(tmp_path: Path) -> None:
    store = _store(tmp_path, _entry((_refused_url(),)))
    for folder in ("mirror", "project", "user"):
        (tmp_path / folder).mkdir(exist_ok=True)
        (tmp_path / folder / "tiny_model.onnx").write_bytes(GOOD_BYTES)
        assert store.locate("tiny_model") == tmp_path / folder / "tiny_model.onnx"
    assert [report.location for report in store.verify("tiny_model")] == ["user", "project", "mirror"]
    assert all(report.ok for report in store.verify("tiny_model"))


def test_the_real_landmark_model_comes_from_the_mirror_without_network(
    tmp_path: Path, shared_model_mirror: Path
) -> None:
    store = ModelStore(
        user_dir=tmp_path / "user",
        project_dir=tmp_path / "project",
        mirror_dir=shared_model_mirror,
        show_progress=False,
        attempts_per_url=1,
    )
    assert store.fetch("face_landmarker") == shared_model_mirror / "face_landmarker.task"
    # The evaluation models sit under the registry's sub-path in the mirror.
    predictor = store.locate("dlib_shape_predictor_5")
    assert predictor == shared_model_mirror / "eval" / "shape_predictor_5_face_landmarks.dat"
    assert store.status("face_landmarker") == ModelStatus.PRESENT


def test_the_mirror_folder_comes_from_the_environment(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "env-mirror").mkdir()
    (tmp_path / "env-mirror" / "tiny_model.onnx").write_bytes(GOOD_BYTES)
    monkeypatch.setenv("FACESWAP_LIVE_MODEL_MIRROR", str(tmp_path / "env-mirror"))
    store = ModelStore(
        user_dir=tmp_path / "user", project_dir=tmp_path / "project", registry=[_entry((_refused_url(),))]
    )
    assert store.locate("tiny_model") == tmp_path / "env-mirror" / "tiny_model.onnx"


def test_a_remembered_hash_is_reused_until_the_file_changes_on_disk(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Start-up must not re-hash big files, yet a file damaged in place (its time set back) is never handed out."""
    path = tmp_path / "user" / "tiny_model.onnx"
    path.parent.mkdir()
    path.write_bytes(GOOD_BYTES)
    assert _store(tmp_path, _entry((_refused_url(),))).status("tiny_model") == ModelStatus.PRESENT
    original = path.stat()

    with monkeypatch.context() as patched:  # unchanged: the remembered hash is used, across store instances
        patched.setattr("faceswap_live.models.store.compute_sha256", lambda _: pytest.fail("hashed again"))
        assert _store(tmp_path, _entry((_refused_url(),))).status("tiny_model") == ModelStatus.PRESENT

    # Change the bytes in place, keeping size, inode and modification time.
    with path.open("r+b") as handle:
        handle.write(b"\x00" * 16)
    os.utime(path, ns=(original.st_atime_ns, original.st_mtime_ns))
    assert (path.stat().st_size, path.stat().st_ino, path.stat().st_mtime_ns) == (
        original.st_size,
        original.st_ino,
        original.st_mtime_ns,
    )
    restarted_store = _store(tmp_path, _entry((_refused_url(),)))
    assert restarted_store.status("tiny_model") == ModelStatus.WRONG_HASH
    assert restarted_store.locate("tiny_model") is None


def test_unknown_model_names_list_the_known_ones(tmp_path: Path) -> None:
    store = _store(tmp_path, _entry((_refused_url(),)))
    with pytest.raises(ModelError, match="Known models: tiny_model"):
        store.fetch("nope")


def test_cli_verify_fails_on_a_bad_copy_and_list_shows_it(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(tmp_path, _entry((_refused_url(),)))
    (tmp_path / "mirror").mkdir()
    mirror_copy = tmp_path / "mirror" / "tiny_model.onnx"
    mirror_copy.write_bytes(bytes(len(GOOD_BYTES)))

    assert model_commands.verify_models(store) == 1
    output = capsys.readouterr().out
    assert "BAD" in output and str(mirror_copy) in output
    assert GOOD_SHA256 in output and hashlib.sha256(bytes(len(GOOD_BYTES))).hexdigest() in output

    assert model_commands.list_models(store) == 0
    assert "wrong hash" in capsys.readouterr().out

    mirror_copy.write_bytes(GOOD_BYTES)
    assert model_commands.verify_models(store) == 0
    assert model_commands.list_models(store) == 0
    assert str(mirror_copy) in capsys.readouterr().out


def test_cli_fetch_reports_a_refused_licence_on_stderr(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    store = _store(tmp_path, _entry((_refused_url(),), gated=True))
    assert model_commands.fetch_model(store, "tiny_model", accept_licence=False) == 1
    assert "--accept-licence" in capsys.readouterr().err


def test_the_frozen_app_uses_the_model_it_carries_only_when_its_hash_matches(
    tmp_path: Path, file_server: FileServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    # PyInstaller's frozen app: sys.frozen is set and sys._MEIPASS is its folder of bundled files.
    bundle = tmp_path / "bundle"
    (bundle / "models").mkdir(parents=True)
    (bundle / "models" / "tiny_model.onnx").write_bytes(GOOD_BYTES)
    monkeypatch.setattr(sys, "frozen", True, raising=False)
    monkeypatch.setattr(sys, "_MEIPASS", str(bundle), raising=False)
    file_server.routes["/tiny.onnx"] = Route(GOOD_BYTES)
    entry = _entry((file_server.url("/tiny.onnx"),))
    store = ModelStore(tmp_path / "user", mirror_dir=tmp_path / "mirror", show_progress=False, registry=[entry])

    assert store.fetch("tiny_model") == bundle / "models" / "tiny_model.onnx"
    assert file_server.requests == []

    # A damaged copy in the app is never used: it is moved aside and the model downloaded to the user folder.
    (bundle / "models" / "tiny_model.onnx").write_bytes(bytes(len(GOOD_BYTES)))
    store = ModelStore(tmp_path / "user", mirror_dir=tmp_path / "mirror", show_progress=False, registry=[entry])
    assert store.fetch("tiny_model") == tmp_path / "user" / "tiny_model.onnx"
    assert file_server.requests == ["/tiny.onnx"]


def test_cli_verify_fails_when_a_required_model_is_missing(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    required = dataclasses.replace(_entry((_refused_url(),)), name="face_landmarker", filename="face_landmarker.task")
    store = _store(tmp_path, _entry((_refused_url(),)), required)
    (tmp_path / "mirror").mkdir()
    (tmp_path / "mirror" / "tiny_model.onnx").write_bytes(GOOD_BYTES)
    assert model_commands.verify_models(store) == 1
    error = capsys.readouterr().err
    assert "face_landmarker is missing" in error and "models fetch face_landmarker" in error
    (tmp_path / "mirror" / "face_landmarker.task").write_bytes(GOOD_BYTES)
    assert model_commands.verify_models(store) == 0
