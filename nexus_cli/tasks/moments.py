"""Moments a person types for tasks: ``task defer --until`` and ``task list --since``.

Parsed strictly (no guessing of day/month order, no natural language): a date ``2026-12-24``
(midnight UTC), a moment with a zone ``2026-12-24T09:00Z`` / ``2026-12-24T09:00:00+02:00``, or, for
``--since`` only, an age ``30m``, ``12h``, ``7d``. Stored as UTC with microseconds, the form of
:func:`nexus_cli.tasks.model.now_iso`, so that moments compare as text in SQL.
"""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta

from nexus_cli.errors import UsageError

_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
_MOMENT = re.compile(
    r"(\d{4}-\d{2}-\d{2})[T ](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,6})?)?)(Z|[+-]\d{2}:\d{2})"
)
_AGE = re.compile(r"(\d{1,6})([mhd])")
_UNITS = {"m": "minutes", "h": "hours", "d": "days"}
FORMS = "YYYY-MM-DD (midnight UTC) or YYYY-MM-DDTHH:MM[:SS]Z (or with +HH:MM)"


def _stored(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def parse_moment(text: str, *, what: str) -> str:
    """``text`` as a stored UTC moment; a :class:`UsageError` naming ``what`` otherwise."""
    value = text.strip()
    try:
        if _DATE.fullmatch(value):
            return _stored(datetime.fromisoformat(value).replace(tzinfo=UTC))
        found = _MOMENT.fullmatch(value)
        if found:
            zone = "+00:00" if found.group(3) == "Z" else found.group(3)
            return _stored(datetime.fromisoformat(f"{found.group(1)}T{found.group(2)}{zone}"))
    except ValueError as exc:
        raise UsageError(f"{what}: {text!r} is not a real date ({exc})") from None
    if _MOMENT.fullmatch(value + "Z"):  # a time without its zone: which one is not guessed
        raise UsageError(
            f"{what}: {text!r} has no time zone", hint=f"add Z for UTC (or +HH:MM): {FORMS}"
        )
    raise UsageError(f"{what}: {text!r} is not a date", hint=f"write {FORMS}")


def parse_since(text: str, *, what: str = "--since") -> str:
    """A moment (:func:`parse_moment`) or an age before now (``7d``, ``12h``, ``30m``)."""
    found = _AGE.fullmatch(text.strip())
    if found:
        delta = timedelta(**{_UNITS[found.group(2)]: int(found.group(1))})
        return _stored(datetime.now(UTC) - delta)
    try:
        return parse_moment(text, what=what)
    except UsageError as exc:
        raise UsageError(exc.message, hint=f"write {FORMS}, or an age like 7d, 12h, 30m") from None
