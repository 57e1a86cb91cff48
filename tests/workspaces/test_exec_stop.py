"""nexus_cli.workspaces.exec_stop: which processes an interrupted exec's end may signal.

The end itself (TERM, then KILL, of a command and its children in the container) runs through
`nexus workspace exec` on the real engine in tests/workspaces/test_container_io.py.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any

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


@pytest.mark.docker
def test_only_the_execs_of_the_command_that_were_not_there_before_are_ended(
    ws_project: Path,
) -> None:
    """What the docker CLI made for a terminal `exec` is found by its command among the execs
    that are new: another command's exec, and one that ran before, are left alone."""
    result = run_nexus("workspace", "create", "started", "--template", "duo")
    assert result.exit_code == 0, result.stderr
    client = engine.connect()
    project_id = (ws_project / ".nexus" / "state" / "project-id").read_text().strip()
    labels = [f"dev.nexus.project={project_id}", "dev.nexus.workspace=started"]
    container = client.containers.list(filters={"label": [*labels, "dev.nexus.service=db"]})[0]

    def started(*argv: str) -> str:
        exec_id: str = client.api.exec_create(container.id, list(argv))["Id"]
        client.api.exec_start(exec_id, detach=True)
        return exec_id

    earlier = started("sleep", "3041")
    before = exec_stop.exec_ids(client, container)
    other, ours = started("sleep", "3042"), started("sleep", "3043")
    try:
        assert exec_stop.end_started(client, container, before, ["sleep", "3043"]) is None
        assert not client.api.exec_inspect(ours)["Running"]
        assert client.api.exec_inspect(other)["Running"]
        assert client.api.exec_inspect(earlier)["Running"]
    finally:
        for exec_id in (earlier, other):
            exec_stop.end(client, container, exec_id)


@pytest.mark.docker
def test_an_image_without_kill_gets_a_warning_not_a_silent_pass(
    test_image: str, docker_client: Any, tmp_path: Path
) -> None:
    """Where `kill` cannot run in the container, the caller is told the command may still run
    (not told nothing, after waiting for a signal that was never sent)."""
    (tmp_path / "Dockerfile").write_text(
        f'FROM {test_image}\nRUN ["/bin/busybox", "rm", "/bin/kill"]\n'
    )
    tag = f"nexus-test-no-kill:{os.getpid()}"
    docker_client.images.build(path=str(tmp_path), tag=tag, rm=True)
    container = docker_client.containers.run(tag, ["sleep", "600"], detach=True, init=True)
    try:
        exec_id = docker_client.api.exec_create(container.id, ["sleep", "3051"])["Id"]
        docker_client.api.exec_start(exec_id, detach=True)
        problem = exec_stop.end(docker_client, container, exec_id, grace_s=0.5)
        assert problem is not None and "`kill` could not run in the container" in problem
        assert docker_client.api.exec_inspect(exec_id)["Running"]
    finally:
        container.remove(force=True)
        docker_client.images.remove(tag, force=True)
