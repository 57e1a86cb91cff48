"""Reading an agent's JSONL log from where the last ingest stopped, as untrusted input.

:func:`opened` opens the file without following a symbolic link and refuses anything but a
regular file. It starts at the stored offset when the file is the same one (same device and
inode, not shorter than the offset), else at 0 (the file was replaced or truncated: records
already stored are recognised by their keys, so nothing is counted twice).
:meth:`Reading.lines` yields each complete line with the offset just after it, one chunk in
memory at a time; a last line without its newline (the agent is
still writing it) is left for the next ingest. A line longer than :data:`MAX_LINE_BYTES` is
skipped whole and counted, never held in memory.
"""

from __future__ import annotations

import errno
import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from nexus_cli.telemetry.db.agent_usage import Mark

MAX_LINE_BYTES = 16 * 1024 * 1024  # a transcript line holds a whole tool result, images included
CHUNK = 1024 * 1024


class NotALog(OSError):
    """The path is a link, not a regular file, or cannot be opened."""


@dataclass
class Reading:
    """A log file opened where the last ingest stopped: :meth:`lines` yields what follows."""

    fd: int
    device: int
    inode: int
    start: int
    end: int = 0  # the offset just after the last complete line read (or skipped)
    oversized: int = 0
    max_line: int = field(default=0)

    @property
    def mark(self) -> Mark:
        return Mark(self.device, self.inode, self.end)

    def lines(self) -> Iterator[tuple[bytes, int]]:
        """Each complete, non-blank line after ``start`` with the offset just after it."""
        pending = b""
        skipping = False
        position = self.start  # the offset of pending's first byte
        while chunk := os.read(self.fd, CHUNK):
            pending += chunk
            begin = 0
            while (newline := pending.find(b"\n", begin)) >= 0:
                line = pending[begin:newline]
                begin = newline + 1
                self.end = position + begin
                if skipping or len(line) > self.max_line:
                    skipping = False
                    self.oversized += 1
                elif line.strip():
                    yield line, self.end
            position += begin
            pending = pending[begin:]
            if len(pending) > self.max_line:  # no newline in sight: drop what was read of it
                position += len(pending)
                pending = b""
                skipping = True
        # An unfinished last line (or an oversized one still being skipped) is read next time.


@contextmanager
def opened(path: str, mark: Mark | None, *, max_line: int | None = None) -> Iterator[Reading]:
    """``path`` opened for reading from ``mark`` (see the module docstring)."""
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
        os.lseek(fd, start, os.SEEK_SET)
        limit = MAX_LINE_BYTES if max_line is None else max_line
        yield Reading(fd, info.st_dev, info.st_ino, start, start, max_line=limit)
    finally:
        os.close(fd)


def iter_logs(root: str, *, suffix: str = ".jsonl") -> Iterator[str]:
    """Every regular ``*.jsonl`` file under ``root`` (no symbolic links followed), sorted."""
    found: list[str] = []
    for folder, dirs, files in os.walk(root, followlinks=False):
        dirs.sort()
        found.extend(os.path.join(folder, name) for name in files if name.endswith(suffix))
    yield from sorted(found)
