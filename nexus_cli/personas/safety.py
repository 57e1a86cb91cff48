"""Path safety: nothing a persona names may land outside the folder it installs into.

Project personas are repository content, so every path they name is untrusted. A path is
refused when it is absolute, climbs with ``..``, contains a backslash or NUL, names anything in a
``.git`` folder in any spelling (``.GIT``, ``.git.``, ``%2egit``, ``x/../.git``) or in Nexus's
own state (``.nexus/``), resolves outside its root after symlinks, or - in a project - passes
through a symlink at all (a committed symlink must never redirect a write).
"""

from __future__ import annotations

import os
from pathlib import Path, PurePosixPath
from urllib.parse import unquote

from nexus_cli import dot_git, fs
from nexus_cli.errors import ConflictError

RESERVED = (".nexus",)


class PathEscapeError(ConflictError):
    """A path would leave the folder it must stay in (absolute, ``..`` or an escaping symlink)."""


def _folded(part: str) -> str:
    """A path component as a file system may read it: decoded, case-folded, trailing dots and
    spaces cut (so ``..``, ``%2e%2e`` and ``. .`` all fold to the empty string)."""
    return unquote(part).rstrip(". ").casefold()


def check_relative(rel: str, what: str) -> str:
    """Return ``rel`` normalised; refuse absolute paths, ``..``, ``.git`` and ``.nexus`` parts."""
    if not rel or "\\" in rel or "\x00" in rel or "%00" in rel:
        raise PathEscapeError(f"{what}: invalid path {rel!r}")
    pure = PurePosixPath(rel)
    if pure.is_absolute() or rel.startswith("~"):
        raise PathEscapeError(f"{what}: absolute path {rel!r} refused")
    parts = list(pure.parts)  # pathlib already drops "." parts and empty ones ("a//b")
    if not parts:
        raise PathEscapeError(f"{what}: invalid path {rel!r}")
    if any(_folded(part) == "" for part in parts):
        raise PathEscapeError(f"{what}: path {rel!r} leaves its folder ('..' refused)")
    if dot_git.inside_git_dir(rel):
        raise PathEscapeError(f"{what}: path {rel!r} is inside .git; refused")
    if any(_folded(p) in RESERVED for p in parts):
        raise PathEscapeError(f"{what}: path {rel!r} is inside Nexus's own state (.nexus/)")
    return "/".join(parts)


def resolve_inside(root: Path, rel: str, what: str, *, no_symlinks: bool = False) -> Path:
    """The real location of ``root/rel``; refused when it, or a symlink on the way, escapes.

    With ``no_symlinks`` any symlink between ``root`` and the file is refused, even one that
    stays inside: a project's symlinks are repository content and may point anywhere later.
    """
    clean = check_relative(rel, what)
    try:
        real = fs.resolve_inside(root, clean, what=what)
    except fs.PathEscapeError as exc:
        raise PathEscapeError(f"{exc.message} (symlink escape refused)", hint=exc.hint) from None
    if dot_git.inside_git_dir(clean, root):
        raise PathEscapeError(f"{what}: {clean} resolves into .git; refused")
    plain = Path(os.path.realpath(root)) / clean
    if no_symlinks and real != plain:
        raise PathEscapeError(
            f"{what}: {clean} passes through a symbolic link; Nexus does not write through links",
            hint="replace the link with a real folder or file, or remove it",
        )
    return real
