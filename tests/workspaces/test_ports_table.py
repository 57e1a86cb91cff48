"""The port table read back from disk is untrusted, and the probe's edges (pinned for mutation)."""

from __future__ import annotations

import json
import socket
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_cli.errors import ConflictError, StateError
from nexus_cli.workspaces import ports
from tests.workspaces.conftest import free_port

ROW = {
    "project": "aaaa0001",
    "workspace": "ws",
    "service": "web",
    "container_port": 8080,
    "protocol": "tcp",
    "host_port": 18080,
}


def _table(tmp_path: Path, *rows: dict[str, object]) -> Path:
    path = tmp_path / "ports.json"
    path.write_text(json.dumps({"version": 1, "allocations": list(rows)}))
    return path


def test_unreadable_table_names_the_file_and_the_fix(tmp_path: Path) -> None:
    (tmp_path / "ports.json").write_text("{not json")
    with pytest.raises(StateError) as info:
        ports.allocate(tmp_path, "aaaa0001", "ws", [])
    assert info.value.message.startswith(f"port allocation table {tmp_path / 'ports.json'} is ")
    assert info.value.hint == "move it aside; Nexus re-creates it (ports are then allocated afresh)"


def test_a_table_without_allocations_is_empty(tmp_path: Path) -> None:
    (tmp_path / "ports.json").write_text('{"version": 1}')
    result = ports.allocate(tmp_path, "aaaa0001", "ws", [])
    assert result.allocations == [] and result.attempts == 0 and result.conflicts == []


@pytest.mark.parametrize(
    ("field", "value", "kind"),
    [
        ("project", "../x", "project id"),
        ("workspace", "../../x", "workspace name"),
        ("service", "a/b", "service name"),
    ],
)
def test_bad_names_read_back_name_the_file(
    tmp_path: Path, field: str, value: str, kind: str
) -> None:
    table = _table(tmp_path, {**ROW, field: value})
    with pytest.raises(StateError) as info:
        ports.allocate(tmp_path, "aaaa0001", "ws", [])
    assert info.value.message.startswith(f"{table}: invalid {kind} {value!r}: ")
    assert info.value.hint == "the file was edited or is corrupt; fix or remove that entry"


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("host_port", 0),
        ("host_port", 65536),
        ("container_port", 0),
        ("container_port", 70000),
        ("host_port", "80"),
        ("protocol", "UDP"),
        ("protocol", "sctp"),
    ],
)
def test_bad_ports_or_protocols_read_back(tmp_path: Path, field: str, value: object) -> None:
    table = _table(tmp_path, {**ROW, field: value})
    with pytest.raises(StateError) as info:
        ports.allocate(tmp_path, "aaaa0001", "ws", [])
    assert info.value.message == f"{table}: allocation for 'ws' has an invalid port or protocol"
    assert info.value.hint == (
        "move the file aside; Nexus re-creates it (ports are then allocated afresh)"
    )


@pytest.mark.parametrize(("host", "protocol"), [(1, "tcp"), (65535, "udp")])
def test_edge_ports_and_udp_are_valid(tmp_path: Path, host: int, protocol: str) -> None:
    row = {**ROW, "host_port": host, "container_port": host, "protocol": protocol}
    table = _table(tmp_path, row)
    port = free_port()
    ports.allocate(tmp_path, "ffff0000", "other", [ports.PortRequest("web", 8080, port)])
    kept = json.loads(table.read_text())["allocations"]
    assert row in kept and sorted(r["host_port"] for r in kept) == sorted([host, port])


def test_the_table_is_written_in_its_documented_format(tmp_path: Path) -> None:
    port = free_port()
    ports.allocate(tmp_path, "aaaa0001", "ws", [ports.PortRequest("web", 8080, port)])
    expected = {
        "version": 1,
        "allocations": [{**ROW, "host_port": port}],
    }
    assert (tmp_path / "ports.json").read_text() == json.dumps(expected, indent=1)


def _hold(address: str, port: int, kind: int) -> socket.socket:
    sock = socket.socket(socket.AF_INET, kind)
    sock.bind((address, port))
    if kind == socket.SOCK_STREAM:
        sock.listen()
    return sock


@pytest.fixture
def held() -> Iterator[list[socket.socket]]:
    sockets: list[socket.socket] = []
    yield sockets
    for sock in sockets:
        sock.close()


def test_probe_defaults_to_tcp_on_loopback(held: list[socket.socket]) -> None:
    port = free_port()
    held.append(_hold("127.0.0.1", port, socket.SOCK_STREAM))
    assert ports.port_is_free(port) is False
    assert ports.port_is_free(port, "udp") is True


@pytest.mark.parametrize(
    ("protocol", "kind"), [("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)]
)
def test_a_wildcard_holder_blocks_loopback(
    held: list[socket.socket], protocol: str, kind: int
) -> None:
    port = free_port()
    held.append(_hold("0.0.0.0", port, kind))
    assert ports.port_is_free(port, protocol) is False


def test_another_address_is_probed_on_its_own(held: list[socket.socket]) -> None:
    port = free_port()
    held.append(_hold("127.0.0.1", port, socket.SOCK_STREAM))
    assert ports.port_is_free(port, "tcp", "127.0.0.2") is True
    assert ports.port_is_free(port, "tcp", "127.0.0.1") is False


def test_allocation_probes_the_bind_address(tmp_path: Path, held: list[socket.socket]) -> None:
    port = free_port()
    held.append(_hold("127.0.0.1", port, socket.SOCK_STREAM))
    on_two = ports.allocate(
        tmp_path, "aaaa0001", "ws", [ports.PortRequest("web", 80, port)], bind_address="127.0.0.2"
    )
    assert on_two.allocations[0].host_port == port


def test_ports_held_by_our_own_containers_are_kept_without_probing(
    tmp_path: Path, held: list[socket.socket]
) -> None:
    first, second = free_port(), free_port()
    requests = [ports.PortRequest("web", 80, first), ports.PortRequest("db", 5432, second)]
    ports.allocate(tmp_path, "aaaa0001", "ws", requests)
    held.append(_hold("127.0.0.1", first, socket.SOCK_STREAM))
    held.append(_hold("127.0.0.1", second, socket.SOCK_STREAM))
    again = ports.allocate(
        tmp_path, "aaaa0001", "ws", requests, in_use_by_us=frozenset({first, second})
    )
    assert [a.host_port for a in again.allocations] == [first, second]
    assert again.attempts == 1 and again.conflicts == []


def test_candidates_stay_in_range() -> None:
    near_top = list(ports._candidates(65500))
    assert max(near_top[:36]) == 65535 and 65536 not in near_top
    assert near_top[36] == ports.FALLBACK_RANGE[0]


def test_no_free_port_is_a_port_conflict() -> None:
    start = 30000
    taken = set(range(start, start + ports.SEARCH_SPAN)) | set(range(*ports.FALLBACK_RANGE))
    with pytest.raises(ConflictError) as info:
        ports._first_free(start, "tcp", taken, "127.0.0.1")
    assert info.value.message == "no free host port found near 30000"
    assert info.value.category == "port_conflict"


@pytest.mark.parametrize(
    ("protocol", "kind"), [("tcp", socket.SOCK_STREAM), ("udp", socket.SOCK_DGRAM)]
)
def test_a_holder_on_another_address_blocks_the_default_probe(
    held: list[socket.socket], protocol: str, kind: int
) -> None:
    # Binding 127.0.0.1 would succeed, but a wildcard bind (what a 0.0.0.0 publish needs) would
    # not: the default probe is conservative and checks both.
    port = free_port()
    held.append(_hold("127.0.0.2", port, kind))
    assert ports.port_is_free(port, protocol) is False
    assert ports.port_is_free(port, protocol, "127.0.0.3") is True
