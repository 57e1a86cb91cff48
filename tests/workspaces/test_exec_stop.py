"""nexus_cli.workspaces.exec_stop: which processes an interrupted exec's end may signal.

The end itself (TERM, then KILL, of a command and its children in the container) runs through
`nexus workspace exec` on the real engine in tests/workspaces/test_container_io.py.
"""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from nexus_cli import engine
from nexus_cli.workspaces import exec_stop
from tests.conftest import run_nexus


def test_a_pid_that_is_not_the_containers_is_never_signalled() -> None:
    """A pid the engine reports means this machine's process only when that process belongs to
    the container (an engine in a virtual machine numbers its own processes): ours does not."""
    assert exec_stop._inner_pids("0" * 64, os.getpid()) == []
    assert exec_stop._inner_pids("0" * 64, 0) == []
    assert exec_stop._inner_pids("0" * 64, 2**22 + 1) == []  # no such process


def test_a_process_is_named_by_its_pid_inside_its_namespace() -> None:
    assert exec_stop._nspid(os.getpid()) == os.getpid()  # this process: no nested namespace
    assert exec_stop._nspid(2**22 + 1) is None


@pytest.mark.docker
def test_a_containers_main_process_is_pid_1_inside(ws_project: Path) -> None:
    result = run_nexus("workspace", "create", "stop", "--template", "duo")
    assert result.exit_code == 0, result.stderr
    client = engine.connect()
    project_id = (ws_project / ".nexus" / "state" / "project-id").read_text().strip()
    labels = [f"dev.nexus.project={project_id}", "dev.nexus.workspace=stop", "dev.nexus.service=db"]
    [container] = client.containers.list(filters={"label": labels})
    main = container.attrs["State"]["Pid"]
    assert exec_stop._inner_pids(container.id, main)[0] == 1
    assert exec_stop.end(client, container, "no-such-exec") is None  # unknown: nothing to end
