"""Ignored files a new worktree needs: ``.worktreeinclude``.

A fresh worktree lacks what git ignores — ``.env``, local configuration, caches. The project lists
the ones to bring along in ``.worktreeinclude`` at its top level, in ``.gitignore`` syntax; a file
is copied when git ignores it *and* it matches a pattern there (the same rule as worktrunk's file
of that name). Large caches can be reflinked (a copy-on-write clone, where the file system has
them) or hard-linked instead of copied.

The file list and the files are repository content: a pattern list that is not a plain file, a
path that is a link leading out of the repository, and anything under ``.nexus/`` are refused;
a file that already exists in the worktree is never overwritten.
"""

from __future__ import annotations

import errno
import fcntl
import os
import shutil
import stat
from dataclasses import dataclass, field
from pathlib import Path

from nexus_cli import fs, git, safe_path
from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.fs import PathEscapeError

INCLUDE_FILE = ".worktreeinclude"
MAX_INCLUDE_FILE_BYTES = 64 * 1024
MODES = ("copy", "reflink", "hardlink", "skip")
_FICLONE = 0x40049409  # linux/fs.h: clone a whole file (a reflink)


@dataclass(slots=True)
class Included:
    copied: list[str] = field(default_factory=list)
    refused: list[tuple[str, str]] = field(default_factory=list)  # (path, why)


def check_mode(mode: str) -> str:
    if mode not in MODES:
        raise UsageError(
            f"--ignored-files {mode!r} is not one of: {', '.join(MODES)}",
            hint="copy (default), reflink (a clone where the file system can), hardlink or skip",
        )
    return mode


def bring_ignored_files(repo_root: Path, worktree: Path, mode: str = "copy") -> Included:
    """Copy (or reflink or hard-link) the ignored files ``.worktreeinclude`` lists into
    ``worktree``; what was refused is reported, never raised, so a create still succeeds."""
    result = Included()
    patterns = repo_root / INCLUDE_FILE
    if check_mode(mode) == "skip" or not os.path.lexists(patterns):
        return result
    info = os.lstat(patterns)
    if not stat.S_ISREG(info.st_mode) or info.st_size > MAX_INCLUDE_FILE_BYTES:
        raise ConfigError(
            f"{patterns}: must be a plain file of at most {MAX_INCLUDE_FILE_BYTES} bytes",
            hint="it lists ignored files to copy into new worktrees, in .gitignore syntax",
        )
    for rel in git.ignored_matching(repo_root, patterns):
        why = _refusal(repo_root, rel)
        if why is not None:
            result.refused.append((rel, why))
            continue
        try:
            target = fs.resolve_inside(worktree, rel, what=f"{INCLUDE_FILE} entry")
            if not os.path.lexists(target):  # folders made from the worktree, links refused
                safe_path.makedirs(worktree, os.path.dirname(rel))
                target = safe_path.verified(worktree, rel)
        except PathEscapeError as exc:
            result.refused.append((rel, exc.message))
            continue
        if os.path.lexists(target):
            continue  # never overwrite what the worktree has
        _place(Path(os.path.realpath(repo_root / rel)), target, mode)
        result.copied.append(rel)
    return result


def _refusal(repo_root: Path, rel: str) -> str | None:
    """Why ``rel`` may not be brought along, or None."""
    if rel == ".nexus" or rel.startswith(".nexus/"):
        return "Nexus's own folder is never copied"
    source = repo_root / rel
    if not fs.is_inside(source, repo_root):
        return "a link that leads out of the repository"
    if not os.path.isfile(source):
        return "not a regular file"
    return None


def _place(source: Path, target: Path, mode: str) -> None:
    if mode == "hardlink":
        try:
            os.link(source, target)
            return
        except OSError as exc:
            if exc.errno not in (errno.EXDEV, errno.EPERM, errno.EMLINK):
                raise
    elif mode == "reflink" and _reflink(source, target):
        return
    shutil.copy2(source, target, follow_symlinks=False)


def _reflink(source: Path, target: Path) -> bool:
    """A copy-on-write clone of ``source`` at ``target`` (btrfs, XFS, …); False where the file
    system cannot, leaving no ``target`` behind."""
    src = os.open(source, os.O_RDONLY | os.O_NOFOLLOW)
    try:
        dst = os.open(target, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.ioctl(dst, _FICLONE, src)
        except OSError:
            os.close(dst)
            os.unlink(target)
            return False
        os.close(dst)
        shutil.copystat(source, target)
        return True
    finally:
        os.close(src)
