"""Property tests of the port allocator (issue 10: UDP probed as UDP, several ports in one call,
a non-default bind address) with real sockets held open while it allocates."""

from __future__ import annotations

import contextlib
import json
import socket
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from nexus_cli.errors import StateError
from nexus_cli.workspaces import ports

PROJECT = "abcd0123"


@contextlib.contextmanager
def occupied(count: int, protocol: str, address: str) -> Iterator[tuple[int, list[int]]]:
    """Hold ``count`` consecutive ports (from a free base) bound on ``address``."""
    kind = socket.SOCK_STREAM if protocol == "tcp" else socket.SOCK_DGRAM
    for _ in range(50):
        with socket.socket(socket.AF_INET, kind) as probe:
            probe.bind((address, 0))
            base = int(probe.getsockname()[1])
        if base + count >= 65000:
            continue
        held: list[socket.socket] = []
        try:
            for port in range(base, base + count):
                sock = socket.socket(socket.AF_INET, kind)
                held.append(sock)
                sock.bind((address, port))
                if protocol == "tcp":
                    sock.listen()
        except OSError:
            for sock in held:
                sock.close()
            continue
        try:
            yield base, list(range(base, base + count))
        finally:
            for sock in held:
                sock.close()
        return
    pytest.skip("no run of free ports found")


@settings(max_examples=25, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    busy=st.integers(min_value=1, max_value=4),
    wanted=st.integers(min_value=1, max_value=4),
    protocol=st.sampled_from(["tcp", "udp"]),
    address=st.sampled_from(["127.0.0.1", "127.0.0.2", "0.0.0.0"]),
)
def test_never_hands_out_a_port_in_use_and_ports_of_one_call_are_distinct(
    busy: int, wanted: int, protocol: str, address: str
) -> None:
    with tempfile.TemporaryDirectory() as home, occupied(busy, protocol, address) as (base, held):
        requests = [ports.PortRequest(f"s{i}", 80 + i, base, protocol) for i in range(wanted)]
        result = ports.allocate(Path(home), PROJECT, "ws", requests, bind_address=address)
        given_ports = [a.host_port for a in result.allocations]
        assert len(set(given_ports)) == wanted  # several ports of one call never collide
        assert not set(given_ports) & set(held)  # a port in use is never handed out
        assert all(a.protocol == protocol for a in result.allocations)
        for port in given_ports:
            assert ports.port_is_free(port, protocol, address)


def test_udp_port_in_use_is_probed_as_udp() -> None:
    with occupied(1, "udp", "127.0.0.1") as (base, _):
        assert ports.port_is_free(base, "tcp")  # a TCP probe would wrongly hand it out
        assert not ports.port_is_free(base, "udp")


def test_non_default_bind_address_is_probed_there() -> None:
    with occupied(1, "tcp", "127.0.0.2") as (base, _):
        assert not ports.port_is_free(base, "tcp", "127.0.0.2")


def test_lock_file_that_is_a_folder_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / "ports.lock").mkdir()
    with pytest.raises(StateError, match=r"lock file .*ports\.lock is a folder"):
        ports.allocate(tmp_path, PROJECT, "ws", [ports.PortRequest("s", 80, 20000)])


def test_garbage_in_the_table_is_a_state_error(tmp_path: Path) -> None:
    row = {
        "project": "../x",
        "workspace": "ws",
        "service": "s",
        "container_port": 80,
        "protocol": "tcp",
        "host_port": 20000,
    }
    (tmp_path / "ports.json").write_text(json.dumps({"allocations": [row]}))
    with pytest.raises(StateError, match="invalid project id"):
        ports.allocations_for(tmp_path, PROJECT, "ws")
