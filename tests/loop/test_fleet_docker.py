"""`nexus fleet` with real Docker: 4 scripted agents, 6 tasks, a 2-service template; a project
template's container hooks wait for a person's approval in the fleet as in `workspace create`."""

from __future__ import annotations

import json
import os
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from tests.conftest import git, nexus_exe, run_nexus
from tests.loop.test_fleet import AGENT, _merged_once, _worktrees
from tests.tasks.conftest import new_task, ok, show
from tests.workspaces.conftest import approve_template_hooks, remove_project_objects

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


# A project template (repository content) whose hooks write into the worktree, mounted at
# /workspace: the agent commits that file (FLEET_AGENT_ALSO), so main shows what ran, and where.
HOOKED = """\
x-nexus:
  hooks:
    post_create: [{{service: app, command: "echo created-${{NEXUS_WORKSPACE}} >> /workspace/hooked.log"}}]
    post_start: [{{service: app, command: "echo started-${{NEXUS_WORKSPACE}} >> /workspace/hooked.log"}}]
services:
  app:
    image: {image}
    command: [sleep, "3600"]
"""


def test_a_templates_container_hooks_wait_for_approval_then_run(
    loop_project: Path, test_image: str, docker_client: Any
) -> None:
    templates = loop_project / ".nexus" / "templates"
    templates.mkdir(parents=True, exist_ok=True)
    (templates / "hooked.yaml").write_text(HOOKED.format(image=test_image))
    project_id = find_project(loop_project).project_id()
    ids = [new_task(title, "--gate", f"test -f {title}.txt") for title in ("one", "two")]
    names = [f"task-{task_id.removeprefix('nx-')}" for task_id in ids]
    try:
        since = time.time()
        waiting = _fleet_with_hooks("2")  # both workspaces asked for in one batch
        assert waiting.returncode == 1, waiting.stderr  # its tasks stopped, the fleet ended
        for task_id, name in zip(ids, names, strict=True):
            assert (
                f"{task_id}: workspace {name} not created: the project's template 'hooked': its "
                "post_create hook `echo created-${NEXUS_WORKSPACE} >> /workspace/hooked.log` "
                "in app waits for a person's approval (1 more too)"
            ) in waiting.stderr
            task = show(task_id)
            assert task["status"] == "open" and task["workspace"] is None  # not lost, unclaimed
            events = [h.get("event") for h in task["history"]]
            assert "workspace_failed" in events and "agent_started" not in events
            _nothing_of(loop_project, project_id, name, docker_client)
        hint = "hint: a person must approve it: nexus workspace hooks --approve --template hooked"
        assert waiting.stderr.count(hint) == 1, waiting.stderr  # once, not once per task
        # Nor was anything made and undone: the engine saw no object of the project at all.
        label = {"label": [f"dev.nexus.project={project_id}"]}
        seen = docker_client.events(since=since, until=time.time(), filters=label, decode=True)
        assert [(e["Type"], e["Action"]) for e in seen] == []

        approve_template_hooks(loop_project, "hooked")  # as `workspace hooks --approve` does
        ok("task", "cancel", ids[1], "--reason", "one task shows the hooks run")
        approved = _fleet_with_hooks("1")
        assert approved.returncode == 0, approved.stderr
        assert f"{ids[0]}: merged into main" in approved.stderr
        assert show(ids[0])["status"] == "done" and _merged_once(ids[0])
        # Each hook ran once, in this task's workspace, before its agent committed the log.
        ran = git(loop_project, "show", "main:hooked.log")
        assert ran == f"created-{names[0]}\nstarted-{names[0]}\n"
        _nothing_of(loop_project, project_id, names[0], docker_client)  # merged: deleted
    finally:
        remove_project_objects(docker_client, project_id)


def _fleet_with_hooks(agents: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [*nexus_exe(), "fleet", "run", "-n", agents, "--template", "hooked", "--agent", AGENT],
        capture_output=True,
        text=True,
        timeout=600,
        env={**os.environ, "FLEET_AGENT_ALSO": "hooked.log"},
    )


def _nothing_of(root: Path, project_id: str, name: str, docker_client: Any) -> None:
    """No worktree, branch, record or engine object of workspace ``name`` (none of the project)."""
    assert not (root / ".nexus" / "worktrees" / name).exists()
    assert _worktrees(root) == [str(root)]
    assert git(root, "branch", "--list", name) == ""
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
    label = {"label": [f"dev.nexus.project={project_id}"]}
    assert docker_client.containers.list(all=True, filters=label) == []
    assert docker_client.networks.list(filters=label) == []
    assert docker_client.volumes.list(filters=label) == []
