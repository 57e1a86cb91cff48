"""Issue 10, tasks part: tasks.jsonl is untrusted, workspaces stay inside, output is escaped,
gates are mandatory, one `task complete` at a time."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nexus_cli.tasks.model import Task
from nexus_cli.tasks.workdir import gate_directory
from tests.conftest import run_nexus
from tests.tasks.conftest import new_task, ok, show

EVIL = "\x1b[2J\x1b]0;owned\x07\x1b]8;;http://evil.example/\x1b\\click\x1b]8;;\x1b\\ [link=http://evil.example/]x[/link]"


def _jsonl(root: Path) -> Path:
    return root / ".nexus" / "tasks.jsonl"


def _line(**fields: object) -> str:
    data: dict[str, object] = {"id": "nx-good1", "title": "Good", "status": "open"}
    data.update(fields)
    return json.dumps(data)


# --- tasks.jsonl is validated at the boundary ---------------------------------------------------


@pytest.mark.parametrize(
    ("fields", "named"),
    [
        ({"id": "../../x"}, "task id"),
        ({"id": "nx-bad1", "workspace": "../../../x"}, "workspace name"),
        ({"id": "nx-bad1", "workspace": "--lock"}, "workspace name"),
        ({"id": "nx-bad1", "depends_on": ["nx-ok11", "$(rm -rf /)"]}, "task id"),
        ({"id": "nx-bad1", "title": 12}, "'title'"),
        ({"id": "nx-bad1", "title": "x" * 5000}, "'title'"),
        ({"id": "nx-bad1", "gates": [{"command": "   "}]}, "'gates'"),
        ({"id": "nx-bad1", "gates": [{"command": "true", "timeout_s": -1}]}, "'gates'"),
        ({"id": "nx-bad1", "gates": [{"command": "true", "service": "../db"}]}, "service name"),
        ({"id": "nx-bad1", "priority": "high"}, "'priority'"),
        ({"id": "nx-bad1", "notes": ["text"]}, "'notes'"),
        ({"id": "nx-bad1", "no_gates": "yes"}, "'no_gates'"),
    ],
)
def test_bad_jsonl_line_is_skipped_reported_and_loses_nothing(
    tasks_project: Path, fields: dict[str, object], named: str
) -> None:
    kept = new_task("Kept", "--gate", "true")
    before = _jsonl(tasks_project).read_text()
    bad = before + _line(**fields) + "\n"
    _jsonl(tasks_project).write_text(bad)
    result = run_nexus("task", "list", "--json")
    assert result.exit_code == 0, result.stderr
    [warning] = result.stderr.splitlines()
    assert warning.startswith("warning: ") and "tasks.jsonl:2: " in warning and named in warning
    assert "Traceback" not in result.stderr and "unexpected" not in result.stderr
    assert [t["id"] for t in result.json()] == [kept]  # the bad line never reaches the database
    assert _jsonl(tasks_project).read_text() == bad  # the file is left for the user to fix
    ok("task", "note", kept, "a change rewrites the file")
    assert _jsonl(tasks_project).read_text().endswith(_line(**fields) + "\n")  # still there
    _jsonl(tasks_project).write_text(before)
    assert [t["id"] for t in ok("task", "list", "--json").json()] == [kept]


def test_merge_driver_refuses_a_bad_line_and_leaves_ours(tmp_path: Path) -> None:
    base, ours, theirs = (tmp_path / n for n in ("base", "ours", "theirs"))
    base.write_text("")
    ours.write_text(_line() + "\n")
    theirs.write_text(_line(id="nx-evil", workspace="../../../x") + "\n")
    result = run_nexus("task", "merge-driver", str(base), str(ours), str(theirs))
    assert result.exit_code == 1 and "theirs:1: invalid workspace name" in result.stderr
    assert ours.read_text() == _line() + "\n"


# --- task workspaces stay inside the project's worktrees folder --------------------------------


def test_create_refuses_a_workspace_that_climbs_out(tasks_project: Path) -> None:
    result = run_nexus("task", "create", "Escape", "--gate", "true", "--workspace", "../../../x")
    assert result.exit_code == 2 and "invalid workspace name" in result.stderr
    assert ok("task", "list", "--json").json() == []


def test_workspace_read_back_from_the_database_is_checked(tasks_project: Path) -> None:
    from nexus_cli.errors import NexusError
    from nexus_cli.project import find_project

    project = find_project(tasks_project)
    with pytest.raises(NexusError, match="invalid workspace name"):
        gate_directory(project, Task(id="nx-aaaa", title="t", workspace="../../../tmp"))


def test_gates_never_run_through_a_symlinked_worktree(tasks_project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    task_id = new_task("Linked", "--gate", "touch ran", "--workspace", "feat")
    ok("task", "start", task_id)
    worktrees = tasks_project / ".nexus" / "worktrees"
    worktrees.mkdir(parents=True, exist_ok=True)
    (worktrees / "feat").symlink_to(outside)
    result = run_nexus("task", "complete", task_id)
    assert result.exit_code == 1 and "is a symbolic link or lies outside" in result.stderr, (
        result.stderr
    )
    assert not (outside / "ran").exists() and not (tasks_project / "ran").exists()
    assert show(task_id)["status"] == "in_progress"


@pytest.mark.parametrize(
    "args",
    [
        ("task", "create", "Loose", "--no-gates"),  # tasks: require_gate
        ("loop", "--agent", "true"),  # loop: agent
        ("queue", "run"),  # queue: strategy
    ],
)
def test_a_config_that_is_a_link_is_refused_not_read(
    tasks_project: Path, tmp_path: Path, args: tuple[str, ...]
) -> None:
    """docs/security.md Rule 1: .nexus/config.yaml is opened without following a link, like
    tasks.jsonl: a link to a file outside the repository is one error, never its settings."""
    config = tasks_project / ".nexus" / "config.yaml"
    outside = tmp_path / "their-config.yaml"
    outside.write_text(config.read_text().replace("require_gate: false", "require_gate: true"))
    config.unlink()
    config.symlink_to(outside)
    result = run_nexus(*args)
    assert result.exit_code == 1, result.stderr
    assert "config.yaml is a symbolic link" in result.stderr and "Traceback" not in result.stderr
    assert "requires a verification gate" not in result.stderr


# --- human output escapes what teammates wrote; --json keeps it raw ----------------------------


def test_escape_sequences_never_reach_the_terminal(tasks_project: Path) -> None:
    task_id = new_task(EVIL, "--gate", f"printf '{EVIL}' ; exit 1", "-d", EVIL)
    ok("task", "start", task_id)
    ok("task", "note", task_id, EVIL)
    outputs = [
        run_nexus("task", "complete", task_id),
        ok("task", "list"),
        ok("task", "show", task_id),
        ok("task", "ready", "--agent", "alice"),
        ok("task", "history", task_id),
        ok("task", "context", task_id),
        ok("task", "note", task_id, "again"),
    ]
    for result in outputs:
        for stream in (result.stdout, result.stderr):
            assert "\x1b" not in stream and "\x07" not in stream, stream
    assert "^[[2J" in outputs[2].stdout
    assert ok("task", "show", task_id, "--json").json()["title"] == EVIL


def test_rich_markup_in_a_title_is_shown_not_obeyed(
    tasks_project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    new_task("see [link=http://evil.example/]here[/link] [bold red]now", "--gate", "true")
    monkeypatch.setattr("nexus_cli.output.stdout_is_tty", lambda: True)
    out = ok("task", "list").stdout
    assert "[link=http://evil.example/]here[/link]" in out
    assert "\x1b" not in out


def test_title_from_a_teammate_is_escaped(tasks_project: Path) -> None:
    _jsonl(tasks_project).write_text(_line(title=EVIL, gates=[{"command": "true"}]) + "\n")
    out = ok("task", "list").stdout + ok("task", "show", "nx-good1").stdout
    assert "\x1b" not in out and "\x07" not in out and "^[]0;owned^G" in out
    assert ok("task", "list", "--json").json()[0]["title"] == EVIL


# --- gates are mandatory ------------------------------------------------------------------------


def test_create_without_a_detected_gate_needs_gate_or_no_gates(tasks_project: Path) -> None:
    result = run_nexus("task", "create", "Unchecked")
    assert result.exit_code == 2 and "--no-gates" in result.stderr
    assert ok("task", "list", "--json").json() == []
    task_id = new_task("Waived", "--no-gates")
    data = show(task_id)
    assert data["no_gates"] is True and data["gates"] == []
    assert data["history"][0]["no_gates"] is True
    assert ok("task", "list", "--json").json()[0]["no_gates"] is True
    assert "gates: none (--no-gates)" in ok("task", "show", task_id).stdout
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    assert show(task_id)["history"][-1]["reason"] == "no gates (--no-gates)"


@pytest.mark.parametrize("blank", ["", "   ", "\t\n"])
def test_blank_gates_are_refused(tasks_project: Path, blank: str) -> None:
    result = run_nexus("task", "create", "Blank", "--gate", blank)
    assert result.exit_code == 2 and "blank" in result.stderr
    task_id = new_task("Real", "--gate", "true")
    result = run_nexus("task", "gate", "add", task_id, blank)
    assert result.exit_code == 2
    assert [g["command"] for g in show(task_id)["gates"]] == ["true"]


def test_a_task_without_gates_from_a_teammate_cannot_complete(tasks_project: Path) -> None:
    _jsonl(tasks_project).write_text(_line(status="in_progress") + "\n")
    result = run_nexus("task", "complete", "nx-good1")
    assert result.exit_code == 2 and "gates cannot be skipped" in result.stderr
    assert show("nx-good1")["status"] == "in_progress"


@pytest.mark.parametrize("status", ["verifying", "in_progress", "open", "rejected"])
def test_approve_never_skips_the_gates(tasks_project: Path, status: str) -> None:
    line = _line(status=status, gates=[{"command": "false"}])
    _jsonl(tasks_project).write_text(line + "\n")
    result = run_nexus("task", "approve", "nx-good1")
    assert result.exit_code == 1 and "only a task in review" in result.stderr
    assert show("nx-good1")["status"] == status
