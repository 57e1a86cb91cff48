"""Claim owners are operations (host, pid, process start, token), with real processes."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_cli import owner


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = subprocess.Popen(["sleep", "60"])
    try:
        yield proc
    finally:
        proc.kill()
        proc.wait()


def test_the_host_tag_is_the_one_earlier_versions_recorded() -> None:
    """Tags in existing locks were hashed from socket.gethostname(): the same name is hashed."""
    expected = hashlib.sha256(socket.gethostname().encode()).hexdigest()[:12]
    assert owner.host_tag() == expected


def test_an_operation_is_live_only_while_it_runs() -> None:
    with owner.operation() as me:
        assert (me.host, me.pid) == (owner.host_tag(), os.getpid())
        assert me.start and me.token
        assert owner.alive(me)
        assert owner.parse(me.to_json()) == me
    assert not owner.alive(me)


def test_two_operations_of_one_process_are_two_owners() -> None:
    seen: list[bool] = []
    with owner.operation() as first:

        def other_thread() -> None:
            with owner.operation() as second:
                seen.append(second != first and owner.alive(first) and owner.alive(second))
            seen.append(owner.alive(second))

        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert seen == [True, False]


def test_a_live_process_with_its_start_holds_its_claim(sleeper: subprocess.Popen[bytes]) -> None:
    start = owner.process_start(sleeper.pid)
    assert start
    held = owner.Owner(owner.host_tag(), sleeper.pid, start, "t0ken")
    assert owner.alive(held)


def test_a_reused_pid_has_another_start(sleeper: subprocess.Popen[bytes]) -> None:
    start = owner.process_start(sleeper.pid)
    assert start
    boot, ticks = start.rsplit(":", 1)
    earlier = f"{boot}:{int(ticks) - 1}"  # the process that had this pid before
    assert not owner.alive(owner.Owner(owner.host_tag(), sleeper.pid, earlier, "t0ken"))


def test_a_dead_process_or_another_host_holds_nothing() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert owner.process_start(dead.pid) is None
    assert not owner.alive(owner.Owner(owner.host_tag(), dead.pid, "x:1", "t0ken"))
    me = owner.new()
    assert not owner.alive(owner.Owner("elsewhere", me.pid, me.start, me.token))


@pytest.mark.parametrize(
    "data",
    [
        {},
        {"host": "h", "pid": 1, "start": "s"},  # no token: recorded before owners had one
        {"host": "h", "pid": True, "start": "s", "token": "t"},
        {"host": "h", "pid": 0, "start": "s", "token": "t"},
        {"host": "h", "pid": "1", "start": "s", "token": "t"},
        {"host": "h", "pid": 1, "start": "s", "token": ""},
        {"host": "h", "pid": 1, "start": 5, "token": "t"},
        {"host": "h" * 500, "pid": 1, "start": "s", "token": "t"},
    ],
)
def test_records_that_are_not_owners_parse_to_none(data: dict[str, Any]) -> None:
    assert owner.parse(data) is None


_JSON = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=20),
    lambda inner: (
        st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=5), inner, max_size=3)
    ),
    max_leaves=8,
)


@settings(max_examples=200, deadline=None)
@given(st.dictionaries(st.sampled_from(["host", "pid", "start", "token", "by"]), _JSON))
def test_any_recorded_value_parses_to_an_owner_or_none_and_never_raises(
    data: dict[str, Any],
) -> None:
    parsed = owner.parse(data)
    if parsed is not None:
        assert type(parsed.pid) is int and parsed.pid > 0 and parsed.token
        assert owner.parse(parsed.to_json()) == parsed
        assert isinstance(owner.alive(parsed), bool)
