"""Writing the files users ask for (reports, HTML dashboards, exports): atomic, never clobbering."""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterable
from datetime import UTC, datetime

from nexus_cli.errors import ConflictError, StateError


def expand(path: str) -> str:
    """``~`` and a ``{date}`` placeholder (today, UTC) — handy in crontab lines."""
    return os.path.expanduser(path.replace("{date}", datetime.now(UTC).strftime("%Y-%m-%d")))


def write_text(path: str, text: str, *, force: bool = False) -> str:
    """Write ``text`` to ``path`` via a temp file + rename. Returns the absolute path."""
    return write_chunks(path, [text], force=force)


def write_chunks(path: str, chunks: Iterable[str], *, force: bool = False) -> str:
    """Write ``chunks`` to ``path`` via a temp file + rename. Returns the absolute path."""
    target = os.path.abspath(expand(path))
    if os.path.exists(target) and not force:
        raise ConflictError(f"{target} already exists", hint="pass --force to replace it")
    directory = os.path.dirname(target)
    tmp = os.path.join(directory, f".{os.path.basename(target)}.{os.getpid()}.tmp")
    try:
        with open(tmp, "w", encoding="utf-8") as fh:
            for chunk in chunks:
                fh.write(chunk)
        os.replace(tmp, target)
    except OSError as exc:
        with contextlib.suppress(OSError):
            os.unlink(tmp)
        raise StateError(f"cannot write {target}: {exc.strerror or exc}") from None
    return target
