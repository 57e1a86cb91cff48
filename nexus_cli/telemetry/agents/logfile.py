"""Reading an agent's JSONL log from where the last ingest stopped, as untrusted input.

:func:`new_lines` opens the file without following a symbolic link and refuses anything but a
regular file. It starts at the stored offset when the file is the same one (same device and
inode, not shorter than the offset), else at 0 (the file was replaced or truncated: records
already stored are recognised by their keys, so nothing is counted twice). It yields each
complete line with the offset just after it; a last line without its newline (the agent is
still writing it) is left for the next ingest. A line longer than :data:`MAX_LINE_BYTES` is
skipped whole and counted, never held in memory.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from dataclasses import dataclass, field

from nexus_cli.telemetry.db.agent_usage import Mark

MAX_LINE_BYTES = 16 * 1024 * 1024  # a transcript line holds a whole tool result, images included
CHUNK = 1024 * 1024


class NotALog(OSError):
    """The path is a link, not a regular file, or cannot be opened."""


@dataclass
class Reading:
    """Where a read started and ended, and what it skipped."""

    device: int
    inode: int
    start: int
    end: int = 0
    oversized: int = 0
    lines: list[tuple[bytes, int]] = field(default_factory=list)

    @property
    def mark(self) -> Mark:
        return Mark(self.device, self.inode, self.end)


def read(path: str, mark: Mark | None, *, max_line: int | None = None) -> Reading:
    """The complete lines appended to ``path`` since ``mark`` (see the module docstring)."""
    try:
        fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK | os.O_CLOEXEC)
    except OSError as exc:
        why = "it is a symbolic link" if exc.errno == errno.ELOOP else (exc.strerror or str(exc))
        raise NotALog(why) from None
    try:
        info = os.fstat(fd)
        if not stat.S_ISREG(info.st_mode):
            raise NotALog("it is not a regular file")
        same = mark is not None and (mark.device, mark.inode) == (info.st_dev, info.st_ino)
        start = mark.offset if same and mark is not None and mark.offset <= info.st_size else 0
        reading = Reading(info.st_dev, info.st_ino, start, start)
        if start < info.st_size:
            os.lseek(fd, start, os.SEEK_SET)
            _lines(fd, reading, MAX_LINE_BYTES if max_line is None else max_line)
        return reading
    finally:
        os.close(fd)


def _lines(fd: int, reading: Reading, max_line: int) -> None:
    pending = b""
    skipping = False
    position = reading.start  # the offset of pending's first byte
    while chunk := os.read(fd, CHUNK):
        pending += chunk
        while (newline := pending.find(b"\n")) >= 0:
            line, pending = pending[:newline], pending[newline + 1 :]
            position += newline + 1
            if skipping:
                skipping = False
                reading.oversized += 1
            elif line.strip():
                reading.lines.append((line, position))
            reading.end = position
        if len(pending) > max_line:  # no newline in sight: drop what was read of this line
            position += len(pending)
            pending = b""
            skipping = True
    # An unfinished last line (or an oversized one still being skipped) is read next time.


def iter_logs(root: str, *, suffix: str = ".jsonl") -> Iterator[str]:
    """Every regular ``*.jsonl`` file under ``root`` (no symbolic links followed), sorted."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        found.extend(os.path.join(folder, name) for name in files if name.endswith(suffix))
    yield from sorted(found)
