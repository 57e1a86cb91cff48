"""The project's workspace records: ``.nexus/state/workspaces.json``, one owner, atomic writes.

A record says which template and variables a workspace was created with; together with the git
worktree list and the containers labelled for the project, it is one of the three sources that
``nexus workspace list`` reconciles.
"""

from __future__ import annotations

import contextlib
import dataclasses
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli import fs, validate
from nexus_cli.errors import NexusError, NotFoundError, StateError
from nexus_cli.project import find_project
from nexus_cli.suggest import did_you_mean
from nexus_cli.workspaces.compose_keys import PROFILE
from nexus_cli.workspaces.jsonstate import load_json
from nexus_cli.workspaces.templates import available

RECORDS_FILE = "workspaces.json"
LOCK_FILE = "workspaces.lock"
# Present once a workspace of this project has used a Docker engine (a template with services):
# `workspace list` asks the engine for leftover containers only then (or when a workspace has
# services), so a project of bare workspaces never loads the Docker SDK to list them.
ENGINE_MARKER = "engine-used"


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

    def to_dict(self) -> dict[str, Any]:
        """The JSON form: the declared fields and nothing else."""
        return dataclasses.asdict(self)


def _path(state_dir: Path) -> Path:
    return state_dir / RECORDS_FILE


def load_all(state_dir: Path) -> dict[str, WorkspaceRecord]:
    path = _path(state_dir)
    return load_json(
        path,
        lambda data: _parse(data, path),
        missing={},
        what=f"workspace records {path} are",
        hint="restore the file from a backup or move it aside (worktrees and containers are untouched)",
    )


def _parse(data: Any, path: Path) -> dict[str, WorkspaceRecord]:
    """Records from the document, each checked: names read back are untrusted (hand edits, bugs)."""
    result: dict[str, WorkspaceRecord] = {}
    for row in data.get("workspaces", []):
        record = WorkspaceRecord(**row)
        validate.workspace_name(record.name, source=path)
        validate.workspace_name(record.branch, source=path)
        validate.template_name(record.template, source=path)
        if not isinstance(record.variables, dict) or not all(
            isinstance(k, str) and isinstance(v, str) for k, v in record.variables.items()
        ):
            raise StateError(f"{path}: workspace {record.name!r}: variables must map text to text")
        for rel in record.generated_files:
            if not isinstance(rel, str) or rel.startswith("/") or ".." in rel.split("/"):
                raise StateError(
                    f"{path}: workspace {record.name!r}: generated file {rel!r} is not a "
                    "relative path inside the worktree",
                    hint="the file was edited or is corrupt; fix or remove that entry",
                )
        _check_compose(record, path)
        result[record.name] = record
    return result


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
    state_dir.mkdir(parents=True, exist_ok=True)
    with fs.locked(state_dir / LOCK_FILE):
        records = load_all(state_dir)
        yield records
        _write(state_dir, records)


def _write(state_dir: Path, records: dict[str, WorkspaceRecord]) -> None:
    rows = [r.to_dict() for r in sorted(records.values(), key=lambda r: r.name)]
    fs.atomic_write(
        _path(state_dir), json.dumps({"version": 1, "workspaces": rows}, indent=1) + "\n"
    )


def note_engine_use(state_dir: Path) -> None:
    """Remember that this project makes Docker objects (see :data:`ENGINE_MARKER`)."""
    marker = state_dir / ENGINE_MARKER
    if not marker.exists():
        state_dir.mkdir(parents=True, exist_ok=True)
        fs.atomic_write(marker, "")


def engine_used(state_dir: Path) -> bool:
    return (state_dir / ENGINE_MARKER).exists()


def complete_names(incomplete: str) -> list[str]:
    """Shell completion source for workspace names (see :mod:`nexus_cli.completion`)."""
    try:
        state_dir = find_project().state_dir
        return sorted(n for n in load_all(state_dir) if n.startswith(incomplete))
    except Exception:
        return []


def complete_templates(incomplete: str) -> list[str]:
    try:
        root: Path | None = find_project().root
    except NexusError:
        root = None
    return sorted(n for n in available(root) if n.startswith(incomplete))
