"""The per-clone project id in ``.nexus/state/project-id``: read, checked, created once, adopted.

The id names every Docker object of the project (``nexus-ID-…``) and is sent into Docker API
paths, so a value read back is validated (:func:`validate.project_id`). It is never silently
replaced: an emptied or garbage file is a :class:`StateError`; a missing file gets a new id only
when ``in_docker`` finds no id still in use (the workspaces domain passes
:func:`nexus_cli.workspaces.handle.ids_in_docker`, which asks Docker for containers that mount one
of this project's worktrees: the error then names the old id and the repair command). This module
never talks to Docker itself.

It sits below :mod:`nexus_cli.project` (whose :meth:`~nexus_cli.project.Project.project_id` calls
it): it needs only the project's state folder, so it takes anything that has one.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Protocol

from nexus_cli import fs, safe_path, validate
from nexus_cli.errors import ConflictError, StateError

FILE = "project-id"
LOCK = "project-id.lock"


class HasStateDir(Protocol):
    """What this module needs of a project (a :class:`~nexus_cli.project.Project`)."""

    @property
    def root(self) -> Path: ...

    @property
    def state_dir(self) -> Path: ...


# The ids that Docker objects of the project still carry (asked only when the file is bad or gone).
IdsFound = Callable[[], list[str]]


def _read(root: Path, path: Path) -> str | None:
    """The stored id, ``None`` when the file is missing; StateError when it is not an id.

    Opened folder by folder from the repository: a link on the way is refused.
    """
    try:
        text = safe_path.read_bytes(root, path).decode("utf-8", errors="surrogateescape")
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise StateError(f"cannot read {path}: {exc.strerror or exc}") from None
    return validate.project_id(text.strip(), source=path)


def adopt_hint(found: list[str]) -> str:
    if found:
        return f"run `nexus workspace repair --adopt-project-id {found[0]}` to reconnect them"
    return "if this project has no containers, remove the file and Nexus makes a new id"


def _none_in_use() -> list[str]:
    return []


def get(project: HasStateDir, in_docker: IdsFound | None = None) -> str:
    """The project's id; created (atomically, under a lock) only when nothing used an old one.

    ``in_docker`` lists ids that Docker objects of this project still carry (default: none known).
    """
    ids_in_docker = in_docker or _none_in_use
    path = project.state_dir / FILE
    try:
        value = _read(project.root, path)
    except StateError as exc:
        found = ids_in_docker()
        exc.hint = (
            f"containers of this project carry id {', '.join(found)}: " + adopt_hint(found)
            if found
            else f"no containers of this project were found: remove {path} to make a new id"
        )
        raise
    if value is not None:
        return value
    fs.require_directory(project.state_dir, what="state folder", root=project.root)
    with fs.locked(project.state_dir / LOCK, root=project.root):
        value = _read(project.root, path)  # another process may have created it meanwhile
        if value is not None:
            return value
        found = ids_in_docker()
        if found:
            raise StateError(
                f"{path} is missing, but containers of this project use id {found[0]}",
                hint=adopt_hint(found),
            )
        # What secrets.token_hex(4) returns, without loading secrets (hmac, hashlib) on every
        # command that finds the project: this module is imported with nexus_cli.project.
        value = os.urandom(4).hex()
        fs.atomic_write(path, value + "\n", root=project.root)
    return value


def adopt(project: HasStateDir, value: str) -> str:
    """Write ``value`` as the project id (repairing a lost or corrupt file)."""
    validate.project_id(value)
    path = project.state_dir / FILE
    fs.require_directory(project.state_dir, what="state folder", root=project.root)
    with fs.locked(project.state_dir / LOCK, root=project.root):
        try:
            current = _read(project.root, path)
        except StateError:
            current = None
        if current is not None and current != value:
            raise ConflictError(
                f"{path} already holds the valid id {current}",
                hint="remove the file first if you really mean to change the project id",
            )
        fs.atomic_write(path, value + "\n", root=project.root)
    return value
