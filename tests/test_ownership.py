"""Claim owners are operations (host, pid, process start, token), with real processes."""

from __future__ import annotations

import hashlib
import os
import socket
import subprocess
import threading
from collections.abc import Iterator

import pytest

from nexus_cli import owner, ownership


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
    assert ownership.host_tag() == expected


def test_an_operation_is_live_only_while_it_runs() -> None:
    with ownership.operation() as me:
        assert (me.host, me.pid) == (ownership.host_tag(), os.getpid())
        assert me.start and me.token
        assert ownership.alive(me)
        assert owner.parse(me.to_json()) == me
    assert not ownership.alive(me)


def test_two_operations_of_one_process_are_two_owners() -> None:
    seen: list[bool] = []
    with ownership.operation() as first:

        def other_thread() -> None:
            with ownership.operation() as second:
                seen.append(second != first and ownership.alive(first) and ownership.alive(second))
            seen.append(ownership.alive(second))

        worker = threading.Thread(target=other_thread)
        worker.start()
        worker.join()
    assert seen == [True, False]


def test_a_live_process_with_its_start_holds_its_claim(sleeper: subprocess.Popen[bytes]) -> None:
    start = ownership.process_start(sleeper.pid)
    assert start
    held = owner.Owner(ownership.host_tag(), sleeper.pid, start, "t0ken")
    assert ownership.alive(held)


def test_a_reused_pid_has_another_start(sleeper: subprocess.Popen[bytes]) -> None:
    start = ownership.process_start(sleeper.pid)
    assert start
    boot, ticks = start.rsplit(":", 1)
    earlier = f"{boot}:{int(ticks) - 1}"  # the process that had this pid before
    assert not ownership.alive(owner.Owner(ownership.host_tag(), sleeper.pid, earlier, "t0ken"))


def test_a_killed_process_not_reaped_yet_holds_nothing(sleeper: subprocess.Popen[bytes]) -> None:
    """A SIGKILLed `nexus` whose parent has not waited for it is a zombie: its claim is gone
    (a harness that kills then retries at once was told "another process is creating it")."""
    start = ownership.process_start(sleeper.pid)
    assert start
    sleeper.kill()
    os.waitid(os.P_PID, sleeper.pid, os.WEXITED | os.WNOWAIT)  # dead, still unreaped
    with open(f"/proc/{sleeper.pid}/stat") as fh:
        assert fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    assert ownership.process_start(sleeper.pid) is None
    assert not ownership.alive(owner.Owner(ownership.host_tag(), sleeper.pid, start, "t0ken"))


def test_a_dead_process_or_another_host_holds_nothing() -> None:
    dead = subprocess.Popen(["true"])
    dead.wait()
    assert ownership.process_start(dead.pid) is None
    assert not ownership.alive(owner.Owner(ownership.host_tag(), dead.pid, "x:1", "t0ken"))
    me = ownership.new()
    assert not ownership.alive(owner.Owner("elsewhere", me.pid, me.start, me.token))
