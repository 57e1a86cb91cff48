"""A task in review is approved into done by a person only: `nexus task approve ID` asks on the
terminal, and the core refuses an agent over MCP and the agent of `nexus loop`."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.caller import Caller
from nexus_cli.errors import UsageError
from nexus_cli.project import find_project
from nexus_cli.tasks import actions, waits
from tests.conftest import run_nexus, run_process
from tests.tasks.conftest import new_task, ok, show
from tests.tmux_terminal import nexus_command, require_tmux, terminal


def _in_review(root: Path, title: str) -> str:
    config = root / ".nexus" / "config.yaml"
    config.write_text(config.read_text().replace("require_review: false", "require_review: true"))
    task_id = new_task(title, "--gate", "true")
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    assert show(task_id)["status"] == "review"
    return task_id


def test_an_agent_cannot_approve_a_review_not_over_mcp_nor_inside_the_loop(
    tasks_project: Path,
) -> None:
    task_id = _in_review(tasks_project, "Reviewed")
    with pytest.raises(UsageError, match="an agent cannot approve: a task in review"):
        actions.change(find_project(), task_id, "approve", caller=Caller.AGENT, env={})
    with pytest.raises(UsageError, match="inside `nexus loop` is refused"):
        actions.change(find_project(), task_id, "approve", env={waits.LOOP_MARK: "1"})
    inside = run_nexus("task", "approve", task_id, env={waits.LOOP_MARK: "3"})
    assert inside.exit_code == 2 and "inside `nexus loop` is refused" in inside.stderr
    assert show(task_id)["status"] == "review"


def test_without_a_terminal_a_review_is_not_approved_whatever_stdin_says(
    tasks_project: Path,
) -> None:
    """The loop's agent runs in a session of its own, without a terminal: `yes |` cannot
    approve the work it did (exit 4), even with the loop's mark taken out of its environment."""
    task_id = _in_review(tasks_project, "Reviewed")
    done = run_process("task", "approve", task_id, input="y\n", new_session=True)
    assert done.returncode == 4, done.stderr
    assert f"approving task {task_id} needs a person at a terminal" in done.stderr
    assert "Traceback" not in done.stderr
    assert show(task_id)["status"] == "review"


def test_a_person_approves_a_review_at_a_real_terminal(tasks_project: Path) -> None:
    require_tmux()
    task_id = _in_review(tasks_project, "Sign-off")
    command = nexus_command(f"task approve {task_id}")
    for answer, code, status in (("n", 1, "review"), ("y", 0, "done")):
        with terminal(120, 30) as term:
            term.start(f"{command}; echo EXITED-$?", str(tasks_project))
            screen = term.wait(lambda s: "[y/N]" in s)
            assert f"Approve task {task_id} (Sign-off)? Its gates passed" in screen
            term.send_keys(answer, "Enter")
            screen = term.wait(lambda s: "EXITED-" in s)
            assert f"EXITED-{code}" in screen
        assert show(task_id)["status"] == status
    assert show(task_id)["status"] == "done"


def test_approving_a_task_not_in_review_says_so_without_asking(tasks_project: Path) -> None:
    task_id = new_task("Not started", "--gate", "true")
    refused = run_process("task", "approve", task_id, new_session=True)
    assert refused.returncode == 1
    assert "is open; only a task in review can be approved" in refused.stderr
