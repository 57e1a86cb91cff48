"""The installed hooks, run as the agent runs them: its JSON on stdin, the command in a shell.

The payloads are stand-ins of what each client documents it sends
(https://code.claude.com/docs/en/hooks, https://developers.openai.com/codex/hooks); the commands
are read from the settings file that `nexus hooks install` wrote and run with `sh -c`, each a
real process with `nexus` on PATH (or without it).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.mcp import hooks
from tests.conftest import git, run_nexus

AGENT = "claude-bot"
GATE = "echo TAIL-MARKER; test -f ok.txt"


def _payload(event: str, cwd: Path, **extra: Any) -> dict[str, Any]:
    """The fields every Claude Code hook input carries, plus the event's own."""
    return {
        "session_id": "abc123",
        "transcript_path": str(cwd / "transcript.jsonl"),
        "cwd": str(cwd),
        "permission_mode": "default",
        "hook_event_name": event,
        **extra,
    }


def stop(cwd: Path, active: bool = False) -> dict[str, Any]:
    return _payload("Stop", cwd, stop_hook_active=active, last_assistant_message="All done.")


def subagent_stop(cwd: Path, active: bool = False) -> dict[str, Any]:
    return _payload(
        "SubagentStop",
        cwd,
        stop_hook_active=active,
        agent_id="agent-1",
        agent_type="general-purpose",
        agent_transcript_path=str(cwd / "agent.jsonl"),
        last_assistant_message="Finished.",
    )


def session_start(cwd: Path, source: str) -> dict[str, Any]:
    return _payload("SessionStart", cwd, source=source, model="claude-sonnet-4-6")


def task_completed(cwd: Path, subject: str) -> dict[str, Any]:
    return _payload(
        "TaskCompleted",
        cwd,
        task_id="7",
        task_subject=subject,
        task_description="",
        teammate_name="",
        team_name="",
    )


def installed_commands(settings: Path) -> dict[str, str]:
    data = json.loads(settings.read_text())
    return {event: groups[0]["hooks"][0]["command"] for event, groups in data["hooks"].items()}


def fire(
    command: str, payload: dict[str, Any] | str, cwd: Path, *, with_nexus: bool = True, **env: str
) -> subprocess.CompletedProcess[str]:
    """Run one hook command as the client does: a shell, the JSON on stdin."""
    bin_dir = str(Path(sys.executable).parent)
    path = [p for p in os.environ["PATH"].split(os.pathsep) if p != bin_dir]
    if with_nexus:
        path.insert(0, bin_dir)
    else:  # a PATH where no `nexus` is found
        path = ["/usr/bin", "/bin"]
        assert (
            subprocess.run(
                ["sh", "-c", "command -v nexus"], env={"PATH": ":".join(path)}, capture_output=True
            ).returncode
            != 0
        )
    full = {**os.environ, "PATH": os.pathsep.join(path), "NEXUS_AGENT": AGENT, **env}
    text = payload if isinstance(payload, str) else json.dumps(payload)
    return subprocess.run(
        ["sh", "-c", command],
        input=text,
        cwd=cwd,
        env=full,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def commands(project: Path, monkeypatch: pytest.MonkeyPatch) -> dict[str, str]:
    monkeypatch.setenv("NEXUS_AGENT", AGENT)
    result = run_nexus("hooks", "install", "--client", "claude")
    assert result.exit_code == 0, result.stderr
    return installed_commands(project / ".claude" / "settings.json")


def _claimed_task(project: Path) -> str:
    created = run_nexus("task", "create", "Make it pass", "--gate", GATE)
    assert created.exit_code == 0, created.stderr
    task = created.stdout.strip()
    assert run_nexus("task", "claim", task).exit_code == 0
    return task


def _decision(result: subprocess.CompletedProcess[str]) -> dict[str, Any]:
    assert result.returncode == 0, result.stderr
    return json.loads(result.stdout) if result.stdout.strip() else {}


@pytest.mark.parametrize(("event", "payload"), [("Stop", stop), ("SubagentStop", subagent_stop)])
def test_stop_blocks_while_a_gate_fails_and_allows_once_it_passes(
    project: Path, commands: dict[str, str], event: str, payload: Any
) -> None:
    task = _claimed_task(project)
    unrun = _decision(fire(commands[event], payload(project), project))
    assert unrun["decision"] == "block"
    assert f"task {task}" in unrun["reason"] and "has not run yet" in unrun["reason"]

    assert run_nexus("task", "verify", task).exit_code == 3  # records a failing run
    failing = _decision(fire(commands[event], payload(project), project))
    assert failing["decision"] == "block"
    assert "failed (exit 1)" in failing["reason"] and "TAIL-MARKER" in failing["reason"]

    (project / "ok.txt").write_text("done\n")
    assert run_nexus("task", "verify", task).exit_code == 0
    passed = fire(commands[event], payload(project), project)
    assert passed.returncode == 0 and passed.stdout == "" and passed.stderr == ""


def test_stop_blocks_at_most_three_times_in_a_row(project: Path, commands: dict[str, str]) -> None:
    task = _claimed_task(project)
    first = _decision(fire(commands["Stop"], stop(project, active=False), project))
    assert first["decision"] == "block"
    for _ in range(hooks.MAX_BLOCKS - 1):  # the agent continued because of our block
        assert _decision(fire(commands["Stop"], stop(project, active=True), project))["decision"]
    let_go = _decision(fire(commands["Stop"], stop(project, active=True), project))
    assert "decision" not in let_go
    assert f"task {task}'s gates still fail after {hooks.MAX_BLOCKS}" in let_go["systemMessage"]
    # the next turn, started by the person, is held again
    again = _decision(fire(commands["Stop"], stop(project, active=False), project))
    assert again["decision"] == "block"


@pytest.mark.parametrize("linked", [".nexus/state/hooks", ".nexus/state"])
def test_stop_writes_nothing_through_a_link_in_its_state_folder(
    project: Path, commands: dict[str, str], tmp_path: Path, linked: str
) -> None:
    """docs/security.md Rule 1: a link planted at `.nexus/state/hooks` (or `.nexus/state`) is
    refused, one line on stderr, and the session goes on (exit 0, no decision)."""
    _claimed_task(project)
    outside = tmp_path / "outside"
    outside.mkdir()
    target = project / linked
    if target.exists():
        shutil.move(str(target), str(tmp_path / "moved"))
    target.symlink_to(outside)
    result = fire(commands["Stop"], stop(project), project)
    assert result.returncode == 0 and result.stdout == ""
    assert "is a symbolic link" in result.stderr
    assert list(outside.iterdir()) == []


def test_stop_lets_a_session_without_a_task_end(project: Path, commands: dict[str, str]) -> None:
    created = run_nexus("task", "create", "Someone else's", "--gate", "false")
    assert created.exit_code == 0
    result = fire(commands["Stop"], stop(project), project)
    assert (result.returncode, result.stdout) == (0, "")


def test_nexus_task_id_names_the_session_task(project: Path, commands: dict[str, str]) -> None:
    _claimed_task(project)  # claimed, but the session was given another task
    other = run_nexus("task", "create", "Passing", "--gate", "true").stdout.strip()
    assert run_nexus("task", "start", other).exit_code == 0
    assert run_nexus("task", "verify", other).exit_code == 0
    result = fire(commands["Stop"], stop(project), project, NEXUS_TASK_ID=other)
    assert (result.returncode, result.stdout) == (0, "")


def test_the_worktree_names_the_session_task(project: Path, commands: dict[str, str]) -> None:
    created = run_nexus("task", "create", "In a workspace", "--gate", "false", "--workspace", "ws1")
    task = created.stdout.strip()
    assert run_nexus("task", "claim", task, env={"NEXUS_AGENT": "someone-else"}).exit_code == 0
    worktree = project / ".nexus" / "worktrees" / "ws1"
    git(project, "worktree", "add", "-q", "-b", "ws1", str(worktree))
    result = _decision(fire(commands["Stop"], stop(worktree), worktree))
    assert result["decision"] == "block" and f"task {task}" in result["reason"]


def test_task_completed_keeps_the_nexus_task_open(project: Path, commands: dict[str, str]) -> None:
    task = _claimed_task(project)
    held = fire(commands["TaskCompleted"], task_completed(project, f"Finish {task}"), project)
    assert held.returncode == 2 and f"task {task}" in held.stderr
    step = fire(commands["TaskCompleted"], task_completed(project, "Read the code"), project)
    assert (step.returncode, step.stdout, step.stderr) == (0, "", "")


def test_a_waiting_gate_never_holds_a_turn_but_keeps_the_task_open(
    project: Path, commands: dict[str, str]
) -> None:
    """Stop: the commands passed, only a person's approval is left: the turn ends and the person
    is told what the task waits on. TaskCompleted: the task is not done, with that reason."""
    created = run_nexus("task", "create", "Sign-off", "--gate", "true", "--wait", "approval:bob")
    task = created.stdout.strip()
    assert run_nexus("task", "claim", task).exit_code == 0
    assert run_nexus("task", "verify", task).exit_code == 3  # true passes; bob has not approved
    result = _decision(fire(commands["Stop"], stop(project), project))
    assert "decision" not in result
    assert result["systemMessage"] == (
        f"Nexus: task {task} is not done yet: it waits on approval: bob (waits for bob's approval)."
    )
    held = fire(commands["TaskCompleted"], task_completed(project, f"Finish {task}"), project)
    assert held.returncode == 2
    assert "`approval: bob` waits for bob's approval (no run can satisfy it)" in held.stderr


def test_session_start_compact_prints_the_briefing_and_hand_off(
    project: Path, commands: dict[str, str]
) -> None:
    task = _claimed_task(project)
    result = fire(commands["SessionStart"], session_start(project, "compact"), project)
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"# Nexus session: {project.name}")
    assert f"# {task}: Make it pass" in result.stdout  # the hand-off the summary lost
    startup = fire(commands["SessionStart"], session_start(project, "startup"), project)
    assert startup.returncode == 0 and "# Nexus session" in startup.stdout
    assert f"# {task}: Make it pass" not in startup.stdout


def test_matchers_are_the_documented_sources(commands: dict[str, str], project: Path) -> None:
    data = json.loads((project / ".claude" / "settings.json").read_text())
    assert data["hooks"]["SessionStart"][0]["matcher"] == "startup|resume|compact"
    assert set(data["hooks"]) == {"SessionStart", "Stop", "SubagentStop", "TaskCompleted"}
    assert "PreCompact" not in data["hooks"]


@pytest.mark.parametrize("where", ["plain folder", "git repository without nexus"])
def test_outside_a_nexus_project_every_hook_exits_0_silently(
    tmp_path: Path, commands: dict[str, str], where: str
) -> None:
    folder = tmp_path / "elsewhere"
    folder.mkdir()
    if where != "plain folder":
        git(folder, "init", "-q")
    payloads = {
        "SessionStart": session_start(folder, "startup"),
        "Stop": stop(folder),
        "SubagentStop": subagent_stop(folder),
        "TaskCompleted": task_completed(folder, "x"),
    }
    for event, command in commands.items():
        result = fire(command, payloads[event], folder)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", ""), event


def test_without_nexus_installed_every_hook_exits_0_silently(
    project: Path, commands: dict[str, str]
) -> None:
    _claimed_task(project)
    for command in commands.values():
        result = fire(command, stop(project), project, with_nexus=False)
        assert (result.returncode, result.stdout, result.stderr) == (0, "", "")


def test_a_payload_that_is_not_json_never_fails_the_session(
    project: Path, commands: dict[str, str]
) -> None:
    for text in ("", "not json", "[1, 2]", '{"cwd": 5}'):
        result = fire(commands["Stop"], text, project)
        assert result.returncode == 0, (text, result.stderr)


def test_a_broken_task_file_never_fails_the_session(
    project: Path, commands: dict[str, str]
) -> None:
    _claimed_task(project)
    (project / ".nexus" / "tasks.jsonl").write_text("{broken\n")
    result = fire(commands["Stop"], stop(project), project)
    assert result.returncode == 0 and result.stdout == ""
    # The import skips the line (and keeps it in the file) with one warning; the hook goes on.
    assert "tasks.jsonl:1: malformed task line" in result.stderr
    (project / ".nexus" / "tasks.jsonl").write_text("<<<<<<< ours\n")  # refused whole: a conflict
    result = fire(commands["Stop"], stop(project), project)
    assert result.returncode == 0 and result.stdout == ""
    assert result.stderr.startswith("nexus hook stop: ")


def test_session_start_names_the_loop_task_of_the_session(
    project: Path, commands: dict[str, str]
) -> None:
    from nexus_cli.tasks import agent_cost, otlp_receiver
    from nexus_cli.telemetry.agents.records import Hasher, UsageRecord
    from nexus_cli.telemetry.query.window import last_days

    task = run_nexus("task", "create", "Looped", "--gate", GATE).stdout.strip()
    result = fire(
        commands["SessionStart"], session_start(project, "startup"), project, NEXUS_TASK_ID=task
    )
    assert result.returncode == 0 and result.stdout.startswith("# Nexus session")
    # the session's usage, exported with no task attribute and never claimed anywhere
    now_ms = int(time.time() * 1000) - 1000
    record = UsageRecord("k", "otlp-log", Hasher()("abc123", kind="agent-session"), "m", now_ms, 7)
    otlp_receiver.store([record])
    [row] = agent_cost.cost_in(last_days(1))["tasks"]
    assert (row["task_id"], row["tokens"]) == (task, 7)
    # a task id that is not one is not recorded, and the briefing still comes
    bad = fire(
        commands["SessionStart"], session_start(project, "startup"), project, NEXUS_TASK_ID="x;y"
    )
    assert bad.returncode == 0 and bad.stdout.startswith("# Nexus session")
