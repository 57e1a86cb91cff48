"""Ghosts and idlers: the fake NVML reports real PIDs — exited, zombie, stopped, paused in a
container, asleep — and nexus says what holds the memory and what can be done."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import uuid
from collections.abc import Callable, Iterator
from typing import Any

import pytest

from nexus_cli.gpu import ghosts
from nexus_cli.gpu.model import GpuProcessReading
from tests.conftest import run_nexus
from tests.gpu.conftest import GIB, FakeNvml, make_gpu, running_process, wait_until


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    proc = running_process([sys.executable, "-c", "import time; time.sleep(120)"])
    yield proc
    proc.kill()
    proc.wait()


@pytest.fixture
def dead_pid() -> int:
    """The PID of a process that has exited and been reaped."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    proc.wait()
    return proc.pid


@pytest.fixture
def zombie() -> Iterator[subprocess.Popen[bytes]]:
    """A child that has exited and that this test process has not reaped yet."""
    proc = subprocess.Popen([sys.executable, "-c", "pass"])
    wait_until(lambda: _state(proc.pid) == "Z")
    yield proc
    proc.wait()


def _state(pid: int) -> str:
    with open(f"/proc/{pid}/stat") as fh:
        return fh.read().rsplit(")", 1)[1].split()[0]


def _reading(pid: int, gib: int = 4) -> GpuProcessReading:
    return GpuProcessReading(pid, "0", gib * GIB, ["compute"])


def test_dead_zombie_and_stopped_pids_are_flagged_with_what_to_do(
    fake_nvml: Callable[..., FakeNvml],
    dead_pid: int,
    zombie: subprocess.Popen[bytes],
    sleeper: subprocess.Popen[bytes],
) -> None:
    os.kill(sleeper.pid, signal.SIGSTOP)
    wait_until(lambda: _state(sleeper.pid) == "T")
    session = fake_nvml(
        [make_gpu("0")],
        {"0": [_reading(dead_pid), _reading(zombie.pid), _reading(sleeper.pid), _reading(1)]},
        {"0": {1: 80}},
    )
    found = {g.pid: g for g in ghosts.find(session, ghosts.IdleTracker(60))}
    assert set(found) == {dead_pid, zombie.pid, sleeper.pid}  # PID 1 is busy: not a ghost
    assert found[dead_pid].kind == "gone" and "fuser -v /dev/nvidia*" in found[dead_pid].action
    z = found[zombie.pid]
    assert z.kind == "zombie" and z.parent_pid == os.getpid()
    assert f"nexus gpu stop {os.getpid()}" in z.action and z.used_memory == 4 * GIB
    assert found[sleeper.pid].kind == "stopped" and "--action resume" in found[sleeper.pid].action
    assert _state(sleeper.pid) == "T"  # still stopped: nexus never acts on its own
    os.kill(sleeper.pid, signal.SIGCONT)


def test_idle_is_learnt_across_readings(
    fake_nvml: Callable[..., FakeNvml], sleeper: subprocess.Popen[bytes]
) -> None:
    session = fake_nvml([make_gpu("0")], {"0": [_reading(sleeper.pid)]}, {"0": {sleeper.pid: 0}})
    tracker = ghosts.IdleTracker(600)
    t0 = 1_000_000.0
    assert ghosts.find(session, tracker, now=t0) == []  # one reading says nothing yet
    assert ghosts.find(session, tracker, now=t0 + 599) == []
    (idle,) = ghosts.find(session, tracker, now=t0 + 601)
    assert idle.kind == "idle" and idle.idle_s == 601 and "nexus gpu impact" in idle.action
    session.sm_util["0"][sleeper.pid] = 35  # busy again: the idle time starts over
    assert ghosts.find(session, tracker, now=t0 + 602) == []
    session.sm_util["0"][sleeper.pid] = 0
    assert ghosts.find(session, tracker, now=t0 + 603) == []
    # Unobserved for longer than the threshold: nothing is known about that gap.
    assert ghosts.find(session, tracker, now=t0 + 1300) == []
    assert ghosts.find(session, tracker, now=t0 + 1800) == []
    assert ghosts.find(session, tracker, now=t0 + 1901)[0].idle_s == 601


def test_ghosts_command_json_plain_and_remembered_idleness(
    fake_nvml: Callable[..., FakeNvml],
    dead_pid: int,
    zombie: subprocess.Popen[bytes],
    sleeper: subprocess.Popen[bytes],
) -> None:
    fake_nvml(
        [make_gpu("0", utilization_pct=0)],
        {"0": [_reading(dead_pid), _reading(zombie.pid, 6), _reading(sleeper.pid)]},
    )
    data = run_nexus("gpu", "ghosts", "--json", "--idle-after", "0.2s").json()
    assert {(g["pid"], g["kind"]) for g in data["ghosts"]} == {
        (dead_pid, "gone"),
        (zombie.pid, "zombie"),
    }
    # The sleeper sits at 0% on an idle device: a later reading remembers the first one.
    wait_until(
        lambda: any(
            g["kind"] == "idle"
            for g in run_nexus("gpu", "ghosts", "--json", "--idle-after", "0.2s").json()["ghosts"]
        )
    )
    text = run_nexus("gpu", "ghosts", "--idle-after", "0.2s").stdout
    assert f"GPU 0  PID {zombie.pid}  zombie  6.0 GiB" in text
    assert f"  parent PID {os.getpid()}: " in text and "  -> it has exited" in text
    assert f"PID {sleeper.pid}  idle " in text
    assert all(len(line) <= 80 for line in text.splitlines())


def test_status_and_monitor_flag_them(
    fake_nvml: Callable[..., FakeNvml], dead_pid: int, zombie: subprocess.Popen[bytes]
) -> None:
    fake_nvml([make_gpu("0")], {"0": [_reading(dead_pid), _reading(zombie.pid)]})
    data = run_nexus("gpu", "status", "--json").json()
    assert sorted(g["kind"] for g in data["ghosts"]) == ["gone", "zombie"]
    table = run_nexus("gpu", "status").stdout
    assert f"{zombie.pid} (zombie)" in table and "see `nexus gpu ghosts`" in table
    assert "[zombie]" in run_nexus("gpu", "monitor", "--once").stdout
    frame = json.loads(run_nexus("gpu", "monitor", "--once", "--json").stdout)
    assert {p["pid"]: p["flag"] for p in frame["processes"]} == {
        dead_pid: "gone",
        zombie.pid: "zombie",
    }


def test_no_ghosts_says_so(fake_nvml: Callable[..., FakeNvml]) -> None:
    fake_nvml([make_gpu("0")], {"0": [_reading(os.getpid())]}, {"0": {os.getpid(): 50}})
    assert run_nexus("gpu", "ghosts").stdout.startswith("no ghosts or idlers")
    assert run_nexus("gpu", "status", "--json").json()["ghosts"] == []


@pytest.mark.docker
def test_a_paused_container_is_flagged(
    docker_client: Any, test_image: str, fake_nvml: Callable[..., FakeNvml]
) -> None:
    container = docker_client.containers.run(
        test_image,
        ["sleep", "600"],
        name=f"nexus-gputest-{uuid.uuid4().hex[:10]}",
        labels={"nexus.test": "gpu"},
        detach=True,
    )
    try:
        container.reload()
        pid = int(container.attrs["State"]["Pid"])
        container.pause()
        session = fake_nvml([make_gpu("0")], {"0": [_reading(pid)]}, {"0": {pid: 0}})
        (found,) = ghosts.find(session, ghosts.IdleTracker(60))
        assert found.kind == "paused-container" and found.container_id == container.id[:12]
        assert f"docker unpause {container.id[:12]}" in found.action
    finally:
        container.remove(force=True)
