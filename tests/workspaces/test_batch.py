"""Several workspaces created at once in one process (`workspace create A B C`, the fleet's start),
on the real Docker engine and git: all made with distinct ports, a failing one undone while the
others are made, and Ctrl-C/SIGTERM during the batch leaves each workspace whole or gone."""

from __future__ import annotations

import signal
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from nexus_cli.tasks import workspace_hooks
from nexus_cli.workspaces import batch
from tests.conftest import git, nexus_exe, run_nexus

pytestmark = pytest.mark.docker

STUCK = (
    "services:\n  app:\n    image: {image}\n    command: ['sleep', '3600']\n"
    "    volumes: ['data:/data']\n"
    "    healthcheck: {{test: 'false', interval: 1s, retries: 1000}}\n"
)


def _labelled(client: Any, project_id: str) -> dict[str, list[str]]:
    label = {"label": [f"dev.nexus.project={project_id}"]}
    return {
        # sparse: no inspect of each (one an undo removes meanwhile would be a 404 here)
        "containers": sorted(
            c.attrs["Names"][0].lstrip("/")
            for c in client.containers.list(all=True, filters=label, sparse=True)
        ),
        "networks": sorted(n.name for n in client.networks.list(filters=label)),
        "volumes": sorted(v.name for v in client.volumes.list(filters=label)),
    }


def test_four_at_once_are_all_made_with_distinct_ports(
    ws_project: Path, docker_client: Any
) -> None:
    names = ["b1", "b2", "b3", "b4"]
    done = run_nexus("workspace", "create", *names, "-t", "duo", "--json")
    assert done.exit_code == 0, done.stderr
    out = done.json()
    assert out["failed"] == []
    assert sorted(w["name"] for w in out["created"]) == names
    host_ports = [p["host_port"] for w in out["created"] for p in w["ports"]]
    assert len(host_ports) == 4 and len(set(host_ports)) == 4, host_ports
    listed = run_nexus("workspace", "list", "--json").json()["workspaces"]
    assert sorted(w["name"] for w in listed) == names
    project_id = find_project(ws_project).project_id()
    objects = _labelled(docker_client, project_id)
    assert len(objects["containers"]) == 8 and len(objects["networks"]) == 4
    # only this project's containers, sparse: another test's container removed meanwhile is a 404
    ours_running = {"label": [f"dev.nexus.project={project_id}"], "status": "running"}
    listed_running = docker_client.containers.list(filters=ours_running, sparse=True)
    running = {c.attrs["Names"][0].lstrip("/") for c in listed_running}
    assert set(objects["containers"]) <= running
    for name in names:  # each on its own branch, in its own worktree
        assert (ws_project / ".nexus" / "worktrees" / name / ".git").is_file()
        assert git(ws_project, "branch", "--list", name) != ""


def test_one_that_fails_is_undone_and_the_others_are_made(
    ws_project: Path, docker_client: Any
) -> None:
    first = run_nexus("workspace", "create", "taken", "--no-start", "-t", "duo")
    assert first.exit_code == 0, first.stderr
    done = run_nexus("workspace", "create", "c1", "taken", "c2", "-t", "duo", "--json")
    assert done.exit_code == 1
    out = done.json()
    assert sorted(w["name"] for w in out["created"]) == ["c1", "c2"]
    assert [(f["name"], f["category"]) for f in out["failed"]] == [("taken", "conflict")]
    project_id = find_project(ws_project).project_id()
    label = {"label": [f"dev.nexus.project={project_id}"]}
    containers = docker_client.containers.list(all=True, filters=label)
    started = sorted({c.labels["dev.nexus.workspace"] for c in containers})
    assert started == ["c1", "c2"]  # the existing "taken" was never started nor touched
    assert (ws_project / ".nexus" / "worktrees" / "taken" / ".git").is_file()


def test_a_name_given_twice_starts_nothing(ws_project: Path, docker_client: Any) -> None:
    done = run_nexus("workspace", "create", "d1", "d2", "d1", "-t", "duo")
    assert done.exit_code == 2
    assert "named twice" in done.stderr
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
    assert _labelled(docker_client, find_project(ws_project).project_id())["containers"] == []


def test_create_many_reports_each_as_it_ends(ws_project: Path) -> None:
    project = find_project(ws_project)
    seen: list[str] = []
    requests = [batch.Request("e1", "duo"), batch.Request("e2", "duo", from_ref="HEAD")]
    result = batch.create_many(
        project,
        requests,
        on_done=lambda o: seen.append(o.name),
        container_hooks=workspace_hooks.container_hooks(project),  # duo's: approved
    )
    assert sorted(seen) == ["e1", "e2"]
    assert [r.name for r in result.created] == ["e1", "e2"]  # in the order requested
    assert result.failed == []


def test_a_caller_that_gives_no_hook_check_runs_no_repository_hook(
    ws_project: Path, docker_client: Any
) -> None:
    """The domain functions' default check approves nothing of a repository's: a front end that
    forgot to pass :func:`workspace_hooks.container_hooks` gets a refusal, not a hook that ran
    (duo's hooks are approved, but only that check reads the approvals)."""
    project = find_project(ws_project)
    result = batch.create_many(project, [batch.Request("d1", "duo")])
    assert [o.error.category for o in result.failed if o.error] == ["needs_approval"]
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
    assert _labelled(docker_client, project.project_id())["containers"] == []


@pytest.mark.parametrize(
    ("sig", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143)], ids=["SIGINT", "SIGTERM"]
)
def test_a_signal_during_the_batch_leaves_each_workspace_whole_or_gone(
    ws_project: Path, test_image: str, docker_client: Any, sig: int, code: int
) -> None:
    (ws_project / ".nexus" / "templates" / "slow.yaml").write_text(STUCK.format(image=test_image))
    names = ["s1", "s2", "s3"]
    project_id = find_project(ws_project).project_id()
    proc = subprocess.Popen(
        [*nexus_exe(), "workspace", "create", *names, "-t", "slow", "--health-timeout", "120"],
        cwd=ws_project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        deadline = time.monotonic() + 90
        while len(_labelled(docker_client, project_id)["containers"]) < len(names):
            assert time.monotonic() < deadline, "the creates never reached their containers"
            assert proc.poll() is None, proc.communicate()
            time.sleep(0.05)
        proc.send_signal(sig)
        _, err = proc.communicate(timeout=60)  # far less than the health timeout: cancelled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    assert proc.returncode == code, err
    assert "Traceback" not in err
    # None could become healthy: every one was undone, nothing is left of any.
    assert _labelled(docker_client, project_id) == {"containers": [], "networks": [], "volumes": []}
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []
    for name in names:
        assert not (ws_project / ".nexus" / "worktrees" / name).exists()
        assert git(ws_project, "branch", "--list", name) == ""
