"""`nexus workflow list|show|run`: shipped and project workflows, variables, the released chain."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_nexus
from tests.tasks.conftest import approve_as_person, ok, show

PROJECT_FLOW = """\
name: rel
description: "Release {version}"
vars:
  version: {required: true, description: "the version"}
  note: {default: "routine"}
stages:
  - id: build
    persona: backend
    title: "Build {version} ({note})"
    gates: ["test -n {version}"]
  - id: check
    persona: testing
    title: "Check {version}"
    gates: ["true"]
  - id: ship
    persona: devops
    title: "Ship {version}"
    gates: ["echo {version} > shipped.txt"]
"""


@pytest.fixture
def flows(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEXUS_AGENT", "alice")
    folder = project / ".nexus" / "workflows"
    folder.mkdir()
    (folder / "rel.yaml").write_text(PROJECT_FLOW)
    return folder


def test_list_shows_shipped_and_project_workflows(flows: Path) -> None:
    rows = {r["name"]: r for r in ok("workflow", "list", "--json").json()}
    for name in ("package-release", "feature-development", "incident-response"):
        assert rows[name]["origin"] == "builtin" and "error" not in rows[name]
    assert rows["rel"]["origin"] == "project"
    assert rows["package-release"]["stages"] == ["prepare", "verify", "publish"]
    assert "package-release" in ok("workflow", "list").stdout


def test_a_project_file_overrides_a_shipped_one_and_broken_ones_are_listed(flows: Path) -> None:
    (flows / "package-release.yaml").write_text(
        PROJECT_FLOW.replace("name: rel", "name: package-release")
    )
    (flows / "bad.yaml").write_text("name: bad\nstages: nope\n")
    rows = {r["name"]: r for r in ok("workflow", "list", "--json").json()}
    assert rows["package-release"]["origin"] == "project"
    assert "key 'stages' must be a non-empty list" in rows["bad"]["error"]
    failed = run_nexus("workflow", "run", "bad")
    assert failed.exit_code == 1 and "bad.yaml: key 'stages'" in failed.stderr


def test_show_prints_stages_personas_gates_and_needs(flows: Path) -> None:
    data = ok("workflow", "show", "rel", "--json").json()
    assert [(s["id"], s["persona"], s["needs"]) for s in data["stages"]] == [
        ("build", "backend", []),
        ("check", "testing", ["build"]),
        ("ship", "devops", ["check"]),
    ]
    assert data["vars"]["version"]["required"] is True
    text = ok("workflow", "show", "incident-response").stdout
    assert "stage triage  persona observability  needs nothing" in text
    assert "gate: test -s incidents/{incident}.md" in text


def test_run_refuses_without_a_required_var_and_creates_nothing(flows: Path) -> None:
    result = run_nexus("workflow", "run", "rel")
    assert result.exit_code == 2 and "needs --var version=VALUE" in result.stderr
    assert ok("task", "list", "--json").json() == []
    unknown = run_nexus("workflow", "run", "rel", "--var", "version=1", "--var", "colour=red")
    assert unknown.exit_code == 2 and "has no variable 'colour'" in unknown.stderr


def test_run_creates_a_chain_that_ready_releases_one_stage_at_a_time(flows: Path) -> None:
    tasks = ok("workflow", "run", "rel", "--var", "version=1.2 beta", "--json").json()
    build, check, ship = (t["id"] for t in tasks)
    assert tasks[0]["title"] == "Build 1.2 beta (routine)"
    assert tasks[0]["gates"][0]["command"] == "test -n '1.2 beta'"  # values are shell-quoted
    assert tasks[1]["depends_on"] == [build] and tasks[2]["depends_on"] == [check]
    assert "stage:check" in tasks[1]["labels"] and "workflow:rel" in tasks[1]["labels"]
    for current in (build, check, ship):
        ready = [t["id"] for t in ok("task", "ready", "--json").json()]
        assert ready == [current]
        ok("task", "start", current)
        assert run_nexus("task", "complete", current).exit_code == 5  # from a workflow file
        approve_as_person(current)
        ok("task", "complete", current)
    assert ok("task", "ready", "--json").json() == []
    assert show(ship)["status"] == "done"


def test_priority_from_the_file_a_placeholder_or_the_command_line(
    flows: Path, project: Path
) -> None:
    """incident-response's tasks take the severity as their priority; a stage may differ, and
    --priority overrides the file; a placeholder that is no priority creates nothing."""
    (project / "Makefile").write_text("test:\n\ttrue\n")  # its @tests gates
    made = ok("workflow", "run", "incident-response", "--var", "incident=db", "--json").json()
    assert [t["priority"] for t in made] == [2, 2, 2]  # severity's default p2
    run = ok(
        "workflow", "run", "incident-response", "--var", "incident=api", "--var", "severity=p1"
    )
    assert "P1  Triage api (p1)" in run.stdout
    first = ok("task", "ready", "--json").json()[0]
    assert first["title"] == "Triage api (p1)" and first["priority"] == 1  # ahead of the P2s
    (flows / "rel.yaml").write_text(
        PROJECT_FLOW.replace('note: {default: "routine"}', 'note: {default: "3"}')
        .replace('description: "Release {version}"', 'priority: "{note}"')
        .replace("    persona: devops\n", "    persona: devops\n    priority: 0\n")
    )
    assert "priority: {note}" in ok("workflow", "show", "rel").stdout
    made = ok("workflow", "run", "rel", "--var", "version=1", "--json").json()
    assert [t["priority"] for t in made] == [3, 3, 0]
    made = ok("workflow", "run", "rel", "--var", "version=2", "-p", "4", "--json").json()
    assert [t["priority"] for t in made] == [4, 4, 4]
    before = ok("task", "list", "--json").json()
    bad = run_nexus("workflow", "run", "rel", "--var", "version=3", "--var", "note=urgent")
    assert bad.exit_code == 2
    assert "its priority '{note}' comes out as 'urgent', not a priority 0" in bad.stderr
    assert ok("task", "list", "--json").json() == before


def test_unknown_persona_and_unknown_placeholder_are_refused(flows: Path) -> None:
    (flows / "rel.yaml").write_text(PROJECT_FLOW.replace("persona: testing", "persona: wizard"))
    result = run_nexus("workflow", "run", "rel", "--var", "version=1")
    assert result.exit_code == 1
    assert "key 'stages[1].persona' names unknown persona 'wizard'" in result.stderr
    (flows / "rel.yaml").write_text(PROJECT_FLOW.replace("Check {version}", "Check {verison}"))
    result = run_nexus("workflow", "run", "rel", "--var", "version=1")
    assert result.exit_code == 1 and "key 'stages[1].title' uses {verison}" in result.stderr
    assert ok("task", "list", "--json").json() == []


def test_tests_gate_uses_the_detected_test_commands(flows: Path, project: Path) -> None:
    (project / "package.json").write_text('{"scripts": {"test": "node -e 0"}}')
    tasks = ok("workflow", "run", "feature-development", "--var", "feature=login", "--json").json()
    assert [[g["command"] for g in t["gates"]] for t in tasks] == [["npm test"]] * 3
    assert next(t["title"] for t in tasks) == "Backend for login"


def test_a_missing_workspace_and_a_bad_name_are_refused(flows: Path) -> None:
    result = run_nexus("workflow", "run", "rel", "--var", "version=1", "--workspace", "nope")
    assert result.exit_code == 1 and "workspace 'nope' has no worktree" in result.stderr
    assert run_nexus("workflow", "show", "../x").exit_code == 2
    assert run_nexus("workflow", "show", "absent").exit_code == 1


def test_task_start_of_a_stage_switches_the_workspace_persona(flows: Path, project: Path) -> None:
    from tests.conftest import git

    worktree = project / ".nexus" / "worktrees" / "rel"
    git(project, "worktree", "add", "-q", "-b", "rel", str(worktree))
    tasks = ok(
        "workflow", "run", "rel", "--var", "version=1", "--workspace", "rel", "--json"
    ).json()
    started = ok("task", "start", tasks[0]["id"])
    assert "workspace persona: backend" in started.stderr
    lock = (worktree / ".nexus" / "personas.lock").read_text()
    assert '"backend"' in lock and (worktree / "CLAUDE.md").is_file()
    approve_as_person(tasks[0]["id"])
    ok("task", "complete", tasks[0]["id"])
    ok("task", "start", tasks[1]["id"])
    lock = (worktree / ".nexus" / "personas.lock").read_text()
    assert '"testing"' in lock and '"backend"' not in lock
    from nexus_cli.personas import installer

    scope = installer.project_scope(worktree)
    installer.apply(installer.plan_remove(scope, ["testing"]))  # reversible: the lock has it all
    assert installer.active(scope) == {} and not (worktree / "CLAUDE.md").exists()


def test_an_unknown_workflow_suggests_the_closest(flows: Path) -> None:
    result = run_nexus("workflow", "show", "featur")
    assert result.exit_code != 0
    assert "hint: did you mean 'feature-development'?" in result.stderr


def test_a_committed_workflow_link_out_of_the_project_is_never_read(
    flows: Path, tmp_path: Path
) -> None:
    secret = tmp_path / "secret.yaml"
    secret.write_text("db_password: hunter2\n")
    (flows / "leak.yaml").symlink_to(secret)
    shown = run_nexus("workflow", "show", "leak")
    assert shown.exit_code == 1 and "leak.yaml is a symbolic link" in shown.stderr
    assert "db_password" not in shown.stderr


def test_a_workflow_link_inside_the_project_is_refused_too(flows: Path) -> None:
    """docs/security.md Rule 1: a link is refused even one that stays inside the repository."""
    (flows.parent.parent / "wf.yaml").write_text((flows / "rel.yaml").read_text())
    (flows / "inl.yaml").symlink_to("../../wf.yaml")
    shown = run_nexus("workflow", "show", "inl")
    assert shown.exit_code == 1 and "inl.yaml is a symbolic link" in shown.stderr


def test_a_workflow_folder_that_is_a_link_is_not_listed(flows: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    (outside / "private-plan.yaml").write_text("name: x\n")
    flows.rename(flows.parent / "workflows.real")
    flows.symlink_to(outside)
    listed = run_nexus("workflow", "list")
    assert listed.exit_code == 1 and "workflows is a symbolic link" in listed.stderr
    assert "private-plan" not in listed.stdout + listed.stderr
