"""Host ports without collisions: one allocation table for the whole machine.

The table lives in ``$NEXUS_HOME/ports.json`` (so workspaces of different projects never collide)
and is changed only under an exclusive ``fcntl`` lock on ``ports.lock``, written to a temporary
file and moved into place (:mod:`nexus_cli.fs`). A port is probed with a bind before it is handed out; an allocation is
kept across ``down``/``up`` and replaced only when something else took the port meanwhile.
"""

from __future__ import annotations

import contextlib
import socket
from collections.abc import Callable, Iterator
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from nexus_cli import fs, jsonio, validate
from nexus_cli.errors import ConflictError, NexusError, StateError
from nexus_cli.paths import ensure_private_dir
from nexus_cli.workspaces.jsonstate import load_json

TABLE_FILE = "ports.json"
LOCK_FILE = "ports.lock"
SEARCH_SPAN = 200  # how far above the preferred port to look before using the fallback range
FALLBACK_RANGE = (20000, 40000)


@dataclass(frozen=True)
class PortRequest:
    service: str  # a service, or the name of a host port
    container_port: int  # 0 for a host port
    preferred: int
    protocol: str = "tcp"
    host: bool = False  # for a process on the host (x-nexus.host_ports), not a container


@dataclass
class Allocation:
    project: str
    workspace: str
    service: str
    container_port: int
    protocol: str
    host_port: int
    host: bool = False  # a host port: ``service`` is its name and ``container_port`` is 0

    def key(self) -> tuple[str, str, str, int, str, bool]:
        return (
            self.project,
            self.workspace,
            self.service,
            self.container_port,
            self.protocol,
            self.host,
        )

    def to_json(self) -> dict[str, Any]:
        return _row(self)


@dataclass
class AllocationResult:
    allocations: list[Allocation]
    attempts: int  # the most candidates any one port needed (1 when every preferred port was free)
    conflicts: list[tuple[Allocation, int]]  # (new allocation, the port that was taken)


def table_paths(home: Path) -> tuple[Path, Path]:
    return home / TABLE_FILE, home / LOCK_FILE


@contextlib.contextmanager
def locked_table(home: Path) -> Iterator[list[Allocation]]:
    """Yield the allocation list under an exclusive lock; write it back if the block succeeds."""
    ensure_private_dir(home)
    table, lock = table_paths(home)
    with fs.locked(lock, root=home):
        allocations = _read(table)
        before = [asdict(a) for a in allocations]
        yield allocations
        if [asdict(a) for a in allocations] != before:
            _write(table, allocations)


def _read(table: Path) -> list[Allocation]:
    return load_json(
        table,
        lambda data: [_checked(Allocation(**row), table) for row in data.get("allocations", [])],
        missing=[],
        what=f"port allocation table {table} is",
        hint="move it aside; Nexus re-creates it (ports are then allocated afresh)",
        root=table.parent,
    )


def _checked(allocation: Allocation, table: Path) -> Allocation:
    """An allocation read back from the table: names and numbers validated."""
    try:
        validate.project_id(allocation.project, source=table)
        validate.workspace_name(allocation.workspace, source=table)
        validate.service_name(allocation.service, source=table)
    except NexusError as exc:  # Nexus's own state, wherever NEXUS_HOME is
        raise StateError(exc.message, hint=exc.hint) from None
    inside = allocation.container_port
    ports_ok = (
        isinstance(allocation.host, bool)
        and all(isinstance(p, int) for p in (allocation.host_port, inside))
        and 1 <= allocation.host_port <= 65535
        and (inside == 0 if allocation.host else 1 <= inside <= 65535)
    )
    if not ports_ok or allocation.protocol not in ("tcp", "udp"):
        raise StateError(
            f"{table}: allocation for {allocation.workspace!r} has an invalid port or protocol",
            hint="move the file aside; Nexus re-creates it (ports are then allocated afresh)",
        )
    return allocation


def _write(table: Path, allocations: list[Allocation]) -> None:
    fs.atomic_write(
        table,
        jsonio.dumps(
            {"version": 1, "allocations": [_row(a) for a in allocations]},
            indent=1,
            ascii_only=True,
        ),
    )


def _row(allocation: Allocation) -> dict[str, Any]:
    """A table row; ``host`` only on host ports, so that a table without any stays readable by
    earlier versions of Nexus sharing this ``$NEXUS_HOME``."""
    row = asdict(allocation)
    if not allocation.host:
        del row["host"]
    return row


def port_is_free(port: int, protocol: str = "tcp", address: str = "127.0.0.1") -> bool:
    """True when a bind on ``address:port`` succeeds right now."""
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    with socket.socket(socket.AF_INET, kind) as sock:
        try:
            sock.bind((address, port))
        except OSError:
            return False
    if address != "127.0.0.1":
        return True
    with socket.socket(socket.AF_INET, kind) as sock:  # a 0.0.0.0 listener also blocks us
        try:
            sock.bind(("0.0.0.0", port))
        except OSError:
            return False
    return True


def allocate(
    home: Path,
    project: str,
    workspace: str,
    requests: list[PortRequest],
    *,
    in_use_by_us: frozenset[int] = frozenset(),
    avoid: frozenset[int] = frozenset(),
    bind_address: str = "127.0.0.1",
) -> AllocationResult:
    """Give each request a host port: the recorded one if still free, else the first free one.

    ``in_use_by_us`` are ports held by this workspace's own running containers: not probed.
    ``avoid`` are ports the engine refused although they looked free (taken meanwhile).
    """
    result = AllocationResult(allocations=[], attempts=0, conflicts=[])
    with locked_table(home) as table:
        for request in requests:
            key = (
                project,
                workspace,
                request.service,
                request.container_port,
                request.protocol,
                request.host,
            )
            existing = next((a for a in table if a.key() == key), None)
            taken = {a.host_port for a in table if a.key() != key} | avoid
            if existing is not None and existing.host_port in in_use_by_us:
                result.allocations.append(existing)
                result.attempts = max(result.attempts, 1)
                continue
            start = existing.host_port if existing is not None else request.preferred
            port, attempts = _first_free(start, request.protocol, taken, bind_address)
            result.attempts = max(result.attempts, attempts)
            if existing is not None:
                old = existing.host_port
                existing.host_port = port
                if port != old:
                    result.conflicts.append((existing, old))
                result.allocations.append(existing)
            else:
                allocation = Allocation(
                    project,
                    workspace,
                    request.service,
                    request.container_port,
                    request.protocol,
                    port,
                    request.host,
                )
                table.append(allocation)
                result.allocations.append(allocation)
    return result


def _candidates(start: int) -> Iterator[int]:
    yield from range(start, min(start + SEARCH_SPAN, 65536))
    yield from range(*FALLBACK_RANGE)


def _first_free(start: int, protocol: str, taken: set[int], address: str) -> tuple[int, int]:
    attempts = 0
    for port in _candidates(start):
        if port in taken:
            continue
        attempts += 1
        if port_is_free(port, protocol, address):
            return port, attempts
    raise ConflictError(f"no free host port found near {start}", category="port_conflict")


def release(home: Path, project: str, workspace: str) -> int:
    """Forget every allocation of a workspace; returns how many were removed."""
    with locked_table(home) as table:
        keep = [a for a in table if not (a.project == project and a.workspace == workspace)]
        removed = len(table) - len(keep)
        table[:] = keep
    return removed


def release_unless(home: Path, project: str, existing: Callable[[], set[str]]) -> dict[str, int]:
    """Forget the allocations of ``project``'s workspaces that are not in ``existing()`` (its
    workspaces' records, read under the table's lock: a create writes its record before it
    allocates, and a delete frees its ports before it drops its record, so no live workspace is
    missed); workspace -> how many were removed."""
    with locked_table(home) as table:
        names = existing()
        gone = [a for a in table if a.project == project and a.workspace not in names]
        table[:] = [a for a in table if a not in gone]
    removed: dict[str, int] = {}
    for allocation in gone:
        removed[allocation.workspace] = removed.get(allocation.workspace, 0) + 1
    return removed


def allocations_for(home: Path, project: str, workspace: str) -> list[Allocation]:
    table, _ = table_paths(home)
    return [a for a in _read(table) if a.project == project and a.workspace == workspace]
