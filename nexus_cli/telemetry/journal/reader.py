"""Reading journal entries back, for the fold: a segment's records decoded and checked.

The fold (:mod:`nexus_cli.telemetry.db.fold`) reads each segment through :func:`read`. Decoding
needs ``json``, so it lives here, off the recording path (:mod:`~nexus_cli.telemetry.journal.file`
and :mod:`~nexus_cli.telemetry.journal.entry` write without it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any, NamedTuple

from nexus_cli import jsonio
from nexus_cli.telemetry.journal.entry import MAX_ENTRY_BYTES, BadEntry, check
from nexus_cli.telemetry.journal.file import records


def decode(record: bytes) -> dict[str, Any]:
    """The entry in one record (the bytes between two separators); :class:`BadEntry` if bad."""
    if len(record) > MAX_ENTRY_BYTES or not record.endswith(b"\n"):
        raise BadEntry("torn or oversized record")
    try:
        value = jsonio.loads(record)
    except ValueError:  # includes UnicodeDecodeError
        raise BadEntry("not JSON") from None
    return check(value)


class Read(NamedTuple):
    """One record of a segment: its bytes, and its checked entry or why it is skipped."""

    data: bytes
    entry: dict[str, Any] | None
    reason: str | None = None


def read(fd: int) -> Iterator[Read]:
    """The records of a segment, in order: each checked entry, and each record skipped (torn,
    malformed, or bytes after a record without a separator of their own) with its reason."""
    for record in records(fd):
        body, newline, rest = record.partition(b"\n")  # a record's JSON holds no raw newline
        if rest.strip():
            yield Read(rest, None, "bytes after a record")
        if not body.strip():
            continue  # what precedes the first separator, or blank padding
        try:
            yield Read(body + newline, decode(body + newline))
        except BadEntry as exc:
            yield Read(body + newline, None, str(exc))
