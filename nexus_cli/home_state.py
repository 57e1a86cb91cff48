"""Small private JSON documents in ``$NEXUS_HOME``: what the user decided, kept outside every
repository (gate approvals, the wider address of a workspace's ports).

A document is ``$NEXUS_HOME/FOLDER/NAME.json``: one JSON object whose ``key`` holds a mapping.
It is read folder by folder from ``$NEXUS_HOME`` (a link on the way is refused), updated under
its lock (``NAME.lock``) and written atomically, mode 0600. A missing document is an empty
mapping; one that cannot be read or is not such an object is a :class:`StateError` with the
caller's hint (what moving it aside costs).
"""

from __future__ import annotations

import contextlib
import os
from collections.abc import Iterator
from typing import Any

from nexus_cli import fs, jsonio, paths, safe_path
from nexus_cli.errors import StateError


def document_path(folder: str, name: str) -> str:
    return os.path.join(paths.nexus_home_str(), folder, f"{name}.json")


def read(folder: str, name: str, key: str, *, what: str, hint: str) -> dict[str, Any]:
    """The mapping under ``key`` in the document (empty when there is none)."""
    path = document_path(folder, name)
    try:
        data = jsonio.loads(safe_path.read_bytes(paths.nexus_home_str(), path))
    except FileNotFoundError:
        return {}
    except (OSError, ValueError) as exc:
        raise StateError(f"{path}: cannot read {what} ({exc})", hint=hint) from None
    mapping = data.get(key) if isinstance(data, dict) else None
    if not isinstance(mapping, dict):
        raise StateError(f"{path}: not a file of {what}", hint=hint)
    return mapping


@contextlib.contextmanager
def updating(
    folder: str, name: str, key: str, *, what: str, hint: str, header: dict[str, Any]
) -> Iterator[dict[str, Any]]:
    """The mapping, locked; what the block leaves in it is written back (after ``header``)."""
    home = paths.nexus_home_str()
    paths.ensure_private_dir(home)
    safe_path.makedirs(home, folder, mode=0o700)
    with fs.locked(os.path.join(home, folder, f"{name}.lock"), root=home):
        mapping = read(folder, name, key, what=what, hint=hint)
        yield mapping
        document = {**header, key: mapping}
        fs.atomic_write(
            document_path(folder, name), jsonio.dumps(document, indent=1), mode=0o600, root=home
        )
