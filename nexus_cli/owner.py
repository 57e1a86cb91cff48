"""Who holds a claim, as shared files record it: one operation, not one process.

A claim that Nexus records in a shared file (a task ``verifying``, a create in progress, a lease)
names its owner as ``(host, pid, start, token)``:

- ``host``: a hash of the host name (the name itself is never stored);
- ``pid`` and ``start``: the process, and when it started (the boot id and the start time in
  clock ticks from ``/proc/PID/stat``): a pid that the kernel reused for another process has
  another start, so a dead owner is recognised even when its pid runs again;
- ``token``: random, one per operation, so that two operations in one process (threads of
  ``nexus mcp``) are two owners.

This module is the record alone (:class:`Owner`, and :func:`parse` for a record read from a shared
file, where one that is not an owner — old or hand-written — gives ``None``), so that reading
tasks checks a lease without loading what making and checking owners needs (hashing, random
tokens, threads): that is :mod:`nexus_cli.ownership`'s, which only a claim loads.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

_MAX_FIELD = 200  # what a parsed field may hold: the records are shared, hence untrusted


@dataclass(frozen=True)
class Owner:
    host: str
    pid: int
    start: str  # "" where the platform cannot tell (no /proc)
    token: str

    def to_json(self) -> dict[str, Any]:
        return {"host": self.host, "pid": self.pid, "start": self.start, "token": self.token}


def parse(data: Mapping[str, Any]) -> Owner | None:
    """The owner recorded in ``data`` (from a shared file); None if it does not hold one."""
    host, pid, start, token = (data.get(k) for k in ("host", "pid", "start", "token"))
    if not (isinstance(host, str) and isinstance(start, str) and isinstance(token, str)):
        return None
    if type(pid) is not int or pid <= 0 or not token:
        return None
    if max(len(host), len(start), len(token)) > _MAX_FIELD:
        return None
    return Owner(host, pid, start, token)
