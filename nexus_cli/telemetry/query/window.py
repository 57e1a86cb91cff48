"""Time windows for analytics: ``--today``, ``--week``, ``--month``, ``--since``, ``--until``.

The ``events`` view shows timestamps as UTC text (``YYYY-MM-DD HH:MM:SS.fff``), so a window is a
pair of such strings; queries filter ``since <= at_ms < until`` on the whole milliseconds the
time index holds (:func:`nexus_cli.telemetry.db.rollup_fold.time_range`). Dates given by the
user are UTC too: ``2026-11-01`` means that day's midnight UTC, and ``--until 2026-11-01``
includes the whole of that day. Relative forms ``7d``, ``12h`` and ``30m`` count back from now.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from nexus_cli.errors import UsageError
from nexus_cli.telemetry.db.schema import stamp

_RELATIVE = re.compile(r"^([0-9]+)\s*([dhm])$")  # ASCII digits only (not \d's ١٢)
_UNITS = {"d": "days", "h": "hours", "m": "minutes"}
_FORMATS = (
    "%Y-%m-%d",
    "%Y-%m-%dT%H:%M",
    "%Y-%m-%d %H:%M",
    "%Y-%m-%dT%H:%M:%S",
    "%Y-%m-%d %H:%M:%S",
)


_HINT = (
    "use YYYY-MM-DD, 'YYYY-MM-DD HH:MM' (UTC), an RFC 3339 time (2026-11-30T17:59:00.436Z) "
    "or a relative age such as 7d, 12h"
)


def _out_of_range(option: str, text: str) -> UsageError:
    return UsageError(
        f"{option}: {text!r} is out of range (dates run from year 1 to 9999)", hint=_HINT
    )


def parse_moment(text: str, *, option: str, now: datetime) -> tuple[datetime, bool]:
    """Parse a user date; returns ``(moment, date_only)``. Raises :class:`UsageError`."""
    value = text.strip()
    match = _RELATIVE.match(value.lower())
    if match:
        try:
            return now - timedelta(**{_UNITS[match.group(2)]: int(match.group(1))}), False
        except (OverflowError, ValueError):
            raise _out_of_range(option, text) from None
    if value.lower() == "today":
        return now.replace(hour=0, minute=0, second=0, microsecond=0), True
    for fmt in _FORMATS:
        try:
            return datetime.strptime(value, fmt).replace(tzinfo=UTC), fmt == "%Y-%m-%d"
        except ValueError:
            continue
    # RFC 3339, as Nexus prints times (`stats --json`, `export`): seconds' fractions, `Z` or
    # an offset (converted to UTC)
    if value.isascii() and "T" in value.upper():
        try:
            moment = datetime.fromisoformat(value)
        except ValueError:
            pass
        else:
            if moment.tzinfo is None:
                return moment.replace(tzinfo=UTC), False
            try:
                return moment.astimezone(UTC), False
            except OverflowError:
                raise _out_of_range(option, text) from None
    raise UsageError(f"{option}: unknown date {text!r}", hint=_HINT)


@dataclass(frozen=True)
class Window:
    """``since <= timestamp < until``, as database timestamp strings."""

    since: str
    until: str
    label: str

    @property
    def days(self) -> float:
        start = datetime.fromisoformat(self.since)
        end = datetime.fromisoformat(self.until)
        return max((end - start).total_seconds() / 86400, 1 / 24)

    def to_dict(self) -> dict[str, str]:
        return {"since": self.since, "until": self.until, "label": self.label}


def last_days(days: float, now: datetime | None = None, label: str | None = None) -> Window:
    now = now or datetime.now(UTC)
    return Window(
        stamp(now - timedelta(days=days)),
        stamp(now + timedelta(seconds=1)),
        label or f"last {days:g} days",
    )


def end_of(until: str | None, now: datetime) -> datetime:
    """Where a window given ``--until`` ends (a date includes its whole day); now without it."""
    if not until:
        return now + timedelta(seconds=1)
    end, date_only = parse_moment(until, option="--until", now=now)
    if date_only:
        try:
            end += timedelta(days=1)
        except OverflowError:
            end = datetime.max.replace(tzinfo=UTC)  # 9999-12-31 includes its whole day
    return end


def resolve(
    *,
    today: bool = False,
    week: bool = False,
    month: bool = False,
    since: str | None = None,
    until: str | None = None,
    default_days: float = 7,
    now: datetime | None = None,
) -> Window:
    """Turn the command-line choices into one :class:`Window` (UsageError on conflicts)."""
    now = now or datetime.now(UTC)
    presets = [
        name for name, on in (("--today", today), ("--week", week), ("--month", month)) if on
    ]
    if len(presets) > 1 or (presets and since):
        raise UsageError(f"choose one of {', '.join([*presets, *(['--since'] if since else [])])}")
    if today:
        start = now.replace(hour=0, minute=0, second=0, microsecond=0)
        return Window(stamp(start), stamp(now + timedelta(seconds=1)), "today (UTC)")
    if week or month:
        days = 7 if week else 30
        return last_days(days, now, f"last {days} days")
    end = end_of(until, now)
    if since:
        start, _ = parse_moment(since, option="--since", now=now)
    else:
        try:
            start = end - timedelta(days=default_days)
        except OverflowError:
            raise _out_of_range("--until", until or "") from None
    if start >= end:
        raise UsageError(f"--since ({stamp(start)}) is not before --until ({stamp(end)})")
    return Window(stamp(start), stamp(end), f"{stamp(start)[:16]} to {stamp(end)[:16]} UTC")
