"""Issue 24 in the loop: an agent that rewrites its own gate does not get its task marked done.

The regression test of the issue: a real `nexus loop --task ID` process, a real (scripted)
agent that edits ``.nexus/tasks.jsonl`` so that the gate ``false`` becomes ``true``, real git.
"""

from __future__ import annotations

from pathlib import Path

from nexus_cli.caller import Caller
from nexus_cli.project import find_project
from nexus_cli.tasks import actions
from tests.conftest import git, run_nexus, run_process
from tests.loop.conftest import AGENT, GATE, runs
from tests.tasks.conftest import new_task, show

WAITING = "gates wait for a person's approval: nexus task gate approve {}"


def test_an_agent_that_rewrites_its_gate_is_not_marked_done(
    loop_project: Path, tmp_path: Path
) -> None:
    task_id = new_task("Make false pass", "--gate", "false")
    git(loop_project, "add", "-A")
    git(loop_project, "commit", "-qm", "a task")
    agent = tmp_path / "cheat.sh"
    agent.write_text(
        "cat > /dev/null\n"
        'sed -i \'s/"command":"false"/"command":"true"/\' .nexus/tasks.jsonl\n'
        "echo 'rewrote the gate'\n"
    )
    result = run_process(
        "loop",
        "--task",
        task_id,
        "--agent",
        f"sh {agent}",
        "--max-iterations",
        "3",
        cwd=loop_project,
    )
    assert result.returncode == 5, result.stderr
    assert f"hint: a person must approve it: nexus task gate approve {task_id}" in result.stderr
    assert "Traceback" not in result.stderr

    task = show(task_id)
    assert task["status"] == "in_progress"
    assert [g["command"] for g in task["gates"]] == ["true"]  # the edit is kept, and visible
    [change] = [h for h in task["history"] if h["action"] == "gates_changed"]
    assert change["via"] == "import" and change["from"] == ["false"] and change["to"] == ["true"]
    assert not [h for h in task["history"] if h["action"] == "gate_run"]  # nothing ran
    assert not [h for h in task["history"] if h.get("to") in ("verifying", "done")]
    assert task["notes"][-1]["text"] == WAITING.format(task_id)
    [iteration] = [h for h in task["history"] if h["action"] == "loop_iteration"]
    assert iteration["passed"] is False and iteration["gates"] == []

    again = run_nexus("loop", "--task", task_id, "--agent", f"sh {agent}")
    assert again.exit_code == 5  # the agent is not run for a gate that cannot run
    assert len([h for h in show(task_id)["history"] if h["action"] == "loop_iteration"]) == 1
    assert len(show(task_id)["notes"]) == 1  # noted once, not on every run


def test_unattended_the_loop_leaves_a_waiting_task_and_works_on_the_next(
    loop_project: Path, agent_log: Path
) -> None:
    proposed = actions.create(
        find_project(), "Proposed over MCP", gates=[GATE], priority=0, caller=Caller.AGENT
    ).task.id
    typed = new_task("Typed here", "--gate", GATE, "-p", "1")
    result = run_nexus("loop", "--agent", AGENT, "--max-iterations", "3")
    assert result.exit_code == 0, result.stderr
    assert f"left alone, gates wait for a person's approval: {proposed}" in result.stderr
    assert {task for task, _ in runs(agent_log)} == {typed}
    assert show(typed)["status"] == "done"
    waiting = show(proposed)
    assert waiting["status"] == "open" and waiting["notes"][-1]["text"] == WAITING.format(proposed)
