"""Where a workspace's worktree lies: ``.nexus/worktrees/NAME``, checked against links.

Kept apart from :mod:`nexus_cli.workspaces.handle` (which also names the workspace's Docker objects
and so loads the engine module) because the agents' hooks and the hand-off only need the folder.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from nexus_cli import fs
from nexus_cli.errors import StateError

if TYPE_CHECKING:
    from nexus_cli.project import Project


def checked(project: Project, name: str, source: Path | str | None = None) -> Path:
    """``.nexus/worktrees/NAME`` for a validated ``name``; :class:`StateError` if a link leads
    it (or its parent) out.

    The path itself must not be a symbolic link, the worktrees folder must resolve inside the
    project, and the path must resolve inside the worktrees folder. ``source`` says where
    ``name`` was read (for the message).
    """
    root = project.worktrees_dir
    path = root / name
    if path.is_symlink() or not fs.is_inside(root, project.root) or not fs.is_inside(path, root):
        where = f"workspace of {source}: " if source is not None else ""
        raise StateError(
            f"{where}{path} is a symbolic link or lies outside the project; Nexus leaves it alone",
            hint="remove the link (worktrees live in .nexus/worktrees of the project)",
        )
    return path
