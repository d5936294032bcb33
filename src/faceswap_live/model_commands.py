"""`faceswap-live models list | fetch | verify`: human-readable output and exit codes for the CLI.

Each function prints to stdout (errors to stderr) and returns the process exit code; cli.py does the exiting.
Which engine needs which model comes from the engine registry.
"""

from __future__ import annotations

import sys

from faceswap_live.engines.registry import ENGINES, engines_needing
from faceswap_live.errors import ModelError
from faceswap_live.models.registry import ModelEntry
from faceswap_live.models.store import ModelStatus, ModelStore, VerifyReport


def _format_megabytes(size_bytes: int | None) -> str:
    return "?" if size_bytes is None else f"{size_bytes / 1_000_000:.1f} MB"


def _licence_label(entry: ModelEntry) -> str:
    return f"{entry.licence} *" if entry.requires_licence_acceptance else entry.licence


def _status_and_path(reports: list[VerifyReport]) -> tuple[str, str]:
    good = [report for report in reports if report.ok]
    if good:
        return ModelStatus.PRESENT.value, str(good[0].path)
    if not reports:
        return ModelStatus.MISSING.value, "-"
    first = reports[0]
    wrong_size = first.expected_size_bytes is not None and first.found_size_bytes != first.expected_size_bytes
    status = ModelStatus.WRONG_SIZE if wrong_size else ModelStatus.WRONG_HASH
    return status.value, str(first.path)


def list_models(store: ModelStore) -> int:
    """Print a table of the known models: name, size, licence, the engines that need it, status and path. Returns 0."""
    rows = [("NAME", "SIZE", "LICENCE", "ENGINES", "STATUS", "PATH")]
    for entry in store.registry:
        status, path = _status_and_path(store.verify(entry.name))
        engines = ", ".join(engines_needing(entry.name)) or "-"
        rows.append((entry.name, _format_megabytes(entry.size_bytes), _licence_label(entry), engines, status, path))
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]) - 1)]
    for row in rows:
        cells = [cell.ljust(width) for cell, width in zip(row, widths, strict=False)]
        print("  ".join([*cells, row[-1]]).rstrip())
    print()
    if any(entry.requires_licence_acceptance for entry in store.registry):
        print("* restricted licence: accept it with `faceswap-live models fetch NAME --accept-licence`.")
    print(f"Downloads go to {store.user_dir}.")
    print(
        f"Also searched: project folder {store.project_dir or '(none)'}, mirror folder {store.mirror_dir or '(none)'}."
    )
    return 0


def fetch_model(store: ModelStore, name: str, accept_licence: bool) -> int:
    """Locate or download one model, verifying it. Returns 0 when it is ready, 1 with the reason on stderr otherwise."""
    try:
        entry = store.entry(name)
        if entry.requires_licence_acceptance and accept_licence:
            print(f"{entry.filename} is under the {entry.licence} licence: {entry.licence_url}")
            print("You accepted it with --accept-licence.")
        path = store.fetch(name, accept_licence=accept_licence)
    except ModelError as error:
        print(f"error: {error}", file=sys.stderr)
        return 1
    print(f"{name}: ready at {path}")
    return 0


REQUIRED_MODELS = frozenset.intersection(*(frozenset(engine.model_names) for engine in ENGINES))
"""Models every engine needs, so every command; the others serve one engine or the evaluation."""


def verify_models(store: ModelStore) -> int:
    """Hash every local copy of every model again.

    Returns 1 if any copy has the wrong hash or size or a required model is missing, else 0.
    """
    any_bad = False
    missing_required = []
    for entry in store.registry:
        reports = store.verify(entry.name, recompute=True)
        if not reports:
            required = entry.name in REQUIRED_MODELS
            print(f"missing  {entry.name} ({entry.filename})" + (" - required by every command" if required else ""))
            if required:
                missing_required.append(entry.name)
        for report in reports:
            if report.ok:
                print(f"ok       {entry.name}: {report.path}")
                continue
            any_bad = True
            print(f"BAD      {entry.name}: {report.path}")
            print(
                f"         expected SHA-256 {report.expected_sha256} ({_format_megabytes(report.expected_size_bytes)})"
            )
            print(f"         found    SHA-256 {report.found_sha256} ({_format_megabytes(report.found_size_bytes)})")
    if any_bad:
        print()
        print(
            "Files marked BAD are never loaded; the app moves them aside when it next needs them. "
            "Run `faceswap-live models fetch NAME` for a good copy."
        )
    for name in missing_required:
        print(f"error: the required model {name} is missing; run `faceswap-live models fetch {name}`.", file=sys.stderr)
    return 1 if any_bad or missing_required else 0
