"""The one timestamp format of Nexus's machine output: RFC 3339 in UTC with a ``Z``.

Storage keeps its own forms (telemetry rows hold ``2026-11-30 17:59:00.436``, processes report
epoch seconds); every ``--json`` emitter, ``nexus export`` and the ``nexus sync`` NDJSON payload
convert at the output boundary through :func:`rfc3339`, so a script reads one format everywhere:
``2026-11-30T17:59:00.436Z``. The precision a value was stored with is kept (no digits invented).
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from typing import Any

# 2026-11-30 17:59:00.436 (telemetry), 2026-11-30 17:59 UTC (display), 2026-11-30T17:59:12.8Z ...
_TEXT = re.compile(
    r"^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2})(:\d{2}(?:\.\d{1,9})?)?"
    r"\s*(Z|z|UTC|[+-]00:?00)?$"
)


_STORED = re.compile(r"\d{4}-\d{2}-\d{2} \d{2}:\d{2}:\d{2}\.\d{3}")


def rfc3339(value: str | datetime | float | None) -> str | None:
    """``value`` as RFC 3339 UTC text ending in ``Z``; None stays None.

    Accepts the stored telemetry text (UTC, no zone), RFC 3339/ISO text in UTC, an aware
    ``datetime`` (a naive one is taken as UTC), or epoch seconds. Text in another form, or
    with a non-UTC offset, raises ``ValueError``: a wrong timestamp must not pass silently.
    """
    if value is None:
        return None
    if type(value) is str and len(value) == 23 and _STORED.match(value):
        return f"{value[:10]}T{value[11:]}Z"  # the telemetry form, by far the most common
    if isinstance(value, bool):
        raise ValueError(f"not a timestamp: {value!r}")
    if isinstance(value, int | float):
        return _from_datetime(datetime.fromtimestamp(value, UTC), "milliseconds")
    if isinstance(value, datetime):
        moment = value if value.tzinfo else value.replace(tzinfo=UTC)
        return _from_datetime(moment.astimezone(UTC), "auto")
    match = _TEXT.match(value.strip())
    if not match:
        raise ValueError(f"not a UTC timestamp: {value!r}")
    day, minutes, seconds, _zone = match.groups()
    return f"{day}T{minutes}{seconds or ':00'}Z"


def rfc3339_or_same(value: Any) -> Any:
    """:func:`rfc3339` for stored data: a value that is not a timestamp (a damaged row) is kept
    as it is rather than failing the whole output."""
    try:
        return rfc3339(value)
    except (ValueError, OverflowError, OSError):
        return value


def _from_datetime(moment: datetime, timespec: str) -> str:
    return moment.replace(tzinfo=None).isoformat(timespec=timespec) + "Z"


def parse_moment(value: object) -> datetime | None:
    """An ISO 8601 time with a zone (``Z`` or an offset) as an aware datetime; None for
    anything else (not a string, not a time, or a time without a zone)."""
    if not isinstance(value, str):
        return None
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return moment if moment.tzinfo is not None else None


def now() -> str:
    """The current time, RFC 3339 UTC with milliseconds."""
    return _from_datetime(datetime.now(UTC), "milliseconds")


def with_rfc3339(row: Mapping[str, Any], keys: Iterable[str]) -> dict[str, Any]:
    """A copy of ``row`` with each of ``keys`` that it holds converted by :func:`rfc3339`.

    For stored data: a value that is not a timestamp (a damaged row) is kept as it is rather
    than failing the whole output.
    """
    out = dict(row)
    for key in keys:
        if key in out:
            out[key] = rfc3339_or_same(out[key])
    return out
