"""``nexus workspace finish``: gates, merge and clean-up in one step, or nothing at all."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from tests.conftest import git, run_nexus
from tests.tasks.conftest import ok
from tests.workspaces.conftest import (
    cleanup_docker,  # noqa: F401 (a fixture)
    write_test_template,
)


def commit_in(tree: Path, name: str, text: str) -> None:
    (tree / name).write_text(text)
    git(tree, "add", name)
    git(tree, "commit", "-qm", f"add {name}")


def tree_of(project: Path, name: str) -> Path:
    return project / ".nexus" / "worktrees" / name


def task_in(workspace: str, gate: str) -> str:
    created = ok(
        "task", "create", f"work in {workspace}", "--gate", gate, "--workspace", workspace, "--json"
    )
    return str(created.json()["id"])


def test_finish_runs_the_gates_merges_and_removes_everything(project: Path) -> None:
    ok("workspace", "create", "feat")
    commit_in(tree_of(project, "feat"), "feature.txt", "done\n")
    task_id = task_in("feat", "test -f feature.txt")
    result = run_nexus("workspace", "finish", "feat", "--json")
    assert result.exit_code == 0, result.stderr
    out = result.json()
    assert out["verified"] == [{"task": task_id, "gates": 1}]
    assert out["merge"]["target"] == "main" and out["merge"]["commits"] == 1
    assert out["deleted"]["branch_deleted"] is True
    assert (project / "feature.txt").read_text() == "done\n"
    assert not tree_of(project, "feat").exists()
    assert git(project, "branch", "--list", "feat") == ""
    assert run_nexus("workspace", "list", "--json").json()["workspaces"] == []


def test_a_failing_gate_stops_before_anything_changes(project: Path) -> None:
    ok("workspace", "create", "feat")
    commit_in(tree_of(project, "feat"), "feature.txt", "half done\n")
    task_in("feat", "grep -q finished feature.txt")
    main_before = git(project, "rev-parse", "main")
    result = run_nexus("workspace", "finish", "feat")
    assert result.exit_code == 3
    first = result.stderr.splitlines()[0]
    assert (
        first.startswith("error: task ") and "gate failed: `grep -q finished feature.txt`" in first
    )
    assert "nothing was merged or deleted" in result.stderr
    assert git(project, "rev-parse", "main") == main_before
    assert tree_of(project, "feat").is_dir()


def test_uncommitted_changes_are_listed_and_nothing_changes(project: Path) -> None:
    ok("workspace", "create", "feat")
    tree = tree_of(project, "feat")
    commit_in(tree, "feature.txt", "v1\n")
    (tree / "feature.txt").write_text("v2, not committed\n")
    (tree / "notes.txt").write_text("new file\n")
    result = run_nexus("workspace", "finish", "feat")
    assert result.exit_code != 0
    assert result.stderr.splitlines()[0] == (
        "error: 'feat' has 2 uncommitted changes: feature.txt, notes.txt"
    )
    assert (tree / "notes.txt").exists() and git(project, "branch", "--list", "feat").strip()


def test_a_conflict_is_reported_and_the_workspace_kept(project: Path) -> None:
    ok("workspace", "create", "feat")
    commit_in(tree_of(project, "feat"), "README.md", "theirs\n")
    commit_in(project, "README.md", "ours\n")
    result = run_nexus("workspace", "finish", "feat", "--rebase")
    assert result.exit_code != 0
    assert "conflicts in README.md" in result.stderr.splitlines()[0]
    assert tree_of(project, "feat").is_dir()
    assert (project / "README.md").read_text() == "ours\n"


@pytest.mark.docker
def test_finish_leaves_no_docker_object_and_can_keep_volumes(
    project: Path,
    test_image: str,
    docker_client: Any,
    cleanup_docker: list[str],  # noqa: F811
) -> None:
    ws_project = project
    write_test_template(ws_project, test_image)
    pid = find_project(ws_project).project_id()
    cleanup_docker.append(pid)
    label = {"label": [f"dev.nexus.project={pid}"]}
    for name, keep in (("fin1", False), ("fin2", True)):
        ok("workspace", "create", name, "-t", "duo")
        commit_in(tree_of(ws_project, name), f"{name}.txt", "x\n")
        args = ["--keep-volumes"] if keep else []
        ok("workspace", "finish", name, *args)
        objects = {
            "containers": docker_client.containers.list(all=True, filters=label),
            "networks": docker_client.networks.list(filters=label),
        }
        assert objects == {"containers": [], "networks": []}
        volumes = [v.name for v in docker_client.volumes.list(filters=label)]
        assert (f"nexus-{pid}-{name}-data" in volumes) is keep
        assert (ws_project / f"{name}.txt").exists()
    assert run_nexus("workspace", "ports", "fin1").exit_code != 0
