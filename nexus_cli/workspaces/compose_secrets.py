"""A Compose file's ``secrets`` and ``configs`` that come from files: read-only binds.

Compose mounts a file secret at ``/run/secrets/NAME`` (or its ``target``) and a file config at
``/NAME`` (or its ``target``), read-only. A workspace does the same with a bind of the file from
its worktree, so the rules of ``./`` binds apply: the file must be inside the project after
symbolic links (a secret that git ignores reaches a new worktree through ``.worktreeinclude``).
What Compose reads from elsewhere (``environment``, ``content``, ``external``, ``name``) and the
``uid``, ``gid`` and ``mode`` a bind cannot set are named as not supported, never dropped.
"""

from __future__ import annotations

import posixpath
import re
from typing import Any

from nexus_cli.workspaces.service_parsing import fail

KINDS = {"secrets": "/run/secrets", "configs": "/"}  # where a short entry is mounted
TOP_KEYS = frozenset({"file"})
ENTRY_KEYS = frozenset({"source", "target"})
NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}\Z")


def top_problems(document: dict[str, Any]) -> list[str]:
    """``KEY (reason)`` for each top-level secret or config that is not a file."""
    found: list[str] = []
    for kind in KINDS:
        declared = document.get(kind)
        if declared is None:
            continue
        if not isinstance(declared, dict):
            found.append(f"{kind} (a mapping of names to {{file: PATH}})")
            continue
        for name, spec in declared.items():
            if not isinstance(spec, dict) or set(spec) != TOP_KEYS:
                found.append(f"{kind}.{name} (only file: a file in the project is supported)")
    return found


def service_problems(spec: dict[str, Any]) -> list[str]:
    """``KEY (reason)`` for the keys of a service's secret or config entries a bind cannot do."""
    found: list[str] = []
    for kind in KINDS:
        entries = spec.get(kind)
        for i, entry in enumerate(entries if isinstance(entries, list) else []):
            if isinstance(entry, dict):
                found += [
                    f"{kind}[{i}].{key} (not supported)" for key in entry if key not in ENTRY_KEYS
                ]
    return found


def binds(
    spec: dict[str, Any], document: dict[str, Any], path: Any, key: str
) -> list[tuple[str, str]]:
    """The service's secrets and configs as ``(VOLUME, KEY)``: each a read-only ``./FILE:TARGET``
    bind (FILE relative to the Compose file's folder, as its volumes are) and where it is in the
    file ``path``. A name the file does not declare, a host path, or a target that is not a path
    in the container is a ConfigError."""
    result: list[tuple[str, str]] = []
    for kind, base in KINDS.items():
        entries = spec.get(kind)
        if entries is None:
            continue
        if not isinstance(entries, list):
            raise fail(path, f"{key}.{kind}", f"a list of {kind} names or {{source, target}}")
        found = document.get(kind)
        declared: dict[str, Any] = found if isinstance(found, dict) else {}
        for i, entry in enumerate(entries):
            where = f"{key}.{kind}[{i}]"
            source, target = _entry(entry, path, where, kind)
            if source not in declared:
                raise fail(path, where, f"one of the file's top-level {kind} ({source!r} is not)")
            file = declared[source].get("file") if isinstance(declared[source], dict) else None
            if not isinstance(file, str) or not file or file.startswith(("/", "~")) or ":" in file:
                raise fail(path, f"{kind}.{source}.file", "a path inside the project")
            inside = target if target.startswith("/") else posixpath.join(base, target)
            if ".." in inside.split("/") or ":" in inside:
                raise fail(path, where, "a path in the container, without '..' or ':'")
            rel = file if file.startswith(".") else f"./{file}"
            result.append((f"{rel}:{posixpath.normpath(inside)}:ro", where))
    return result


def _entry(entry: Any, path: Any, where: str, kind: str) -> tuple[str, str]:
    """(source, target) of a short (a name) or long (``{source, target}``) entry."""
    target: Any
    if isinstance(entry, str):
        source, target = entry, entry
    elif isinstance(entry, dict) and isinstance(entry.get("source"), str):
        source = entry["source"]
        target = entry.get("target", source)
    else:
        raise fail(path, where, f"a {kind[:-1]} name, or {{source, target}}")
    if not NAME.match(source):
        raise fail(path, where, f"a {kind[:-1]} name of letters, digits, '_', '.' or '-'")
    if not isinstance(target, str) or not target:
        raise fail(path, f"{where}.target", "a path in the container")
    return source, target
