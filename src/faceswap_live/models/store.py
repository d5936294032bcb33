"""Finds, downloads and verifies model files; a file whose hash or size is wrong is never handed out.

Where a model is looked for, in order:
1. the user's models folder (`<platformdirs user data dir>/models`, where downloads go),
2. the project's `models/` folder when running from a source checkout,
3. a mirror folder named by FACESWAP_LIVE_MODEL_MIRROR (looked up by file name and by the registry's sub-path).
Only then is it downloaded, trying each registry URL in turn.

Downloads go to `<file>.part` next to the final name, resume with an HTTP Range request after a dropped connection, are
checked against the pinned SHA-256 and size, and only then renamed (atomically) to the final name, so a partial download
can never pass for a complete file. A copy with the wrong hash is moved aside to `<file>.bad-<first 12 hex of its
hash>`, never deleted.

Hashing a 500 MB file takes seconds, so each computed hash is remembered (in `.verified-hashes.json` in the user's
models folder) with the file's size, modification time and inode; it is recomputed only when one of those changes.
"""

from __future__ import annotations

import bz2
import contextlib
import hashlib
import http.client
import json
import logging
import os
import threading
import time
import urllib.error
import urllib.request
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
_USER_AGENT = "faceswap-live model store (+https://github.com/faceswap-live)"

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


class _RetryableError(Exception):
    """A transfer failed in a way that may succeed when tried again (dropped connection, server error)."""


class _UrlFailedError(Exception):
    """This URL cannot deliver the file; the next URL should be tried."""


def default_user_dir() -> Path:
    """Where downloads go: `<platformdirs user data dir>/models`."""
    from faceswap_live.config import data_dir

    return data_dir() / "models"


def default_project_dir() -> Path | None:
    """The checkout's `models/` folder when running from a source checkout, else None."""
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

        `attempts_per_url`: tries per URL after dropped connections or server errors, each resuming where the last
        stopped. `retry_delay_s`: pause before the second try, doubled for each further one. `timeout_s`: socket
        timeout per read.
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
        """The file's SHA-256, from the cache when size, mtime and inode are unchanged since it was computed."""
        stat = path.stat()
        key = str(path.absolute())
        signature = {"size": stat.st_size, "mtime_ns": stat.st_mtime_ns, "inode": stat.st_ino}
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
            cache[str(path.absolute())] = {
                "size": stat.st_size,
                "mtime_ns": stat.st_mtime_ns,
                "inode": stat.st_ino,
                "sha256": sha256,
            }
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
        from tqdm import tqdm

        self._user_dir.mkdir(parents=True, exist_ok=True)
        target = self._user_dir / entry.filename
        failures: list[str] = []
        with tqdm(
            total=entry.size_bytes,
            unit="B",
            unit_scale=True,
            unit_divisor=1024,
            desc=entry.filename,
            disable=not self._show_progress,
        ) as bar:

            def report(done_bytes: int, total_bytes: int) -> None:
                if total_bytes and bar.total != total_bytes:
                    bar.total = total_bytes
                bar.update(done_bytes - bar.n)
                if progress is not None:
                    progress(done_bytes, total_bytes)

            for url in entry.urls:
                logger.info("Downloading %s from %s", entry.filename, url)
                try:
                    self._download_from(entry, url, target, report)
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

    def _download_from(self, entry: ModelEntry, url: str, target: Path, report: ProgressCallback) -> None:
        """Download one URL into `target` (verified, atomically renamed). Raises _UrlFailedError."""
        compressed = url.endswith(".bz2")
        raw_part = target.with_name(f"{entry.filename}{'.bz2' if compressed else ''}.part")
        expected_raw_size = None if compressed else entry.size_bytes
        last_error = ""
        for attempt in range(1, self._attempts_per_url + 1):
            if attempt > 1:
                time.sleep(self._retry_delay_s * 2 ** (attempt - 2))
            resumed = raw_part.is_file() and raw_part.stat().st_size > 0
            try:
                self._transfer(url, raw_part, expected_raw_size, report)
            except _RetryableError as error:
                last_error = str(error)
                logger.info("Attempt %d of %d for %s failed: %s", attempt, self._attempts_per_url, url, error)
                continue
            candidate = self._decompress(entry, raw_part) if compressed else raw_part
            found_sha256 = compute_sha256(candidate)
            found_size = candidate.stat().st_size
            size_ok = entry.size_bytes is None or found_size == entry.size_bytes
            if size_ok and found_sha256 == entry.sha256:
                os.replace(candidate, target)
                self._remember_sha256(target, found_sha256)
                return
            moved_to = _move_aside(candidate, entry.filename, found_sha256)
            mismatch = (
                f"served a different file: expected SHA-256 {entry.sha256} ({_format_size(entry.size_bytes)}), "
                f"found {found_sha256} ({_format_size(found_size)}); moved aside to {moved_to}"
            )
            logger.warning("%s: %s", url, mismatch)
            if resumed and attempt < self._attempts_per_url:
                # The partial file may have come from another server or another version: start again from zero.
                last_error = mismatch
                continue
            raise _UrlFailedError(mismatch)
        raise _UrlFailedError(f"{last_error} (gave up after {self._attempts_per_url} attempts)")

    def _transfer(self, url: str, part: Path, expected_size: int | None, report: ProgressCallback) -> None:
        """Append the rest of `url` to `part`, resuming with a Range request. Raises _RetryableError/_UrlFailedError."""
        offset = part.stat().st_size if part.is_file() else 0
        if expected_size is not None and offset > expected_size:
            logger.info("Discarding %s: longer than the expected %d bytes", part, expected_size)
            offset = 0
            part.unlink()
        if expected_size is not None and offset == expected_size:
            return  # complete already; verification decides whether it is right
        headers = {"User-Agent": _USER_AGENT}
        if offset:
            headers["Range"] = f"bytes={offset}-"
        request = urllib.request.Request(url, headers=headers)
        try:
            response = urllib.request.urlopen(request, timeout=self._timeout_s)
        except urllib.error.HTTPError as error:
            error.close()
            if error.code == 416 and offset:
                return  # nothing after `offset`: the part may be complete; verification decides
            if error.code >= 500 or error.code in (408, 429):
                raise _RetryableError(f"HTTP {error.code} {error.reason}") from error
            raise _UrlFailedError(f"HTTP {error.code} {error.reason}") from error
        except (urllib.error.URLError, OSError, http.client.HTTPException) as error:
            reason = error.reason if isinstance(error, urllib.error.URLError) else error
            raise _RetryableError(f"cannot connect ({reason})") from error
        with response:
            if offset and response.status == 206 and _content_range_start(response.headers) == offset:
                mode = "ab"
            else:
                if offset:
                    logger.info("%s does not resume at byte %d; downloading from the start", url, offset)
                offset = 0
                mode = "wb"
            length_header = response.headers.get("Content-Length")
            remaining_bytes = int(length_header) if length_header and length_header.isdigit() else None
            total_bytes = expected_size or (offset + remaining_bytes if remaining_bytes is not None else 0)
            done_bytes = offset
            report(done_bytes, total_bytes)
            with part.open(mode) as handle:
                while True:
                    try:
                        chunk = response.read(_CHUNK_BYTES)
                    except (OSError, http.client.HTTPException) as error:
                        raise _RetryableError(f"connection lost after {done_bytes:,} bytes ({error})") from error
                    if not chunk:
                        break
                    handle.write(chunk)
                    done_bytes += len(chunk)
                    report(done_bytes, total_bytes)
                    if expected_size is not None and done_bytes > expected_size:
                        break  # more than the pinned size: it is the wrong file; verification moves it aside
        announced_bytes = None if remaining_bytes is None else offset + remaining_bytes
        too_short = announced_bytes is not None and done_bytes < announced_bytes
        if too_short and (expected_size is None or done_bytes <= expected_size):
            raise _RetryableError(f"connection closed after {done_bytes:,} of {announced_bytes:,} bytes")

    def _decompress(self, entry: ModelEntry, compressed_part: Path) -> Path:
        """Decompress a downloaded .bz2 into `<file>.part`; the compressed part is removed. Raises _UrlFailedError."""
        output = compressed_part.with_name(f"{entry.filename}.part")
        limit = entry.size_bytes
        try:
            with bz2.open(compressed_part, "rb") as source, output.open("wb") as destination:
                written = 0
                while chunk := source.read(_CHUNK_BYTES):
                    destination.write(chunk)
                    written += len(chunk)
                    if limit is not None and written > limit:
                        break  # larger than the pin: wrong file, stop before filling the disk
        except (OSError, EOFError, ValueError) as error:
            moved_to = _move_aside(compressed_part, entry.filename + ".bz2", compute_sha256(compressed_part))
            with contextlib.suppress(OSError):
                output.unlink()
            raise _UrlFailedError(f"not a valid bzip2 file ({error}); moved aside to {moved_to}") from error
        compressed_part.unlink()
        return output


def _content_range_start(headers: Any) -> int | None:
    """First byte of a `Content-Range: bytes START-END/TOTAL` header, or None."""
    value = str(headers.get("Content-Range", ""))
    if not value.startswith("bytes "):
        return None
    start, _, _ = value[len("bytes ") :].partition("-")
    return int(start) if start.isdigit() else None


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
