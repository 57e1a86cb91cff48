"""`nexus fleet` with real Docker: 4 scripted agents, 6 tasks, a 2-service template."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from tests.conftest import git, nexus_exe
from tests.loop.test_fleet import AGENT, _merged_once, _worktrees
from tests.tasks.conftest import new_task, show
from tests.workspaces.conftest import remove_project_objects

pytestmark = pytest.mark.docker

TEMPLATE = """\
x-nexus:
  description: fleet test template (busybox)
services:
  db:
    image: {image}
    command: ["sh", "-c", "touch /tmp/ready; exec sleep 3600"]
    healthcheck:
      test: "test -f /tmp/ready"
      interval: 100ms
      timeout: 2s
      retries: 50
  web:
    image: {image}
    command: ["httpd", "-f", "-p", "8080", "-h", "/"]
    ports: ["8080"]
    depends_on: [db]
"""


def test_four_agents_six_tasks_two_services_each(
    loop_project: Path,
    test_image: str,
    docker_client: Any,
) -> None:
    templates = loop_project / ".nexus" / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "fleetduo.yaml").write_text(TEMPLATE.format(image=test_image))
    project_id = find_project(loop_project).project_id()
    names = ["one", "two", "three", "four", "five", "six"]
    ids = {n: new_task(n, "--gate", f"test -f {n}.txt") for n in names}
    # Two tasks depend on others: they start only once those are merged.
    subprocess.run([*nexus_exe(), "task", "dep", "add", ids["five"], ids["two"]], check=True)
    subprocess.run([*nexus_exe(), "task", "dep", "add", ids["six"], ids["one"]], check=True)

    try:
        _run_and_check(loop_project, project_id, ids, docker_client)
    finally:
        remove_project_objects(docker_client, project_id)


def _run_and_check(
    loop_project: Path, project_id: str, ids: dict[str, str], docker_client: Any
) -> None:
    done = subprocess.run(
        [
            *nexus_exe(),
            "fleet",
            "run",
            "--agents",
            "4",
            "--template",
            "fleetduo",
            "--agent",
            AGENT,
            "--json",
        ],
        capture_output=True,
        text=True,
        timeout=900,
    )

    assert done.returncode == 0, done.stderr
    assert sorted(json.loads(done.stdout)["merged"]) == sorted(ids.values())
    files = set(git(loop_project, "ls-tree", "--name-only", "main").split())
    held: list[tuple[str, str, str]] = []  # (address, from, until) of each workspace
    for name, task_id in ids.items():
        task = show(task_id)
        assert task["status"] == "done" and _merged_once(task_id)
        [merged] = [h for h in task["history"] if h["action"] == "merge_queue"]
        assert merged["gates"] and all(g["passed"] for g in merged["gates"])
        assert f"{name}.txt" in files
        env = json.loads(git(loop_project, "show", f"main:{name}.env.json"))
        assert env["NEXUS_SERVICE_WEB_ADDR"].startswith("127.0.0.1:")
        started = next(h["at"] for h in task["history"] if h.get("event") == "agent_started")
        held.append((env["NEXUS_SERVICE_WEB_ADDR"], started, merged["at"]))
    # No two workspaces that lived at the same time shared a port (a port is reused only once
    # the workspace that had it was deleted).
    for i, (address, start, end) in enumerate(held):
        for other, other_start, other_end in held[i + 1 :]:
            if start < other_end and other_start < end:
                assert address != other
    overlapping = max(sum(1 for _, s, e in held if s <= start < e) for _, start, _ in held)
    assert overlapping == 4  # the first four start before any is merged
    assert _worktrees(loop_project) == [str(loop_project)]
    label = {"label": [f"dev.nexus.project={project_id}"]}
    assert docker_client.containers.list(all=True, filters=label) == []  # nothing left running
