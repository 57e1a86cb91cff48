"""Path safety: nothing a persona names may land outside the folder it installs into."""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath

from nexus_cli.errors import ConflictError


class PathEscapeError(ConflictError):
    """A path would leave the folder it must stay in (absolute, ``..`` or an escaping symlink)."""


def check_relative(rel: str, what: str) -> str:
    """Return ``rel`` normalised, refusing absolute paths, ``..`` parts and empty names."""
    if not rel or "\\" in rel or "\x00" in rel:
        raise PathEscapeError(f"{what}: invalid path {rel!r}")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or rel.startswith("~"):
        raise PathEscapeError(f"{what}: absolute path {rel!r} refused")
    if any(part == ".." for part in pure.parts):
        raise PathEscapeError(f"{what}: path {rel!r} leaves its folder ('..' refused)")
    parts = [p for p in pure.parts if p != "."]
    if not parts:
        raise PathEscapeError(f"{what}: invalid path {rel!r}")
    return "/".join(parts)


def resolve_inside(root: Path, rel: str, what: str) -> Path:
    """The real location of ``root/rel``; refused when it, or a symlink on the way, escapes."""
    clean = check_relative(rel, what)
    real_root = Path(os.path.realpath(root))
    real = Path(os.path.realpath(root / clean))
    if real != real_root and real_root not in real.parents:
        raise PathEscapeError(
            f"{what}: {clean} resolves to {real}, outside {real_root} (symlink escape refused)"
        )
    return real
