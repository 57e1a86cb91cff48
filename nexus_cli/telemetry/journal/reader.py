"""Reading journal entries back, for the fold: a segment's records decoded and checked.

The fold (:mod:`nexus_cli.telemetry.db.fold`) reads each segment through :func:`read`. Decoding
needs ``json``, so it lives here, off the recording path (:mod:`~nexus_cli.telemetry.journal.file`
and :mod:`~nexus_cli.telemetry.journal.entry` write without it).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

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


def read(fd: int) -> Iterator[dict[str, Any] | None]:
    """The checked entries of a segment, in order, and None for each record skipped (torn,
    malformed, or bytes after a record without a separator of their own)."""
    for record in records(fd):
        body, newline, rest = record.partition(b"\n")  # a record's JSON holds no raw newline
        if rest.strip():
            yield None  # bytes after a record, without a separator of their own
        if not body.strip():
            continue  # what precedes the first separator, or blank padding
        try:
            yield decode(body + newline)
        except BadEntry:
            yield None
