"""Writing the files users ask for (reports, HTML dashboards, exports): atomic, never clobbering.

They hold telemetry, so they are written 0600 like the database. The write goes through
:func:`nexus_cli.fs.atomic_write`: a temp file beside the target, removed on any exit (an error,
Ctrl-C or SIGTERM), renamed over the target only when complete. ``--force`` replaces a regular
file only: never a symlink, FIFO, device node or folder.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from datetime import UTC, datetime
from pathlib import Path

from nexus_cli import fs
from nexus_cli.errors import ConflictError

MODE = 0o600


def expand(path: str) -> str:
    """``~`` and a ``{date}`` placeholder (today, UTC) — handy in crontab lines."""
    return os.path.expanduser(path.replace("{date}", datetime.now(UTC).strftime("%Y-%m-%d")))


def write_text(path: str, text: str, *, force: bool = False) -> str:
    """Write ``text`` to ``path`` atomically (mode 0600). Returns the absolute path."""
    return write_chunks(path, [text], force=force)


def write_chunks(path: str, chunks: Iterable[str], *, force: bool = False) -> str:
    """Write ``chunks`` to ``path`` atomically (mode 0600). Returns the absolute path."""
    target = os.path.abspath(expand(path))
    fs.check_replaceable(Path(target))  # a link, FIFO, device or folder: refused even with --force
    if os.path.lexists(target) and not force:
        raise ConflictError(f"{target} already exists", hint="pass --force to replace it")
    fs.atomic_write(target, chunks, mode=MODE)
    return target
