"""Finds, downloads and verifies model files; a file whose hash or size is wrong is never handed out.

Where a model is looked for, in order:
1. the user's models folder (`<platformdirs user data dir>/models`, where downloads go),
2. the project's `models/` folder when running from a source checkout, or the models the frozen (download) build
   carries,
3. a mirror folder named by FACESWAP_LIVE_MODEL_MIRROR (looked up by file name and by the registry's sub-path).
Only then is it downloaded, trying each registry URL in turn.

Downloads use pooch (requests underneath); a URL is tried again, from the start, after a dropped connection or a server
error. pooch streams into a temporary file and renames it to `<file>.part` only when the transfer
is complete; `.bz2` sources are decompressed with pooch.Decompress. The `.part` is checked against the pinned SHA-256
and size and only then renamed (atomically) to the final name, so a partial download can never pass for a complete file.
A copy with the wrong hash is moved aside to `<file>.bad-<first 12 hex of its hash>`, never deleted.

Hashing a 500 MB file takes seconds, so each computed hash is remembered (in `.verified-hashes.json` in the user's
models folder) with the file's size, modification time, inode, change time (which any write or time reset moves, and no
tool can set back) and a fingerprint of sampled blocks of its content; it is recomputed when any of those changes.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import logging
import os
import sys
import threading
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from enum import StrEnum
from pathlib import Path
from typing import Any

from faceswap_live.errors import ModelError
from faceswap_live.models.registry import MODELS, ModelEntry, find_entry

logger = logging.getLogger(__name__)

MIRROR_ENVIRONMENT_VARIABLE = "FACESWAP_LIVE_MODEL_MIRROR"
HASH_CACHE_FILENAME = ".verified-hashes.json"
_CHUNK_BYTES = 1024 * 1024
_LOG_HASHING_ABOVE_BYTES = 100_000_000
_SAMPLE_BLOCKS = 64
_SAMPLE_BLOCK_BYTES = 4096

ProgressCallback = Callable[[int, int], None]
"""Called with (bytes done, bytes in total; 0 when the total is unknown) from the thread that runs fetch()."""


class ModelStatus(StrEnum):
    """What the GUI shows next to a model."""

    PRESENT = "present"
    MISSING = "missing"
    WRONG_HASH = "wrong hash"
    WRONG_SIZE = "wrong size"


@dataclass(frozen=True)
class VerifyReport:
    """One local copy of a model file and whether it matches the registry's pin."""

    name: str
    path: Path
    location: str
    """Which folder it was found in: "user", "project" or "mirror"."""
    expected_sha256: str
    found_sha256: str
    expected_size_bytes: int | None
    found_size_bytes: int
    ok: bool


class _UrlFailedError(Exception):
    """This URL cannot deliver the file; the next URL should be tried."""


def default_user_dir() -> Path:
    """Where downloads go: `<platformdirs user data dir>/models`."""
    from faceswap_live.config import data_dir

    return data_dir() / "models"


def default_project_dir() -> Path | None:
    """The checkout's `models/` folder when running from a source checkout, the frozen build's `models/`, else None."""
    bundle = getattr(sys, "_MEIPASS", None)
    if getattr(sys, "frozen", False) and bundle:
        # PyInstaller's folder of bundled files; packaging/pyinstaller/faceswap-live.spec puts the models there.
        return Path(bundle) / "models"
    root = Path(__file__).resolve().parents[3]
    if (root / "pyproject.toml").is_file() and (root / "src" / "faceswap_live").is_dir():
        return root / "models"
    return None


def default_mirror_dir() -> Path | None:
    """The folder named by FACESWAP_LIVE_MODEL_MIRROR, or None when the variable is unset or empty."""
    value = os.environ.get(MIRROR_ENVIRONMENT_VARIABLE, "").strip()
    return Path(value).expanduser() if value else None


def compute_sha256(path: Path) -> str:
    """Lower-case hex SHA-256 of a file, read in 1 MiB chunks. Raises OSError when it cannot be read."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        while chunk := handle.read(_CHUNK_BYTES):
            digest.update(chunk)
    return digest.hexdigest()


def _signature(path: Path, stat: os.stat_result) -> dict[str, Any]:
    """What must be unchanged for a remembered hash to be trusted: size, times, inode and sampled content."""
    return {
        "size": stat.st_size,
        "mtime_ns": stat.st_mtime_ns,
        "ctime_ns": stat.st_ctime_ns,
        "inode": stat.st_ino,
        "sample_sha256": _sample_fingerprint(path, stat.st_size),
    }


def _sample_fingerprint(path: Path, size_bytes: int) -> str:
    """SHA-256 of 64 blocks of 4 KiB spread evenly over the file: a quarter MB read, even for a 500 MB model."""
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for index in range(_SAMPLE_BLOCKS):
            handle.seek(max(0, size_bytes - _SAMPLE_BLOCK_BYTES) * index // max(1, _SAMPLE_BLOCKS - 1))
            digest.update(handle.read(_SAMPLE_BLOCK_BYTES))
    return digest.hexdigest()


def _format_size(size_bytes: int | None) -> str:
    return "unknown size" if size_bytes is None else f"{size_bytes:,} bytes"


class ModelStore:
    """Locates, downloads and verifies the model files of a registry.

    Thread safety: all methods may be called from any thread; downloads are serialised. fetch(), verify() and status()
    may hash large files (seconds, the first time) or download (minutes), so call them off the GUI thread.
    """

    def __init__(
        self,
        user_dir: Path | None = None,
        project_dir: Path | None = None,
        mirror_dir: Path | None = None,
        show_progress: bool = True,
        *,
        registry: Iterable[ModelEntry] | None = None,
        attempts_per_url: int = 3,
        retry_delay_s: float = 1.0,
        timeout_s: float = 30.0,
    ) -> None:
        """Folders left as None take their defaults (see the module docstring); `registry` defaults to the real one.

        `attempts_per_url`: tries per URL after dropped connections or server errors, each from the start.
        `retry_delay_s`: pause before the second try, doubled for each further one. `timeout_s`: socket timeout for
        connecting and per read.
        """
        if attempts_per_url < 1:
            raise ValueError("attempts_per_url must be at least 1")
        self._user_dir = user_dir if user_dir is not None else default_user_dir()
        self._project_dir = project_dir if project_dir is not None else default_project_dir()
        self._mirror_dir = mirror_dir if mirror_dir is not None else default_mirror_dir()
        self._show_progress = show_progress
        self._registry: tuple[ModelEntry, ...] = tuple(MODELS if registry is None else registry)
        self._attempts_per_url = attempts_per_url
        self._retry_delay_s = retry_delay_s
        self._timeout_s = timeout_s
        self._fetch_lock = threading.RLock()
        self._cache_lock = threading.Lock()
        self._hash_cache: dict[str, dict[str, Any]] | None = None

    # ----------------------------------------------------------------------------------------------------------------
    # Public API

    @property
    def registry(self) -> tuple[ModelEntry, ...]:
        return self._registry

    @property
    def user_dir(self) -> Path:
        return self._user_dir

    @property
    def project_dir(self) -> Path | None:
        return self._project_dir

    @property
    def mirror_dir(self) -> Path | None:
        return self._mirror_dir

    def entry(self, name: str) -> ModelEntry:
        """The registry entry called `name`. Raises ModelError listing the known names."""
        return find_entry(name, self._registry)

    def locate(self, name: str) -> Path | None:
        """The first local copy whose SHA-256 and size match, or None.

        Copies that do not match are moved aside (renamed to `<file>.bad-<hash>`) and never returned.
        Raises ModelError for an unknown name.
        """
        # No lock: downloads write only `.part` files, so looking up finished copies never waits for a download.
        path, _problems = self._locate_entry(self.entry(name))
        return path

    def fetch(self, name: str, *, accept_licence: bool = False, progress: ProgressCallback | None = None) -> Path:
        """A verified local copy of the model, downloading it into the user's models folder when there is none.

        `accept_licence` must be True to download a model whose licence restricts use (the user has accepted it).
        `progress(bytes_done, bytes_total)` is called during a download, from this thread.
        Raises ModelError: unknown name, licence not accepted, every URL failed or served the wrong file.
        """
        entry = self.entry(name)
        with self._fetch_lock:
            path, problems = self._locate_entry(entry)
            if path is not None:
                return path
            if entry.requires_licence_acceptance and not accept_licence:
                raise ModelError(self._licence_message(entry, problems))
            return self._download(entry, progress, problems)

    def verify(self, name: str, *, recompute: bool = False) -> list[VerifyReport]:
        """Every local copy of the model with its expected and found hash; moves nothing.

        `recompute=True` hashes every file again instead of trusting the remembered hash.
        Raises ModelError for an unknown name.
        """
        entry = self.entry(name)
        reports = []
        for location, path in self._candidates(entry):
            try:
                reports.append(self._check(entry, location, path, recompute))
            except OSError as error:
                logger.warning("Cannot read %s: %s", path, error)
        return reports

    def status(self, name: str) -> str:
        """A ModelStatus value: "present", "missing", "wrong hash" or "wrong size". Raises ModelError when unknown."""
        reports = self.verify(name)
        if any(report.ok for report in reports):
            return ModelStatus.PRESENT
        if not reports:
            return ModelStatus.MISSING
        first = reports[0]
        if first.expected_size_bytes is not None and first.found_size_bytes != first.expected_size_bytes:
            return ModelStatus.WRONG_SIZE
        return ModelStatus.WRONG_HASH

    # ----------------------------------------------------------------------------------------------------------------
    # Looking up local copies

    def _candidates(self, entry: ModelEntry) -> list[tuple[str, Path]]:
        """Existing files that may be the model, in order of preference, each path once."""
        folders = [("user", self._user_dir), ("project", self._project_dir), ("mirror", self._mirror_dir)]
        found: list[tuple[str, Path]] = []
        seen: set[Path] = set()
        for location, folder in folders:
            if folder is None:
                continue
            paths = [folder / entry.filename]
            if entry.mirror_subdir:
                paths.append(folder / entry.mirror_relative_path)
            for path in paths:
                if not path.is_file():
                    continue
                resolved = path.resolve()
                if resolved not in seen:
                    seen.add(resolved)
                    found.append((location, path))
        return found

    def _locate_entry(self, entry: ModelEntry) -> tuple[Path | None, list[str]]:
        """The first matching copy, and a sentence for each copy that did not match (those are moved aside)."""
        problems: list[str] = []
        for location, path in self._candidates(entry):
            try:
                report = self._check(entry, location, path, recompute=False)
            except OSError as error:
                problems.append(f"{path} cannot be read ({error}).")
                continue
            if report.ok:
                logger.debug("Model %s found at %s", entry.name, path)
                return path, problems
            problems.append(self._reject(entry, report))
        return None, problems

    def _check(self, entry: ModelEntry, location: str, path: Path, recompute: bool) -> VerifyReport:
        size_bytes = path.stat().st_size
        found_sha256 = self._cached_sha256(path, recompute)
        size_ok = entry.size_bytes is None or size_bytes == entry.size_bytes
        return VerifyReport(
            name=entry.name,
            path=path,
            location=location,
            expected_sha256=entry.sha256,
            found_sha256=found_sha256,
            expected_size_bytes=entry.size_bytes,
            found_size_bytes=size_bytes,
            ok=size_ok and found_sha256 == entry.sha256,
        )

    def _reject(self, entry: ModelEntry, report: VerifyReport) -> str:
        """Move a non-matching copy aside; returns a sentence for the user and logs it."""
        mismatch = (
            f"{report.path} is not the expected {entry.filename}: expected SHA-256 {entry.sha256} "
            f"({_format_size(entry.size_bytes)}), found {report.found_sha256} "
            f"({_format_size(report.found_size_bytes)})"
        )
        try:
            moved_to = _move_aside(report.path, entry.filename, report.found_sha256)
        except OSError as error:
            message = (
                f"{mismatch}. It is not used, and it could not be moved aside ({error}): delete or replace it by hand."
            )
        else:
            message = f"{mismatch}. It is not used and was moved aside to {moved_to} (delete it when you like)."
        logger.warning(message)
        return message

    # ----------------------------------------------------------------------------------------------------------------
    # Hash cache

    def _cache_path(self) -> Path:
        return self._user_dir / HASH_CACHE_FILENAME

    def _load_cache(self) -> dict[str, dict[str, Any]]:
        if self._hash_cache is None:
            self._hash_cache = {}
            try:
                data = json.loads(self._cache_path().read_text(encoding="utf-8"))
                if isinstance(data, dict) and isinstance(data.get("files"), dict):
                    self._hash_cache = {key: value for key, value in data["files"].items() if isinstance(value, dict)}
            except FileNotFoundError:
                pass
            except (OSError, ValueError) as error:
                logger.info("Ignoring the model hash cache %s: %s", self._cache_path(), error)
        return self._hash_cache

    def _save_cache(self, cache: dict[str, dict[str, Any]]) -> None:
        # Forget files that no longer exist so the cache does not grow forever.
        files = {key: value for key, value in cache.items() if Path(key).is_file()}
        path = self._cache_path()
        temporary = path.with_name(f"{path.name}.{os.getpid()}.{threading.get_ident()}.tmp")
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            temporary.write_text(json.dumps({"version": 1, "files": files}, indent=1), encoding="utf-8")
            os.replace(temporary, path)
        except OSError as error:
            # A read-only user folder only costs a re-hash on the next start.
            logger.info("Cannot save the model hash cache %s: %s", path, error)
            with contextlib.suppress(OSError):
                temporary.unlink()

    def _cached_sha256(self, path: Path, recompute: bool) -> str:
        """The file's SHA-256, from the cache when its signature (see _signature) is unchanged since it was computed."""
        stat = path.stat()
        key = str(path.absolute())
        signature = _signature(path, stat)
        with self._cache_lock:
            cache = self._load_cache()
            cached = cache.get(key)
            if not recompute and cached is not None and all(cached.get(k) == v for k, v in signature.items()):
                sha256 = cached.get("sha256")
                if isinstance(sha256, str):
                    return sha256
        # Say so only where it takes long enough (about a second per 500 MB) for someone to wonder.
        level = logging.INFO if stat.st_size > _LOG_HASHING_ABOVE_BYTES else logging.DEBUG
        logger.log(level, "Checking the SHA-256 of %s (%s)", path, _format_size(stat.st_size))
        sha256 = compute_sha256(path)
        self._remember_sha256(path, sha256, stat)
        return sha256

    def _remember_sha256(self, path: Path, sha256: str, stat: os.stat_result | None = None) -> None:
        stat = stat if stat is not None else path.stat()
        with self._cache_lock:
            cache = self._load_cache()
            cache[str(path.absolute())] = {**_signature(path, stat), "sha256": sha256}
            self._save_cache(cache)

    # ----------------------------------------------------------------------------------------------------------------
    # Downloading

    def _licence_message(self, entry: ModelEntry, problems: list[str]) -> str:
        lines = [
            f"{entry.name} ({entry.filename}) is under the {entry.licence} licence ({entry.licence_url}), "
            "which you must accept before it is downloaded.",
            f"To accept it and download, run: faceswap-live models fetch {entry.name} --accept-licence",
            f"Or put a copy you obtained yourself at {self._user_dir / entry.filename}.",
        ]
        return "\n".join([*problems, *lines])

    def _download(self, entry: ModelEntry, progress: ProgressCallback | None, problems: list[str]) -> Path:
        self._user_dir.mkdir(parents=True, exist_ok=True)
        failures: list[str] = []
        for url in entry.urls:
            logger.info("Downloading %s from %s", entry.filename, url)
            try:
                target = self._download_from(entry, url, progress)
            except _UrlFailedError as failure:
                logger.warning("Download of %s from %s failed: %s", entry.filename, url, failure)
                failures.append(f"  - {url}: {failure}")
                continue
            logger.info("Downloaded and verified %s", target)
            return target
        raise ModelError(self._download_failed_message(entry, failures, problems))

    def _download_failed_message(self, entry: ModelEntry, failures: list[str], problems: list[str]) -> str:
        mirror_hint = (
            f" or in the mirror folder {self._mirror_dir}"
            if self._mirror_dir is not None
            else f" (or in a folder named by {MIRROR_ENVIRONMENT_VARIABLE})"
        )
        lines = [
            *problems,
            f"Could not download {entry.filename} ({entry.name}):",
            *failures,
            f"Download it yourself from one of these addresses (or copy it from another machine) and put it at "
            f"{self._user_dir / entry.filename}{mirror_hint}.",
            f"The file must have SHA-256 {entry.sha256} ({_format_size(entry.size_bytes)}).",
        ]
        return "\n".join(lines)

    def _download_from(self, entry: ModelEntry, url: str, progress: ProgressCallback | None) -> Path:
        """Download one URL (tried again after transient errors), verify it and install it. Raises _UrlFailedError.

        pooch streams into a temporary file and renames it to `<file>.part` only once the transfer is complete, so a
        dropped connection leaves nothing behind; the `.part` becomes the final name only after our hash check.
        """
        import pooch
        import requests

        # Our own log says what is downloaded; pooch's INFO lines go straight to stderr and would suggest to the user
        # a hash to paste into pooch.retrieve().
        pooch.get_logger().setLevel(logging.WARNING)
        part = self._user_dir / f"{entry.filename}.part"
        compressed = url.endswith(".bz2")
        raw_part = part.with_name(f"{entry.filename}.bz2.part") if compressed else part
        last_error = ""
        for attempt in range(1, self._attempts_per_url + 1):
            if attempt > 1:
                time.sleep(self._retry_delay_s * 2 ** (attempt - 2))
            # pooch hands out an existing file instead of downloading when it is given no hash: clear leftovers.
            for leftover in {raw_part, part}:
                leftover.unlink(missing_ok=True)
            downloader = pooch.HTTPDownloader(  # a fresh progress bar for each try, so it starts again at zero
                progressbar=_ProgressBar(progress) if progress is not None else self._show_progress,
                chunk_size=_CHUNK_BYTES,
                timeout=self._timeout_s,
            )
            try:
                # No known_hash: pooch would delete a mismatching file, and the bad copy must be kept (moved aside);
                # for .bz2 sources only the decompressed hash is pinned. _install() verifies instead.
                pooch.retrieve(url, None, fname=raw_part.name, path=self._user_dir, downloader=downloader)
            except requests.RequestException as error:
                last_error, transient = _describe_request_error(error)
                if not transient:
                    raise _UrlFailedError(last_error) from error
                logger.info("Attempt %d of %d for %s failed: %s", attempt, self._attempts_per_url, url, last_error)
                continue
            except OSError as error:  # after RequestException, which is an OSError too: this is the local disk
                raise _UrlFailedError(f"cannot write to {self._user_dir} ({error})") from error
            return self._install(entry, self._decompress(entry, raw_part, part) if compressed else part)
        raise _UrlFailedError(f"{last_error} (gave up after {self._attempts_per_url} attempts)")

    def _decompress(self, entry: ModelEntry, compressed_part: Path, part: Path) -> Path:
        """Decompress a downloaded .bz2 into `part`; the compressed file is removed. Raises _UrlFailedError."""
        import pooch

        try:
            pooch.Decompress(method="bzip2", name=part.name)(str(compressed_part), "download", None)
        except (OSError, EOFError, ValueError) as error:
            moved_to = _move_aside(compressed_part, f"{entry.filename}.bz2", compute_sha256(compressed_part))
            part.unlink(missing_ok=True)
            raise _UrlFailedError(f"not a valid bzip2 file ({error}); moved aside to {moved_to}") from error
        compressed_part.unlink()
        return part

    def _install(self, entry: ModelEntry, part: Path) -> Path:
        """Give a downloaded file its final name if hash and size match, else move it aside. Raises _UrlFailedError."""
        target = self._user_dir / entry.filename
        found_sha256 = compute_sha256(part)
        found_size = part.stat().st_size
        if found_sha256 == entry.sha256 and entry.size_bytes in (None, found_size):
            os.replace(part, target)
            self._remember_sha256(target, found_sha256)
            return target
        moved_to = _move_aside(part, entry.filename, found_sha256)
        raise _UrlFailedError(
            f"served a different file: expected SHA-256 {entry.sha256} ({_format_size(entry.size_bytes)}), "
            f"found {found_sha256} ({_format_size(found_size)}); moved aside to {moved_to}"
        )


class _ProgressBar:
    """What pooch's HTTPDownloader drives as its progress bar (sets .total, calls .update(n), .reset(), .close()),
    forwarding to a ProgressCallback."""

    def __init__(self, callback: ProgressCallback) -> None:
        self.callback = callback
        self.total = 0
        self.done_bytes = 0

    def update(self, chunk_bytes: int) -> None:
        # pooch counts whole chunks, overshooting on the last one: never report more than the announced total.
        self.done_bytes = min(self.done_bytes + chunk_bytes, self.total or self.done_bytes + chunk_bytes)
        self.callback(self.done_bytes, self.total)

    def reset(self) -> None:
        """No-op: pooch calls it before update(total) to fill the bar, and the count is already there (clamped)."""

    def close(self) -> None:
        """No-op: nothing to release."""


def _describe_request_error(error: Exception) -> tuple[str, bool]:
    """A short reason for a failed request, and whether trying again may help (dropped connection, server error)."""
    import requests

    if isinstance(error, requests.HTTPError) and error.response is not None:
        code = int(error.response.status_code)
        return f"HTTP {code} {error.response.reason}", code >= 500 or code in (408, 429)
    if isinstance(error, requests.Timeout):
        return f"timed out ({_root_cause(error)})", True
    if isinstance(error, requests.ConnectionError):
        return f"cannot connect ({_root_cause(error)})", True
    if isinstance(error, requests.exceptions.ChunkedEncodingError):
        return f"connection lost during the download ({_root_cause(error)})", True
    return str(error), False


def _root_cause(error: BaseException) -> BaseException:
    """The innermost exception inside requests' and urllib3's wrappers, e.g. `[Errno 111] Connection refused`."""
    while True:
        nested = getattr(error, "reason", None)  # urllib3's MaxRetryError
        if not isinstance(nested, BaseException):
            nested = next((arg for arg in error.args if isinstance(arg, BaseException)), error.__cause__)
        if nested is None:
            return error
        error = nested


def _move_aside(path: Path, filename: str, found_sha256: str) -> Path:
    """Rename a bad copy to `<filename>.bad-<12 hex>` in its folder (adding -2, -3… if taken). Raises OSError."""
    base = path.with_name(f"{filename}.bad-{found_sha256[:12]}")
    destination = base
    counter = 2
    while destination.exists():
        destination = base.with_name(f"{base.name}-{counter}")
        counter += 1
    path.rename(destination)
    return destination
