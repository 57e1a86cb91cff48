"""What the loop's agent does to its task other than through its gates: a status written into
tasks.jsonl by hand is recorded as an import and stops the loop; the review is not its to
approve; iteration numbers in the prompt go on across runs."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path

from tests.conftest import run_nexus
from tests.loop.conftest import GATE
from tests.tasks.conftest import new_task, ok, show

# An agent that marks its own task done by rewriting its line of tasks.jsonl.
MARK_DONE = (
    "import json, os\n"
    "p = '.nexus/tasks.jsonl'\n"
    "rows = [json.loads(x) for x in open(p).read().splitlines()]\n"
    "for r in rows:\n"
    "    if r['id'] == os.environ['NEXUS_TASK_ID']:\n"
    "        r['status'] = 'done'\n"
    "open(p, 'w').write(''.join(json.dumps(r) + chr(10) for r in rows))\n"
)


def test_a_status_written_by_hand_is_recorded_and_stops_the_loop(
    loop_project: Path, tmp_path: Path
) -> None:
    script = tmp_path / "mark_done.py"
    script.write_text(MARK_DONE)
    task_id = new_task("Cheated", "--gate", GATE)
    agent = f"{shlex.quote(sys.executable)} {shlex.quote(str(script))}"
    result = run_nexus("loop", "--agent", agent, "--task", task_id)
    assert result.exit_code == 1
    assert (
        f"task {task_id} became done during the agent's run (written into tasks.jsonl, "
        "not through its gates); the loop stops" in result.stderr
    )
    history = show(task_id)["history"]
    moved = [h for h in history if h["action"] == "transition" and h.get("via") == "import"]
    assert [(h["from"], h["to"], h["by"]) for h in moved] == [
        ("in_progress", "done", "nexus (import)")
    ]
    assert not [h for h in history if h["action"] == "gate_run"]  # no gate ran for it
    its = [h for h in history if h["action"] == "loop_iteration"]
    assert len(its) == 1 and its[0]["gates"] == []
    assert "via=import" in ok("task", "history", task_id).stdout


def test_a_teammates_recorded_move_is_not_recorded_twice(loop_project: Path) -> None:
    """A status whose move the file's own history tells (a teammate's Nexus made it) adds no
    entry on import."""
    task_id = new_task("Shared", "--gate", "true")
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    jsonl = loop_project / ".nexus" / "tasks.jsonl"
    text = jsonl.read_text()
    ok("task", "reopen", task_id)
    jsonl.write_text(text)  # back to the line where its own history ends in done
    assert show(task_id)["status"] == "done"
    assert not [h for h in show(task_id)["history"] if h.get("via") == "import"]


def test_the_prompt_counts_iterations_across_runs_against_this_runs_last(
    loop_project: Path, agent_log: Path
) -> None:
    task_id = new_task("Resumed", "--gate", GATE)
    for _ in range(2):
        run_nexus("loop", "--agent", f"{shlex.quote(sys.executable)} -c pass", "--task", task_id)
    first_runs = len([h for h in show(task_id)["history"] if h["action"] == "loop_iteration"])
    prompt = agent_log / "prompt.md"
    agent = f"cat > {shlex.quote(str(prompt))}"
    agent_log.mkdir(exist_ok=True)
    run_nexus("loop", "--agent", agent, "--task", task_id, "--max-iterations", "1")
    number = first_runs + 1
    assert f"This is iteration {number} of at most {number} of `nexus loop`." in prompt.read_text()


def test_history_shows_lists_and_mappings_as_json_not_python(loop_project: Path) -> None:
    task_id = new_task("Shown", "--gate", "false")
    ok("task", "start", task_id)
    run_nexus("task", "complete", task_id)
    shown = ok("task", "history", task_id).stdout
    assert "passed=false" in shown and "False" not in shown
    run_nexus("loop", "--agent", "true", "--task", task_id, "--max-iterations", "1")
    shown = ok("task", "history", task_id).stdout
    assert 'gates=[{"command":"false","passed":false' in shown and "'command'" not in shown
