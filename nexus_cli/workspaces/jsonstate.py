"""Small JSON state files: read whole, changed under an exclusive lock, replaced atomically.

The workspace records (``.nexus/state/workspaces.json``) and the machine-wide port table
(``$NEXUS_HOME/ports.json``) are kept this way. Each of those modules owns its file's schema and
messages; this one owns the mechanism: the ``fcntl`` lock, the read that turns an unreadable file
into a :class:`StateError`, and the temp-file-plus-rename write.
"""

from __future__ import annotations

import contextlib
import json
import os
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any, TypeVar

from nexus_cli.errors import StateError

T = TypeVar("T")


@contextlib.contextmanager
def exclusive_lock(lock: Path) -> Iterator[None]:
    """Hold an exclusive ``fcntl`` lock on the file ``lock`` (created if missing) for the block."""
    import fcntl

    with open(lock, "a+") as handle:
        fcntl.flock(handle.fileno(), fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle.fileno(), fcntl.LOCK_UN)


def load_json(path: Path, parse: Callable[[Any], T], *, missing: T, what: str, hint: str) -> T:
    """``parse`` applied to the JSON document in ``path``; ``missing`` when there is no such file.

    ``what`` names the file for messages, verb included (``f"workspace records {path} are"``). A
    file that cannot be read or parsed raises ``StateError(f"{what} unreadable: …", hint=hint)``; a
    document that ``parse`` rejects (TypeError, KeyError, AttributeError) raises
    ``StateError(f"{what} malformed: …")``.
    """
    try:
        data = json.loads(path.read_text())
    except FileNotFoundError:
        return missing
    except (OSError, ValueError) as exc:
        raise StateError(f"{what} unreadable: {exc}", hint=hint) from None
    try:
        return parse(data)
    except (TypeError, KeyError, AttributeError) as exc:
        raise StateError(f"{what} malformed: {exc}") from None


def replace_text(path: Path, text: str) -> None:
    """Write ``text`` to a temporary file beside ``path``, then move it over ``path`` atomically."""
    tmp = path.with_suffix(f".tmp{os.getpid()}")
    tmp.write_text(text)
    os.replace(tmp, path)
