"""Small JSON state files: read whole, changed under an exclusive lock, replaced atomically.

The workspace records (``.nexus/state/workspaces.json``) and the machine-wide port table
(``$NEXUS_HOME/ports.json``) are kept this way. Each of those modules owns its file's schema and
messages; this one owns the read (folder by folder from a root, :mod:`nexus_cli.safe_path`) that turns an unreadable file into a :class:`StateError`. Locks
and atomic writes come from :mod:`nexus_cli.fs`.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any, TypeVar

from nexus_cli import jsonio, safe_path
from nexus_cli.errors import StateError

T = TypeVar("T")


def load_json(
    path: Path,
    parse: Callable[[Any], T],
    *,
    missing: T,
    what: str,
    hint: str,
    root: Path | None = None,
) -> T:
    """``parse`` applied to the JSON document in ``path``; ``missing`` when there is no such file.

    ``what`` names the file for messages, verb included (``f"workspace records {path} are"``). A
    file that cannot be read or parsed raises ``StateError(f"{what} unreadable: …", hint=hint)``; a
    document that ``parse`` rejects (TypeError, KeyError, AttributeError) raises
    ``StateError(f"{what} malformed: …")``. ``root`` is the trusted folder the file lies under
    (the repository, ``$NEXUS_HOME``): every folder from there is opened without following links.
    """
    try:
        data = jsonio.loads(safe_path.read_bytes(root or path.parent, path))
    except FileNotFoundError:
        return missing
    except (OSError, ValueError) as exc:
        raise StateError(f"{what} unreadable: {exc}", hint=hint) from None
    try:
        return parse(data)
    except (TypeError, KeyError, AttributeError) as exc:
        raise StateError(f"{what} malformed: {exc}") from None
