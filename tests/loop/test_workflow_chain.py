"""`nexus workflow run package-release` then `nexus loop` walks the whole chain with a real agent."""

from __future__ import annotations

import json
import re
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
    """Two runs of package-release; the scripted agent fails each stage's gates once and passes
    them on its second try. `stats` shows the stages, gates and runs, `insights` the gate that
    fails first time with its failing line."""
    _python_like_project(loop_project)
    created = []
    for version in ("1.2", "1.3"):
        created += ok(
            "workflow", "run", "package-release", "--var", f"version={version}", "--json"
        ).json()
        assert run_nexus("loop", "--agent", AGENT).exit_code == 0
    stats = ok("stats", "--workflows", "--gates", "--tasks", "--json").json()
    stages = {(w["workflow"], w["stage"]): w for w in stats["workflows"]}
    expected_stages = {
        next(x[len("stage:") :] for x in t["labels"] if x.startswith("stage:")) for t in created
    }
    assert {s for _, s in stages} == expected_stages and len(stages) == 3
    for figures in stages.values():
        assert (figures["tasks"], figures["done"]) == (2, 2)
        assert figures["iterations_per_task"] == 2 and figures["first_try_pass_rate"] == 0.0
        assert figures["claim_to_done_p50_ms"] is not None and figures["claim_to_done_p50_ms"] >= 0
    gates = {g["gate"]: g for g in stats["gates"]}
    make_test = gates["make test"]
    assert make_test["first_try_pass_rate"] == 0.0 and make_test["pass_rate"] == 0.5
    assert make_test["first_try_runs"] == 6
    assert stats["tasks"]["by_status"] == {"done": 6}
    assert stats["tasks"]["iterations_per_task"] == 2
    (run,) = stats["workflow_runs"]  # two runs of one workflow, each a chain of three stages
    assert (run["workflow"], run["runs"], run["completed"]) == ("package-release", 2, 2)
    assert run["incident"] is False and run["resolution_p50_ms"] is None
    claims = [stages[("package-release", s)]["claim_to_done_p50_ms"] for s in expected_stages]
    assert (
        run["duration_p50_ms"] >= max(claims) and run["duration_p95_ms"] >= run["duration_p50_ms"]
    )
    table = ok("stats", "--workflows")
    assert "package-release" in table.stdout and "claim to done p50" in table.stdout
    assert "duration p50" in table.stdout
    found = {p["key"]: p for p in ok("insights", "--json").json()["insights"]}
    first_try = found["gate_first_try:make test"]
    assert first_try["group"] == "errors" and first_try["frequency"] == 6
    assert "`make test` fails its first run in 100% of tasks (6 of 6)" in first_try["description"]
    # the line make printed when the gate failed, read from the history's output tails (make says
    # `make[1]` when the suite itself runs under make, as `make test` does)
    usual = r"the failing line is usually `make(\[\d+\])?: \*\*\* \[Makefile:2: test\] Error 1`"
    assert re.search(usual, first_try["description"]), first_try["description"]
    assert "gate_first_try:grep -qF -- 1.2 CHANGELOG.md" not in found  # one first try: too few
    assert not [k for k in found if k.startswith("workflow_duration:")]  # two runs: too few
    assert ok("insights", "--slow", "--json").json()["insights"] == [
        p for p in found.values() if p["group"] == "slow"
    ]
