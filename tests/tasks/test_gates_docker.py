"""Gates with `--in SERVICE` run inside the workspace's container, found by its labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from nexus_cli.tasks.gates import _exec_with_timeout, run_gate, run_in_container
from nexus_cli.tasks.model import Gate, Task
from tests.conftest import run_nexus
from tests.tasks.conftest import gate_fields, new_task, ok, show


@pytest.fixture
def service_container(tasks_project: Path, test_image: str, docker_client: Any) -> Iterator[str]:
    project_id = find_project().project_id()
    container = docker_client.containers.run(
        test_image,
        ["sleep", "300"],
        detach=True,
        name=f"nexus-{project_id}-gatews-app",
        labels={
            "dev.nexus.project": project_id,
            "dev.nexus.workspace": "gatews",
            "dev.nexus.service": "app",
            "dev.nexus.managed": "true",
        },
    )
    try:
        yield "gatews"
    finally:
        container.remove(force=True)


@pytest.mark.docker
def test_gate_runs_inside_the_service_container(service_container: str) -> None:
    ws = service_container
    passing = new_task(
        "In container", "--workspace", ws, "--in", "app", "--gate", "test -x /bin/busybox"
    )
    ok("task", "start", passing)
    ok("task", "complete", passing)
    assert show(passing)["status"] == "done"
    failing = new_task(
        "Fails inside", "--workspace", ws, "--in", "app", "--gate", "echo inside; exit 5"
    )
    ok("task", "start", failing)
    result = run_nexus("task", "complete", failing)
    assert result.exit_code == 3
    assert "exit 5" in result.stderr and "inside" in result.stderr


@pytest.mark.docker
def test_missing_container_counts_as_failed(tasks_project: Path) -> None:
    task_id = new_task("No container", "--workspace", "nows", "--in", "app", "--gate", "true")
    ok("task", "start", task_id)
    result = run_nexus("task", "complete", task_id)
    assert result.exit_code == 3
    assert "no running container" in result.stderr
    assert show(task_id)["status"] == "in_progress"


@pytest.mark.docker
def test_run_in_container_reports_every_field(service_container: str) -> None:
    project, task = find_project(), Task("nx-dock", "t", workspace=service_container)
    gate = Gate("sleep 0.3; echo out; printf 'bad\\377\\n'", timeout_s=30, service="app")
    result = run_gate(project, task, gate)
    assert result.gate is gate
    data = gate_fields(result)
    assert 300 <= int(str(data.pop("duration_ms"))) < 20_000
    assert data == {
        "passed": True,
        "exit_code": 0,
        "timed_out": False,
        "started": True,
        "where": "container app of workspace gatews",
        "output_tail": "out\nbad\ufffd",
    }
    failing = run_in_container(project, task, Gate("echo no; exit 5", service="app"))
    assert (failing.passed, failing.exit_code, failing.output_tail) == (False, 5, "no")
    quiet = run_in_container(project, task, Gate("true", service="app"))
    assert (quiet.passed, quiet.output_tail) == (True, "")


@pytest.mark.docker
def test_a_container_gate_times_out(service_container: str) -> None:
    task = Task("nx-dock", "t", workspace=service_container)
    result = run_in_container(find_project(), task, Gate("sleep 5", timeout_s=1, service="app"))
    data = gate_fields(result)
    assert 900 <= int(str(data.pop("duration_ms"))) < 4_000
    assert data == {
        "passed": False,
        "exit_code": -1,
        "timed_out": True,
        "started": True,
        "where": "container app of workspace gatews",
        "output_tail": "[nexus] gate timed out after 1s",
    }


@pytest.mark.docker
def test_only_a_running_container_of_this_project_is_used(
    service_container: str, test_image: str, docker_client: Any
) -> None:
    project = find_project()
    container = docker_client.containers.get(f"nexus-{project.project_id()}-gatews-app")
    container.kill()
    container.wait(timeout=30)
    decoy = docker_client.containers.run(
        test_image,
        ["sleep", "300"],
        detach=True,
        name=f"nexus-{project.project_id()}-decoy",
        labels={"dev.nexus.project": "other", "dev.nexus.workspace": "gatews"},
    )
    try:
        gate = Gate("true", service="app")
        result = run_in_container(project, Task("nx-dock", "t", workspace=service_container), gate)
        assert gate_fields(result) == {
            "passed": False,
            "exit_code": -1,
            "duration_ms": 0,
            "timed_out": False,
            "started": False,
            "where": "container app of workspace gatews",
            "output_tail": "cannot start gate: no running container for container app of "
            "workspace gatews",
        }
        stopped = _exec_with_timeout(container, gate, "here")
        assert (stopped.started, stopped.where, stopped.gate) == (False, "here", gate)
        assert stopped.output_tail.startswith("cannot start gate: ")
        assert "is not running" in stopped.output_tail
    finally:
        decoy.remove(force=True)


@pytest.mark.docker
def test_a_container_gate_receipt_names_the_image(
    service_container: str, tasks_project: Path, docker_client: Any, test_image: str
) -> None:
    from tests.tasks.conftest import gate_receipts

    task_id = new_task("Receipt", "--workspace", service_container, "--in", "app", "--gate", "true")
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    [receipt] = gate_receipts(tasks_project, task_id)
    image = docker_client.images.get(test_image)
    assert receipt["where"]["service"] == "app"
    assert receipt["where"]["image"] == {
        "id": image.id,
        "digests": sorted(image.attrs.get("RepoDigests") or []),
    }
