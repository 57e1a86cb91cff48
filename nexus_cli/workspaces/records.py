"""The project's workspace records: ``.nexus/state/workspaces.json``, one owner, atomic writes.

A record says which template and variables a workspace was created with; together with the git
worktree list and the containers labelled for the project, it is one of the three sources that
``nexus workspace list`` reconciles.
"""

from __future__ import annotations

import contextlib
import dataclasses
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import fs, jsonio, validate
from nexus_cli.errors import NotFoundError, StateError
from nexus_cli.project import find_project
from nexus_cli.suggest import did_you_mean
from nexus_cli.workspaces.compose_keys import PROFILE
from nexus_cli.workspaces.jsonstate import load_json

RECORDS_FILE = "workspaces.json"
LOCK_FILE = "workspaces.lock"
# Present once a workspace of this project has used a Docker engine (a template with services):
# `workspace list` asks the engine for leftover containers only then (or when a workspace has
# services), so a project of bare workspaces never loads the Docker SDK to list them.
ENGINE_MARKER = "engine-used"
MAX_WORKSPACES = 1_000  # records in one project
MAX_FILES = 10_000  # generated files of one workspace


@dataclass(slots=True)
class WorkspaceRecord:
    """One workspace as ``workspaces.json`` stores it: exactly these fields, in this order."""

    name: str
    template: str
    branch: str
    created_at: float = field(default_factory=time.time)
    variables: dict[str, str] = field(default_factory=dict)
    bind_address: str = "127.0.0.1"
    # Files the template wrote into the worktree: relative path -> SHA-256 of what was written.
    generated_files: dict[str, str] = field(default_factory=dict)
    post_create_done: bool = False  # the template's post_create hooks ran (once)
    # ``--compose FILE`` (relative to the project root) and ``--profile``s: the project's own
    # Compose file is the template (nexus_cli/workspaces/compose.py).
    compose: str = ""
    profiles: list[str] = field(default_factory=list)
    # The Docker engine endpoint the services were created on ("" for none: bare, or older).
    engine: str = ""
    # While ``workspace create`` runs: its journal (nexus_cli/workspaces/rollback.py), what it is
    # about to make, written before it makes it. Empty (and not written) once created.
    creating: dict[str, Any] = field(default_factory=dict)

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the declared fields and nothing else (no empty journal)."""
        data = dataclasses.asdict(self)
        if not data["creating"]:
            del data["creating"]
        return data


def _path(state_dir: Path) -> Path:
    return state_dir / RECORDS_FILE


def _root(state_dir: Path) -> Path:
    """The repository that holds ``state_dir`` (always ``<repository>/.nexus/state``): files are
    opened folder by folder from there, so a committed link on the way is refused."""
    return state_dir.parent.parent


def load_all(state_dir: Path) -> dict[str, WorkspaceRecord]:
    path = _path(state_dir)
    return load_json(
        path,
        lambda data: _parse(data, path),
        missing={},
        what=f"workspace records {path} are",
        hint="restore the file from a backup or move it aside (worktrees and containers are untouched)",
        root=_root(state_dir),
    )


def _parse(data: Any, path: Path) -> dict[str, WorkspaceRecord]:
    """Records from the document, each checked: names read back are untrusted (hand edits, bugs)."""
    rows = data.get("workspaces", [])
    if not isinstance(rows, list) or len(rows) > MAX_WORKSPACES:
        raise StateError(f"{path}: 'workspaces' must be a list of at most {MAX_WORKSPACES:,}")
    result: dict[str, WorkspaceRecord] = {}
    for row in rows:
        record = WorkspaceRecord(**row)
        check_record(record, path)
        result[record.name] = record
    return result


def check_record(record: WorkspaceRecord, path: Path) -> None:
    """The schema of one record, checked when it is read and before it is written (``path``
    names the file in the message): names, text maps, counts and sizes."""
    validate.workspace_name(record.name, source=path)
    validate.workspace_name(record.branch, source=path)
    validate.template_name(record.template, source=path)
    where = f"{path}: workspace {record.name!r}"
    if (
        not isinstance(record.variables, dict)
        or len(record.variables) > validate.MAX_VARIABLES
        or not all(
            isinstance(k, str) and isinstance(v, str) and len(v) <= validate.MAX_VARIABLE_VALUE
            for k, v in record.variables.items()
        )
    ):
        raise StateError(
            f"{where}: variables must map text to text (at most {validate.MAX_VARIABLES}, "
            f"values up to {validate.MAX_VARIABLE_VALUE:,} characters)"
        )
    if not isinstance(record.generated_files, dict) or len(record.generated_files) > MAX_FILES:
        raise StateError(f"{where}: generated_files must map at most {MAX_FILES:,} paths")
    for rel, digest in record.generated_files.items():
        if not isinstance(rel, str) or rel.startswith("/") or ".." in rel.split("/"):
            raise StateError(
                f"{where}: generated file {rel!r} is not a relative path inside the worktree",
                hint="the file was edited or is corrupt; fix or remove that entry",
            )
        if not isinstance(digest, str) or len(digest) != 64:
            raise StateError(f"{where}: generated file {rel!r} has no SHA-256")
    if (
        isinstance(record.created_at, bool)
        or not isinstance(record.created_at, int | float)
        or not isinstance(record.bind_address, str)
        or len(record.bind_address) > 64
        or not isinstance(record.post_create_done, bool)
        or not isinstance(record.engine, str)
        or len(record.engine) > 512
    ):
        raise StateError(
            f"{where}: created_at, bind_address, post_create_done or engine is malformed"
        )
    _check_journal(record, path)
    _check_compose(record, path)


def _check_compose(record: WorkspaceRecord, path: Path) -> None:
    rel, profiles = record.compose, record.profiles
    if (
        not isinstance(rel, str)
        or rel.startswith("/")
        or "\x00" in rel
        or ".." in rel.split("/")
        or not isinstance(profiles, list)
        or not all(isinstance(p, str) and PROFILE.match(p) for p in profiles)
    ):
        raise StateError(
            f"{path}: workspace {record.name!r}: compose must be a relative path inside the "
            "project and profiles a list of names",
            hint="the file was edited or is corrupt; fix or remove that entry",
        )


_JOURNAL_FLAGS = ("worktree", "docker", "ports")


def _is_commit_id(value: Any) -> bool:
    hexdigits = "0123456789abcdef"
    return isinstance(value, str) and len(value) in (40, 64) and all(c in hexdigits for c in value)


def _check_journal(record: WorkspaceRecord, path: Path) -> None:
    journal = record.creating
    problem = None
    if not isinstance(journal, dict):
        problem = "is not an object"
    elif set(journal) - {"owner", "branch", *_JOURNAL_FLAGS}:
        problem = "has unknown keys"
    elif not isinstance(journal.get("owner", {}), dict):
        problem = "has an owner that is not an object"
    elif any(not isinstance(journal.get(k, False), bool) for k in _JOURNAL_FLAGS):
        problem = "has a step that is not true or false"
    elif "branch" in journal and not _is_commit_id(journal["branch"]):
        problem = "has a branch start that is not a commit id"
    if problem is not None:
        raise StateError(
            f"{path}: workspace {record.name!r}: the create journal {problem}",
            hint="the file was edited or is corrupt; fix or remove that entry",
        )


def get(state_dir: Path, name: str) -> WorkspaceRecord:
    records = load_all(state_dir)
    record = records.get(name)
    if record is None:
        raise NotFoundError(
            f"no workspace named {name!r}",
            hint=did_you_mean(name, records) or "see `nexus workspace list` for the workspaces",
        )
    return record


@contextlib.contextmanager
def editing(state_dir: Path) -> Iterator[dict[str, WorkspaceRecord]]:
    """Yield the records under an exclusive lock and write them back atomically afterwards."""
    fs.require_directory(state_dir, what="state folder", root=_root(state_dir))
    with fs.locked(state_dir / LOCK_FILE, root=_root(state_dir)):
        records = load_all(state_dir)
        yield records
        _write(state_dir, records)


def _write(state_dir: Path, records: dict[str, WorkspaceRecord]) -> None:
    for record in records.values():
        check_record(record, _path(state_dir))  # what is written must read back
    rows = [r.to_dict() for r in sorted(records.values(), key=lambda r: r.name)]
    fs.atomic_write(
        _path(state_dir),
        jsonio.dumps({"version": 1, "workspaces": rows}, indent=1, ascii_only=True) + "\n",
        root=_root(state_dir),
    )


def note_engine_use(state_dir: Path) -> None:
    """Remember that this project makes Docker objects (see :data:`ENGINE_MARKER`)."""
    marker = state_dir / ENGINE_MARKER
    if not marker.exists():
        fs.require_directory(state_dir, what="state folder", root=_root(state_dir))
        fs.atomic_write(marker, "", root=_root(state_dir))


def engine_used(state_dir: Path) -> bool:
    return (state_dir / ENGINE_MARKER).exists()


def complete_names(incomplete: str) -> list[str]:
    """Shell completion source for workspace names (see :mod:`nexus_cli.completion`)."""
    try:
        state_dir = find_project().state_dir
        return sorted(n for n in load_all(state_dir) if n.startswith(incomplete))
    except Exception:
        return []
