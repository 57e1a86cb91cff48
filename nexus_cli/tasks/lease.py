"""Leases: a claim that expires unless its holder keeps beating.

A claimed task records ``lease``: its owner (:mod:`nexus_cli.owner`: host hash, pid, process
start, random token), the last ``heartbeat`` and when it ``expires`` (UTC, the format of
:func:`nexus_cli.tasks.model.now_iso`). `nexus loop` beats while it works; a lease whose expiry
has passed may be taken back (`nexus task reclaim`, or the loop and the fleet on their own),
with a history entry naming the previous owner. A task claimed before leases existed has no
lease and never expires (the old behaviour).
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from nexus_cli import owner

DEFAULT_LEASE_S = 15 * 60
MAX_LEASE_S = 7 * 24 * 3600
_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"


class Task(Protocol):
    """What a lease is read from (a :class:`nexus_cli.tasks.model.Task`; not imported: the
    model checks its records with this module)."""

    @property
    def status(self) -> str: ...

    @property
    def lease(self) -> dict[str, Any] | None: ...


def _iso(when: datetime) -> str:
    return when.strftime(_FORMAT)


def _parse(text: object) -> datetime | None:
    if not isinstance(text, str) or len(text) > 64:
        return None
    try:
        return datetime.strptime(text, _FORMAT).replace(tzinfo=UTC)
    except ValueError:
        return None


def new(holder: owner.Owner, length_s: int, *, now: datetime | None = None) -> dict[str, Any]:
    """A lease held by ``holder`` for ``length_s`` seconds from now."""
    at = now or datetime.now(UTC)
    return {
        "owner": holder.to_json(),
        "heartbeat": _iso(at),
        "expires": _iso(at + timedelta(seconds=length_s)),
        "length_s": length_s,
    }


def beat(lease: dict[str, Any], *, now: datetime | None = None) -> dict[str, Any]:
    """The same lease, its heartbeat now and its expiry one lease length later."""
    at = now or datetime.now(UTC)
    length = lease.get("length_s")
    length_s = length if type(length) is int and 0 < length <= MAX_LEASE_S else DEFAULT_LEASE_S
    return {**lease, "heartbeat": _iso(at), "expires": _iso(at + timedelta(seconds=length_s))}


def expired(task: Task, *, now: datetime | None = None) -> bool:
    """Whether ``task`` is claimed under a lease whose expiry has passed (a task without a
    lease, or with one whose expiry cannot be read, never expires)."""
    if task.status != "in_progress" or not task.lease:
        return False
    expires = _parse(task.lease.get("expires"))
    return expires is not None and expires <= (now or datetime.now(UTC))


def token(task: Task) -> str | None:
    """The token of the owner holding ``task``'s lease, if any."""
    held = owner.parse(task.lease.get("owner") or {}) if task.lease else None
    return held.token if held else None


def problem(lease: object) -> str | None:
    """Why ``lease`` (read from tasks.jsonl: untrusted) is not a lease; None if it is one."""
    if not isinstance(lease, dict):
        return "must be an object"
    who = lease.get("owner")
    if not isinstance(who, dict) or owner.parse(who) is None:
        return "needs an owner (host, pid, start, token)"
    for key in ("heartbeat", "expires"):
        if _parse(lease.get(key)) is None:
            return f"needs {key} as a UTC time"
    length = lease.get("length_s")
    if type(length) is not int or not 0 < length <= MAX_LEASE_S:
        return f"needs length_s of 1-{MAX_LEASE_S} seconds"
    return None
