"""``.nexus/tasks.jsonl``: the shared record in git — parsing, rendering, atomic rewrite.

The file is untrusted (teammates, pull requests). Parsing is all-or-nothing: a conflict marker,
a malformed line or a field that fails validation (:mod:`nexus_cli.tasks.record`) raises
:class:`ConfigError` naming the file and line before anything is imported, so the database keeps
its last good state and the file is left for the user to fix — no good line is lost, and no bad
line is silently dropped by the next rewrite.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from pathlib import Path

from nexus_cli import fs
from nexus_cli.errors import ConfigError
from nexus_cli.project import TASKS_FILE
from nexus_cli.tasks.model import Task, parse_line

FILE_NAME = TASKS_FILE
CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse(data: bytes, *, source: str) -> list[Task]:
    """All tasks in ``data``; refuse conflict markers, bad lines and duplicate IDs."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 ({exc})") from None
    tasks: list[Task] = []
    seen: dict[str, int] = {}
    # Split on "\n" only: str.splitlines() would also split inside values on U+2028, \x85...
    for number, raw in enumerate(text.split("\n"), start=1):
        line = raw.removesuffix("\r")
        if not line.strip():
            continue
        if line.startswith(CONFLICT_MARKERS):
            raise ConfigError(
                f"{source}:{number}: unresolved git conflict marker {line[:7]!r}; nothing imported",
                hint="run `nexus init` so git merges tasks.jsonl with the nexus merge driver, "
                "then redo the merge (or resolve the markers by hand)",
            )
        task = parse_line(line, where=f"{source}:{number}")
        if task.id in seen:
            raise ConfigError(
                f"{source}:{number}: duplicate task id {task.id} (first on line {seen[task.id]}); "
                "nothing imported"
            )
        seen[task.id] = number
        tasks.append(task)
    return tasks


def render(lines: Iterable[str]) -> bytes:
    """The file content for canonical lines already sorted by ID."""
    body = "\n".join(lines)
    return (body + "\n").encode("utf-8") if body else b""


def render_tasks(tasks: Iterable[Task]) -> bytes:
    return render(t.to_line() for t in sorted(tasks, key=lambda t: t.id))


def write_atomic(path: Path, data: bytes, *, root: Path | None = None) -> None:
    """Replace ``path`` with ``data`` atomically (:func:`nexus_cli.fs.atomic_write`), every folder
    from ``root`` (the repository) down opened without following links.

    Readers see the old or the new file, never a mix. No fsync (it cost ~0.1-0.2 s per change
    at 10,000 tasks): like SQLite's WAL with synchronous=NORMAL, a power cut may lose the last
    change; a missing file is rewritten from the database by the next change.
    """
    fs.atomic_write(path, data, fsync=False, root=root)
