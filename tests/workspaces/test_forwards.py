"""The record of a remote engine's port forwards: live ones recognised, stale ones found."""

from __future__ import annotations

import socket
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

from nexus_cli import engine
from nexus_cli.project import find_project
from nexus_cli.workspaces import forwards
from nexus_cli.workspaces.handle import Workspace
from tests.conftest import run_nexus


def _forward(pid: int, workspace: str = "far") -> forwards.Forward:
    return forwards.Forward("p1", workspace, "web", 8080, 41000, 32768, pid, "ssh://box")


@pytest.fixture
def sleeper() -> Iterator[subprocess.Popen[bytes]]:
    """A live process that is not a forward (what a reused pid looks like)."""
    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(60)"])
    yield child
    child.kill()
    child.wait()


def _record(*items: forwards.Forward) -> None:
    with forwards._editing() as recorded:
        recorded[:] = list(items)


def test_a_forward_whose_process_is_gone_or_another_program_is_stale(
    isolated_home: Path, sleeper: subprocess.Popen[bytes]
) -> None:
    gone = subprocess.Popen([sys.executable, "-c", "pass"])
    gone.wait()
    _record(_forward(gone.pid, "a"), _forward(sleeper.pid, "b"))
    live, stale = forwards.check()
    assert live == [] and {f.workspace for f in stale} == {"a", "b"}
    assert {f.workspace for f in forwards.forget_stale()} == {"a", "b"}
    assert forwards.load() == []


def test_stop_ends_only_the_workspaces_own_forwards(isolated_home: Path) -> None:
    argv = ["-N", "-L", "127.0.0.1:41000:127.0.0.1:32768"]  # looks like a forward's ssh
    child = subprocess.Popen(
        [sys.executable, "-c", "import time; time.sleep(60)", *argv], start_new_session=True
    )
    try:
        ours, other = _forward(child.pid), _forward(child.pid + 10_000_000, "other")
        _record(ours, other)
        assert ours.alive()
        assert forwards.stop("p1", "far") == 1
        child.wait(timeout=10)
        assert forwards.load() == [other]
    finally:
        child.kill()
        child.wait()


def test_a_corrupt_record_is_one_clear_error(isolated_home: Path) -> None:
    forwards._home()
    (forwards._home() / forwards.FORWARDS_FILE).write_text('[{"pid": "x"}]')
    result = run_nexus("doctor", "--json")
    check = next(c for c in result.json()["checks"] if c["name"] == "forwards")
    assert check["status"] == "warn" and "malformed" in check["detail"]


def test_repair_forgets_the_stale_forwards_of_the_project(project: Path) -> None:
    workspace_id = Workspace(find_project(project), "gone").project_id
    ended = subprocess.Popen([sys.executable, "-c", "pass"])
    ended.wait()
    stale = forwards.Forward(workspace_id, "gone", "web", 80, 41000, 32768, ended.pid, "ssh://b")
    _record(stale)
    result = run_nexus("workspace", "repair", "--json")
    assert result.exit_code == 0, result.stderr
    assert {
        "name": "gone",
        "actions": ["forgot the stale port forward 127.0.0.1:41000 (ssh gone)"],
    } in result.json()
    assert forwards.load() == []


def test_a_local_port_taken_since_allocation_is_a_port_conflict(isolated_home: Path) -> None:
    with socket.socket() as holder:
        holder.bind(("127.0.0.1", 0))
        holder.listen()
        taken = holder.getsockname()[1]
        with pytest.raises(forwards.LocalPortTakenError) as caught:
            forwards._start(engine.Endpoint("ssh://nowhere", "test"), taken, 32768)
    assert caught.value.port == taken and caught.value.category == "port_conflict"
