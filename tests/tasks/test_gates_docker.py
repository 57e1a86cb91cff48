"""Gates with `--in SERVICE` run inside the workspace's container, found by its labels."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from tests.conftest import run_nexus
from tests.tasks.conftest import new_task, ok, show


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
