"""``.nexus/tasks.jsonl``: the shared record in git — parsing, rendering, atomic rewrite.

The file is untrusted (teammates, pull requests). Each line passes the task schema
(:mod:`nexus_cli.tasks.record`, the same one every write passes). Two ways to read it:

- :func:`read` (the store's import): a line that fails the schema — too long a title, a NaN,
  a duplicate key, a second task with the same id — is *skipped and kept*: the other tasks are
  imported, the line is returned in :attr:`ParsedFile.skipped` with the reason, and the store
  writes it back verbatim at the end of the file on every rewrite, so nothing is lost and the
  next import reports it again until someone fixes or removes it.
- :func:`parse` (the merge driver): all or nothing, a bad line raises :class:`ConfigError` so git
  marks the merge as conflicted and the three versions stay as they were.

A conflict marker or text that is not UTF-8 refuses the whole file in both: that is a file to
repair (usually a merge done without the merge driver), not one line.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from nexus_cli import fs
from nexus_cli.errors import ConfigError, NexusError
from nexus_cli.project import TASKS_FILE
from nexus_cli.tasks.model import Task, parse_line

FILE_NAME = TASKS_FILE
CONFLICT_MARKERS = ("<<<<<<<", "=======", ">>>>>>>", "|||||||")


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True)
class SkippedLine:
    """A line of the file that is not imported (kept as it is): where, why, and its text."""

    number: int
    text: str
    reason: str


@dataclass
class ParsedFile:
    tasks: list[Task] = field(default_factory=list)
    skipped: list[SkippedLine] = field(default_factory=list)


def read(data: bytes, *, source: str) -> ParsedFile:
    """The tasks in ``data`` and the lines skipped (see the module's docstring)."""
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ConfigError(f"{source}: not UTF-8 ({exc}); nothing imported") from None
    parsed = ParsedFile()
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
        try:
            task = parse_line(line, where=f"{source}:{number}")
        except NexusError as exc:  # ConfigError; StateError where the path looks like state
            parsed.skipped.append(SkippedLine(number, line, exc.message))
            continue
        if task.id in seen:
            reason = (
                f"{source}:{number}: duplicate task id {task.id} (first on line {seen[task.id]})"
            )
            parsed.skipped.append(SkippedLine(number, line, reason))
            continue
        seen[task.id] = number
        parsed.tasks.append(task)
    return parsed


def parse(data: bytes, *, source: str) -> list[Task]:
    """All tasks in ``data``; any bad line, duplicate id or conflict marker is a ConfigError."""
    parsed = read(data, source=source)
    if parsed.skipped:
        raise ConfigError(
            f"{parsed.skipped[0].reason}; nothing imported",
            hint="fix or remove that line (see `git diff`)",
        )
    return parsed.tasks


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
