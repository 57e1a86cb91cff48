"""`nexus workflow run package-release` then `nexus loop` walks the whole chain with a real agent."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from tests.conftest import git, run_nexus
from tests.loop.conftest import AGENT, runs
from tests.tasks.conftest import ok, show


def _python_like_project(root: Path) -> None:
    """An ordinary project whose `make test` the agent must make pass."""
    (root / "Makefile").write_text("test:\n\tgrep -qx ok status.txt\n")
    (root / "CHANGELOG.md").write_text("# Changelog\n")
    git(root, "add", "Makefile", "CHANGELOG.md")
    git(root, "commit", "-q", "-m", "project")


@pytest.mark.usefixtures("trusted_release_gates")
def test_package_release_chain(loop_project: Path, agent_log: Path) -> None:
    _python_like_project(loop_project)
    created = ok("workflow", "run", "package-release", "--var", "version=1.2", "--json").json()
    ids = [t["id"] for t in created]
    assert next(t["labels"] for t in created) == [
        "persona:backend",
        "stage:prepare",
        "workflow:package-release",
    ]
    assert created[0]["gates"][0]["command"] == "make test"
    result = run_nexus("loop", "--agent", AGENT, "--json")
    assert result.exit_code == 0, result.stderr
    assert runs(agent_log) == [(i, n) for i in ids for n in (1, 2)]
    assert [show(i)["status"] for i in ids] == ["done", "done", "done"]
    assert "## 1.2" in (loop_project / "CHANGELOG.md").read_text()
    assert git(loop_project, "tag", "--list").split() == ["v1.2"]
    lines = [json.loads(x) for x in result.stdout.splitlines()]
    assert [(x["task"], x["iteration"], x["passed"]) for x in lines] == [
        (i, n, n == 2) for i in ids for n in (1, 2)
    ]


@pytest.mark.usefixtures("trusted_release_gates")
def test_stages_in_a_workspace_run_there_with_the_stage_persona(
    loop_project: Path, agent_log: Path
) -> None:
    _python_like_project(loop_project)
    worktree = loop_project / ".nexus" / "worktrees" / "rel"
    git(loop_project, "worktree", "add", "-q", "-b", "rel", str(worktree))
    created = ok(
        "workflow", "run", "package-release", "--var", "version=2.0", "--workspace", "rel", "--json"
    ).json()
    assert {t["workspace"] for t in created} == {"rel"}
    result = run_nexus("loop", "--agent", AGENT)
    assert result.exit_code == 0, result.stderr
    assert "(persona backend)" in result.stderr and "(persona devops)" in result.stderr
    journal = (agent_log / "runs.txt").read_text().splitlines()
    assert all(line.split()[2:] == ["rel", str(worktree)] for line in journal)
    lock = json.loads((worktree / ".nexus" / "personas.lock").read_text())
    assert list(lock["personas"]) == ["devops"]
    assert not (loop_project / ".nexus" / "personas.lock").exists()
    assert (worktree / "status.txt").read_text() == "ok\n"


def test_without_approval_the_loop_leaves_the_chain_alone(
    loop_project: Path, agent_log: Path
) -> None:
    _python_like_project(loop_project)
    created = run_nexus("workflow", "run", "package-release", "--var", "version=1.2", "--json")
    assert "wait for a person's approval: nexus task gate approve --all" in created.stderr
    first = created.json()[0]["id"]
    result = run_nexus("loop", "--agent", AGENT)
    assert result.exit_code == 0, result.stderr
    assert f"left alone, gates wait for a person's approval: {first}" in result.stderr
    assert runs(agent_log) == [] and show(first)["status"] == "open"


@pytest.mark.usefixtures("trusted_release_gates")
def test_a_workflow_run_by_the_agent_yields_stage_and_gate_metrics(
    loop_project: Path, agent_log: Path
) -> None:
    """The scripted agent fails each stage's gate once and passes it on its second try."""
    _python_like_project(loop_project)
    created = ok("workflow", "run", "package-release", "--var", "version=1.2", "--json").json()
    assert run_nexus("loop", "--agent", AGENT).exit_code == 0
    stats = ok("stats", "--workflows", "--gates", "--tasks", "--json").json()
    stages = {(w["workflow"], w["stage"]): w for w in stats["workflows"]}
    expected_stages = {
        next(x[len("stage:") :] for x in t["labels"] if x.startswith("stage:")) for t in created
    }
    assert {s for _, s in stages} == expected_stages and len(stages) == 3
    for figures in stages.values():
        assert (figures["tasks"], figures["done"]) == (1, 1)
        assert figures["iterations_per_task"] == 2 and figures["first_try_pass_rate"] == 0.0
        assert figures["claim_to_done_p50_ms"] is not None and figures["claim_to_done_p50_ms"] >= 0
    gates = {g["gate"]: g for g in stats["gates"]}
    make_test = gates["make test"]
    assert make_test["first_try_pass_rate"] == 0.0 and make_test["pass_rate"] == 0.5
    assert stats["tasks"]["by_status"] == {"done": 3}
    assert stats["tasks"]["iterations_per_task"] == 2
    table = ok("stats", "--workflows")
    assert "package-release" in table.stdout and "claim to done p50" in table.stdout
