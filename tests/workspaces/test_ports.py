from __future__ import annotations

import json
import multiprocessing
import socket
from pathlib import Path

import pytest

from nexus_cli.errors import StateError
from nexus_cli.workspaces import ports
from tests.workspaces.conftest import free_port


def _request(preferred: int, service: str = "web", container_port: int = 8080) -> ports.PortRequest:
    return ports.PortRequest(service, container_port, preferred)


def test_preferred_free_port_is_allocated_first_try(tmp_path: Path) -> None:
    preferred = free_port()
    result = ports.allocate(tmp_path, "aaaa0001", "ws", [_request(preferred)])
    assert [a.host_port for a in result.allocations] == [preferred]
    assert result.attempts == 1
    assert result.conflicts == []


def test_allocation_is_stable_and_persisted(tmp_path: Path) -> None:
    first = ports.allocate(tmp_path, "aaaa0001", "ws", [_request(free_port())])
    again = ports.allocate(tmp_path, "aaaa0001", "ws", [_request(free_port())])
    assert again.allocations[0].host_port == first.allocations[0].host_port
    stored = json.loads((tmp_path / "ports.json").read_text())
    assert stored["allocations"][0]["host_port"] == first.allocations[0].host_port


def test_same_preferred_port_in_two_projects_never_collides(tmp_path: Path) -> None:
    preferred = free_port()
    a = ports.allocate(tmp_path, "aaaa0001", "dev", [_request(preferred)])
    b = ports.allocate(tmp_path, "aaaa0002", "dev", [_request(preferred)])
    assert a.allocations[0].host_port == preferred
    assert b.allocations[0].host_port != preferred
    assert b.attempts >= 1


def test_taken_port_is_reallocated_and_reported(tmp_path: Path) -> None:
    first = ports.allocate(tmp_path, "aaaa0001", "ws", [_request(free_port())])
    old = first.allocations[0].host_port
    with socket.socket() as blocker:
        blocker.bind(("127.0.0.1", old))
        blocker.listen()
        result = ports.allocate(tmp_path, "aaaa0001", "ws", [_request(old)])
    new = result.allocations[0].host_port
    assert new != old
    assert result.conflicts == [(result.allocations[0], old)]
    assert result.attempts >= 2


def test_ports_in_use_by_our_own_containers_are_kept(tmp_path: Path) -> None:
    first = ports.allocate(tmp_path, "aaaa0001", "ws", [_request(free_port())])
    port = first.allocations[0].host_port
    with socket.socket() as ours:
        ours.bind(("127.0.0.1", port))
        ours.listen()
        result = ports.allocate(
            tmp_path, "aaaa0001", "ws", [_request(port)], in_use_by_us=frozenset({port})
        )
    assert result.allocations[0].host_port == port
    assert result.conflicts == []


def test_release_forgets_only_that_workspace(tmp_path: Path) -> None:
    ports.allocate(tmp_path, "aaaa0001", "a", [_request(free_port())])
    ports.allocate(tmp_path, "aaaa0001", "b", [_request(free_port())])
    assert ports.release(tmp_path, "aaaa0001", "a") == 1
    assert ports.allocations_for(tmp_path, "aaaa0001", "a") == []
    assert len(ports.allocations_for(tmp_path, "aaaa0001", "b")) == 1


def test_corrupt_table_is_a_state_error_and_left_alone(tmp_path: Path) -> None:
    (tmp_path / "ports.json").write_text("{not json")
    with pytest.raises(StateError, match="unreadable"):
        ports.allocate(tmp_path, "aaaa0001", "ws", [_request(free_port())])
    assert (tmp_path / "ports.json").read_text() == "{not json"


def _allocate_in_process(
    home: str, project: str, preferred: int, queue: multiprocessing.Queue
) -> None:  # type: ignore[type-arg]
    result = ports.allocate(Path(home), project, "dev", [_request(preferred)])
    queue.put(result.allocations[0].host_port)


def test_concurrent_processes_get_distinct_ports(tmp_path: Path) -> None:
    preferred = free_port()
    queue: multiprocessing.Queue = multiprocessing.Queue()  # type: ignore[type-arg]
    procs = [
        multiprocessing.Process(
            target=_allocate_in_process, args=(str(tmp_path), f"aaaa000{i}", preferred, queue)
        )
        for i in range(4)
    ]
    for proc in procs:
        proc.start()
    for proc in procs:
        proc.join(30)
    got = [queue.get(timeout=5) for _ in procs]
    assert len(set(got)) == 4
