"""The `nexus persona` commands: listings, JSON, dry-run, diff, create, telemetry, the scripts."""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import subprocess
import sys
from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.cli import COMMANDS
from tests.conftest import fold_telemetry, run_nexus
from tests.personas.conftest import tree


def test_list_json_and_table(project: Path) -> None:
    rows = run_nexus("persona", "list", "--json").json()
    names = [r["name"] for r in rows]
    assert {"data-scientist", "developer", "observability"} <= set(names)
    developer = next(r for r in rows if r["name"] == "developer")
    assert developer["levels"] == ["beginner", "l1", "l2", "expert"]
    table = run_nexus("persona", "list")
    assert table.stdout.splitlines()[0].split()[:3] == ["NAME", "ORIGIN", "LEVELS"]


def test_show(project: Path) -> None:
    result = run_nexus("persona", "show", "data-scientist")
    assert result.exit_code == 0
    assert "gpu-optimize" in result.stdout and "deny: Bash(kill -9:*)" in result.stdout
    data = run_nexus("persona", "show", "data-scientist", "--json").json()
    assert "scripts/gpu_monitor.sh" in data["files"]
    missing = run_nexus("persona", "show", "nobody")
    assert missing.exit_code == 1 and "no persona named 'nobody'" in missing.stderr


def test_dry_run_writes_nothing(project: Path) -> None:
    (project / "CLAUDE.md").write_text("mine\n")
    before = tree(project)
    result = run_nexus("persona", "add", "data-scientist", "--dry-run", "--json")
    assert result.exit_code == 0, result.stderr
    plan = result.json()
    assert plan["dry_run"] is True
    assert {"path": "CLAUDE.md", "action": "update"} in plan["changes"]
    assert {"path": "scripts/gpu_monitor.sh", "action": "create"} in plan["changes"]
    assert tree(project) == before
    assert not (project / ".nexus" / "personas.lock").exists()
    run_nexus("persona", "add", "data-scientist")
    installed = tree(project)
    result = run_nexus("persona", "remove", "data-scientist", "--dry-run")
    assert "would delete scripts/gpu_monitor.sh" in result.stdout
    assert tree(project) == installed


def test_diff_shows_a_unified_diff_and_writes_nothing(project: Path) -> None:
    (project / "AGENTS.md").write_text("house rules\n")
    before = tree(project)
    result = run_nexus("persona", "diff", "devops")
    assert result.exit_code == 0
    assert "--- a/AGENTS.md\n+++ b/AGENTS.md\n" in result.stdout
    assert "+<!-- >>> nexus:persona:devops >>> -->" in result.stdout
    assert "--- /dev/null\n+++ b/.claude/skills/devops-pipeline-review/SKILL.md" in result.stdout
    assert tree(project) == before
    run_nexus("persona", "add", "devops")
    assert run_nexus("persona", "diff", "devops").stdout == ""


def test_current_and_switch(project: Path) -> None:
    assert run_nexus("persona", "current", "--json").json() == []
    run_nexus("persona", "add", "developer", "--level", "expert")
    run_nexus("persona", "add", "testing")
    current = run_nexus("persona", "current", "--json").json()
    assert [(p["name"], p["level"]) for p in current] == [
        ("developer", "expert"),
        ("testing", None),
    ]
    result = run_nexus("persona", "switch", "observability")
    assert result.exit_code == 0, result.stderr
    assert [p["name"] for p in run_nexus("persona", "current", "--json").json()] == [
        "observability"
    ]
    assert "observability" in run_nexus("persona", "current").stdout


def test_remove_unknown_is_not_found(project: Path) -> None:
    result = run_nexus("persona", "remove", "designer")
    assert result.exit_code == 1
    assert "not installed here" in result.stderr


def test_the_alias_it_was_added_by_removes_it_too(project: Path) -> None:
    before = sorted(p.relative_to(project) for p in project.rglob("*") if ".git" not in p.parts)
    assert run_nexus("persona", "add", "architect").exit_code == 0
    assert [p["name"] for p in run_nexus("persona", "current", "--json").json()] == [
        "software-architect"
    ]
    removed = run_nexus("persona", "remove", "architect", "--json")
    assert removed.exit_code == 0, removed.stderr
    assert run_nexus("persona", "current", "--json").json() == []
    after = sorted(
        p.relative_to(project)
        for p in project.rglob("*")
        if ".git" not in p.parts and not p.is_relative_to(project / ".nexus")
    )
    assert after == [p for p in before if not p.is_relative_to(Path(".nexus"))]
    # an alias of a persona that is not installed is still "not installed", by its real name
    missing = run_nexus("persona", "remove", "architect")
    assert missing.exit_code == 1 and "not installed here" in missing.stderr


def test_create_then_add_custom(project: Path) -> None:
    result = run_nexus("persona", "create", "ml-lead", "--from", "data-scientist")
    assert result.exit_code == 0, result.stderr
    folder = project / ".nexus" / "personas" / "ml-lead"
    assert Path(result.stdout.strip()) == folder
    assert "extends: data-scientist" in (folder / "persona.yaml").read_text()
    assert run_nexus("persona", "add", "ml-lead").exit_code == 0
    assert (project / ".claude/skills/ml-lead-gpu-optimize/SKILL.md").is_file()
    assert (project / ".claude/skills/ml-lead-checklist/SKILL.md").is_file()
    assert (project / ".claude/agents/ml-lead.md").is_file()
    again = run_nexus("persona", "create", "ml-lead")
    assert again.exit_code == 1 and "already exists" in again.stderr


def test_create_global_goes_to_the_user_config_dir(project: Path) -> None:
    result = run_nexus("persona", "create", "reviewer", "--global")
    assert result.exit_code == 0, result.stderr
    assert (paths.user_config_dir() / "personas" / "reviewer" / "persona.yaml").is_file()
    assert "reviewer" in [r["name"] for r in run_nexus("persona", "list", "--json").json()]


def _events() -> list[sqlite3.Row]:
    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    conn.row_factory = sqlite3.Row
    try:
        return list(conn.execute("SELECT * FROM events ORDER BY id"))
    finally:
        conn.close()


def test_telemetry_records_persona_events_without_names(project: Path) -> None:
    run_nexus("persona", "create", "secret-role")
    run_nexus("persona", "add", "secret-role")
    run_nexus("persona", "switch", "designer")
    rows = [r for r in _events() if r["command"] and r["command"].startswith("persona")]
    assert [r["event_type"] for r in rows] == ["persona"] * 3
    signals = [s for r in rows for s in json.loads(r["raw_data"] or "{}").get("signals", [])]
    assert {"kind": "persona_add", "persona": "custom"} in signals
    assert {"kind": "persona_remove", "persona": "custom"} in signals
    assert {"kind": "persona_add", "persona": "designer"} in signals
    assert all("secret-role" not in (r["raw_data"] or "") for r in rows)


def test_scripts_fail_clearly_without_nexus_on_path(project: Path, tmp_path: Path) -> None:
    run_nexus("persona", "add", "data-scientist")
    bash = shutil.which("bash")
    assert bash is not None
    result = subprocess.run(
        [bash, "scripts/analyze_process_impact.sh", "1"],
        cwd=project,
        env={"PATH": str(tmp_path)},  # an empty folder: no nexus anywhere
        capture_output=True,
        text=True,
    )
    assert result.returncode == 127
    assert "'nexus' command is not on PATH" in result.stderr


@pytest.mark.skipif("gpu" not in COMMANDS, reason="the `nexus gpu` group is not merged here yet")
def test_analyze_process_impact_script_runs_nexus_impact(project: Path) -> None:
    run_nexus("persona", "add", "data-scientist")
    sleeper = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        env = {
            **os.environ,
            "PATH": f"{Path(sys.executable).parent}{os.pathsep}{os.environ['PATH']}",
        }
        result = subprocess.run(
            ["scripts/analyze_process_impact.sh", str(sleeper.pid)],
            cwd=project,
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
        )
    finally:
        sleeper.kill()
        sleeper.wait()
    assert result.returncode == 0, result.stderr
    assert str(sleeper.pid) in result.stdout


def test_dry_run_with_a_conflict_reports_it_and_exits_1(project: Path) -> None:
    (project / "scripts").mkdir()
    (project / "scripts" / "gpu_monitor.sh").write_text("mine\n")
    before = tree(project)
    result = run_nexus("persona", "add", "data-scientist", "--dry-run", "--json")
    assert result.exit_code == 1
    assert result.json()["conflicts"] == [
        "scripts/gpu_monitor.sh: exists and is not managed by Nexus; not overwritten"
    ]
    assert "1 conflict, nothing was changed" in result.stderr
    assert tree(project) == before


def test_inside_a_workspace_the_persona_goes_into_its_worktree(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A developer (or an agent) in workspace w1 adding a persona changes w1's worktree, as a
    workflow stage's switch does, never the main checkout."""
    assert run_nexus("workspace", "create", "w1", "-t", "bare").exit_code == 0
    worktree = project / ".nexus" / "worktrees" / "w1"
    monkeypatch.chdir(worktree)
    added = run_nexus("persona", "add", "backend")
    assert added.exit_code == 0, added.stderr
    assert (worktree / ".nexus" / "personas.lock").is_file() and (worktree / "AGENTS.md").is_file()
    assert not (project / "AGENTS.md").exists() and not (project / ".claude").exists()
    assert [p["name"] for p in run_nexus("persona", "current", "--json").json()] == ["backend"]
    assert run_nexus("persona", "remove", "backend").exit_code == 0
    assert not (worktree / "AGENTS.md").exists()
    monkeypatch.chdir(project)
    assert run_nexus("persona", "current", "--json").json() == []


def test_a_project_persona_that_replaces_a_built_in_one_says_so(project: Path) -> None:
    """The repository's own `developer` is what `persona add developer` installs: said, since
    the person typed the built-in's name."""
    builtin = Path(__file__).resolve().parents[2] / "personas" / "developer"
    shutil.copytree(builtin, project / ".nexus" / "personas" / "developer")
    added = run_nexus("persona", "add", "developer", "--dry-run")
    assert added.exit_code == 0, added.stderr
    assert "note: developer: the project's own persona" in added.stderr
    assert "replaces the built-in one of that name" in added.stderr
    plain = run_nexus("persona", "add", "backend", "--dry-run")
    assert "replaces the built-in" not in plain.stderr
