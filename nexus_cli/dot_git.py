"""Whether a path names a ``.git`` folder or anything in one, in any spelling a file system may
accept (repository content that must never reach git's own files: templates, personas).

Apart from :mod:`nexus_cli.fs` because the spellings need ``urllib.parse`` and ``unicodedata``,
which the commands that only read (``task ready``, the agent hooks) have no use for.
"""

from __future__ import annotations

import os
import unicodedata
from pathlib import Path
from urllib.parse import unquote


def _folded(part: str) -> str:
    """A path component as file systems may see it: NFKC, case-folded, trailing dots/spaces cut."""
    text = unquote(part)
    text = unicodedata.normalize("NFKC", text).casefold()
    return text.rstrip(". ")


def inside_git_dir(path: Path | str, root: Path | str | None = None) -> bool:
    """Whether ``path`` names a ``.git`` folder or anything in one, in any spelling.

    Looks at every component (``.GIT``, ``.git.``, ``%2egit``, ``git~1``-free NFKC forms), and,
    when ``root`` is given, at the resolved path too, so a symlink into ``.git`` counts.
    """
    text = os.fspath(path).replace("\\", "/")
    if any(_folded(part) in (".git", "git~1") for part in text.split("/")):
        return True
    if root is not None:
        real = os.path.realpath(os.path.join(os.fspath(root), text))
        rel = os.path.relpath(real, os.path.realpath(root))
        if any(_folded(part) == ".git" for part in rel.split(os.sep)):
            return True
    return False
