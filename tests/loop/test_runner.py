"""`nexus loop` with a real scripted agent: iterations, limits, history, telemetry, NDJSON."""

from __future__ import annotations

import json
import sqlite3
import time
from pathlib import Path

import pytest

from nexus_cli import paths
from tests.conftest import fold_telemetry, run_nexus
from tests.loop.conftest import AGENT, GATE, runs
from tests.tasks.conftest import new_task, ok, show


def _iterations(task_id: str) -> list[dict[str, object]]:
    return [h for h in show(task_id)["history"] if h["action"] == "loop_iteration"]


def test_two_dependent_tasks_finish_in_order_in_two_iterations_each(
    loop_project: Path, agent_log: Path
) -> None:
    second = new_task("Second", "--gate", GATE)
    first = new_task("First", "--gate", GATE)
    ok("task", "dep", "add", second, first)
    result = run_nexus("loop", "--agent", AGENT)
    assert result.exit_code == 0, result.stderr
    assert runs(agent_log) == [(first, 1), (first, 2), (second, 1), (second, 2)]
    for task_id in (first, second):
        assert show(task_id)["status"] == "done"
        its = _iterations(task_id)
        assert [(h["iteration"], h["passed"]) for h in its] == [(1, False), (2, True)]
        assert its[0]["agent_exit_code"] == 0
        assert its[0]["gates"] == [{"command": GATE, "passed": False, "exit_code": 1}]
    history = ok("task", "history", first).stdout
    assert "loop_iteration" in history and "iteration=2" in history
    # the second prompt carries the failed gate from the first iteration
    prompt = (agent_log / f"prompt-{first}-2.md").read_text()
    assert f"`{GATE}`" in prompt and "FAILED (exit 1)" in prompt
    assert "iteration 2 of at most 10" in prompt
    assert "FAILED" not in (agent_log / f"prompt-{first}-1.md").read_text()


def test_the_agent_names_its_task_to_opentelemetry(
    loop_project: Path, agent_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=web,nexus.task.id=nx-old1")
    task_id = new_task("Exported", "--gate", GATE)
    assert run_nexus("loop", "--agent", AGENT, "--task", task_id).exit_code == 0
    attributes = (agent_log / f"otel-{task_id}-1.txt").read_text()
    assert attributes == f"team=web,nexus.task.id={task_id}"


def test_iterations_are_loop_telemetry_events(loop_project: Path, agent_log: Path) -> None:
    task_id = new_task("Measured", "--gate", GATE)
    assert run_nexus("loop", "--agent", AGENT, "--task", task_id).exit_code == 0
    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    rows = conn.execute(
        "SELECT command, success, exit_code, raw_data, error_category FROM events "
        "WHERE event_type = 'loop' ORDER BY id"
    ).fetchall()
    conn.close()
    per_iteration = [r for r in rows if r[0] == "loop iteration"]
    assert [json.loads(r[3])["metrics"]["iteration"] for r in per_iteration] == [1, 2]
    assert [(r[1], r[2], r[4]) for r in per_iteration] == [(0, 3, "gate_failed"), (1, 0, None)]
    assert [r[0] for r in rows][-1] == "loop"  # the command's own event, once
    assert task_id not in "".join(str(r) for r in rows)  # ids are hashed


def test_max_iterations_runs_the_agent_exactly_that_often(
    loop_project: Path, agent_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTED_AGENT_MODE", "never")
    task_id = new_task("Never passes", "--gate", GATE)
    result = run_nexus("loop", "--agent", AGENT, "--max-iterations", "3")
    assert result.exit_code == 1
    assert runs(agent_log) == [(task_id, 1), (task_id, 2), (task_id, 3)]
    task = show(task_id)
    assert task["status"] == "in_progress" and task["assignee"] == "alice"
    assert "3 iterations without passing gates" in task["notes"][-1]["text"]
    assert "stays in progress" in result.stderr


def test_two_failed_agent_runs_in_a_row_stop_the_loop(
    loop_project: Path, agent_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTED_AGENT_EXIT", "7")
    monkeypatch.setenv("SCRIPTED_AGENT_MODE", "never")
    task_id = new_task("Crashing agent", "--gate", GATE)
    result = run_nexus("loop", "--agent", AGENT, "--json")
    assert result.exit_code == 1
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [(x["iteration"], x["agent_exit_code"], x["passed"]) for x in lines] == [
        (1, 7, False),
        (2, 7, False),
    ]
    assert "non-zero twice in a row" in show(task_id)["notes"][-1]["text"]


def test_completion_promise_stops_and_gates_still_decide(
    loop_project: Path, agent_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTED_AGENT_MODE", "never")
    monkeypatch.setenv("SCRIPTED_AGENT_PROMISE", "<promise>DONE</promise>")
    task_id = new_task("Claims done", "--gate", GATE)
    result = run_nexus(
        "loop", "--agent", AGENT, "--completion-promise", "<promise>DONE</promise>", "--json"
    )
    assert result.exit_code == 1
    assert runs(agent_log) == [(task_id, 1)]
    assert json.loads(result.stdout)["promise_seen"] is True
    assert show(task_id)["status"] == "in_progress"
    assert "completion promise" in show(task_id)["notes"][-1]["text"]


def test_without_an_agent_it_refuses_and_your_config_supplies_one(
    loop_project: Path, agent_log: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    task_id = new_task("Configured", "--gate", GATE)
    refused = run_nexus("loop")
    assert refused.exit_code == 2 and "no agent command" in refused.stderr
    assert show(task_id)["status"] == "open"
    mine = tmp_path / "my-config"
    mine.mkdir()
    monkeypatch.setenv("NEXUS_CONFIG_HOME", str(mine))
    (mine / "config.yaml").write_text(f"loop:\n  agent: {json.dumps(AGENT)}\n")
    assert run_nexus("loop").exit_code == 0
    assert show(task_id)["status"] == "done"


def test_a_committed_loop_agent_never_runs_on_its_own(
    loop_project: Path, agent_log: Path, tmp_path: Path
) -> None:
    """Issue 25, cause 2: `loop.agent` in .nexus/config.yaml is repository content."""
    task_id = new_task("Committed", "--gate", GATE)
    marker = tmp_path / "committed-agent-ran"
    committed = f"touch {marker}"
    config = loop_project / ".nexus" / "config.yaml"
    config.write_text(config.read_text() + f"loop:\n  agent: {json.dumps(committed)}\n")
    refused = run_nexus("loop")
    assert refused.exit_code == 2, refused.stderr
    assert "loop.agent in .nexus/config.yaml is repository content" in refused.stderr
    assert f"--agent 'touch {marker}'" in refused.stderr  # shown, to run after reading it
    assert not marker.exists()
    assert show(task_id)["status"] == "open"


def test_nothing_ready_is_not_an_error(loop_project: Path, agent_log: Path) -> None:
    result = run_nexus("loop", "--agent", AGENT)
    assert result.exit_code == 0 and "nothing is ready" in result.stderr
    assert runs(agent_log) == []


def test_a_task_without_gates_is_refused(loop_project: Path, agent_log: Path) -> None:
    task_id = new_task("No gates")
    result = run_nexus("loop", "--agent", AGENT, "--task", task_id)
    assert result.exit_code == 2 and "no gates" in result.stderr


def test_a_blocked_task_is_refused(loop_project: Path, agent_log: Path) -> None:
    first = new_task("First", "--gate", GATE)
    second = new_task("Second", "--gate", GATE, "--depends-on", first)
    result = run_nexus("loop", "--agent", AGENT, "--task", second)
    assert result.exit_code == 1 and f"blocked by {first}" in result.stderr
    assert runs(agent_log) == []


def test_max_minutes_stops_a_running_agent(
    loop_project: Path, agent_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTED_AGENT_SLEEP", "30")
    task_id = new_task("Slow", "--gate", GATE)
    result = run_nexus("loop", "--agent", AGENT, "--max-minutes", "0.02", "--json")
    assert result.exit_code == 1
    line = json.loads(result.stdout)
    assert line["agent_timed_out"] is True and line["gates"] == []
    task = show(task_id)
    assert task["status"] == "in_progress"
    assert "time limit of 0.02 minutes" in task["notes"][-1]["text"]


def test_an_agent_run_has_a_deadline_without_max_minutes(
    loop_project: Path, agent_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from nexus_cli.loop import runner

    monkeypatch.setattr(runner, "AGENT_RUN_S", 1.2)  # the default is hours: the bound, not its size
    monkeypatch.setenv("SCRIPTED_AGENT_SLEEP", "30")
    task_id = new_task("Hangs", "--gate", GATE)
    result = run_nexus("loop", "--agent", AGENT, "--json")
    assert result.exit_code == 1, result.stderr
    assert json.loads(result.stdout)["agent_timed_out"] is True
    assert "the agent run passed its limit of 0.02 minutes" in show(task_id)["notes"][-1]["text"]


def test_no_loop_events_when_telemetry_is_off(
    loop_project: Path, agent_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_TELEMETRY_DISABLED", "1")
    task_id = new_task("Private", "--gate", GATE)
    assert run_nexus("loop", "--agent", AGENT, "--task", task_id).exit_code == 0
    fold_telemetry()
    db = paths.telemetry_db_path()
    if db.exists():
        conn = sqlite3.connect(db)
        count = conn.execute("SELECT count(*) FROM events WHERE event_type = 'loop'").fetchone()
        conn.close()
        assert count == (0,)


def test_a_background_process_of_the_agent_ends_with_the_iteration(
    loop_project: Path, tmp_path: Path
) -> None:
    """An agent that starts `sleep 1000 &` and exits: once `nexus loop` is done, the sleep is gone."""
    import time

    task_id = new_task("Background", "--gate", GATE)
    pid_file = tmp_path / "sleep.pid"
    agent = f"sleep 1000 & echo $! > {pid_file}; echo ok > status.txt"
    result = run_nexus("loop", "--agent", agent, "--task", task_id)
    assert result.exit_code == 0, result.stderr
    assert show(task_id)["status"] == "done"
    sleeper = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while _running(sleeper) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _running(sleeper), "the agent's `sleep 1000 &` outlived the loop iteration"


def _running(pid: int) -> bool:
    """Running (a zombie waiting for init to reap it counts as ended)."""
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_a_missing_agent_command_stops_instead_of_completing(
    loop_project: Path, agent_log: Path
) -> None:
    task_id = new_task("Passes already", "--gate", "true")
    result = run_nexus("loop", "--agent", "nexus-test-no-such-agent")
    assert result.exit_code == 1
    assert "agent command was not found (exit 127)" in result.stderr, result.stderr
    task = show(task_id)
    assert task["status"] == "in_progress"
    assert not any(h["action"] == "gate_run" for h in task["history"])


def test_iterations_continue_on_resume_and_keep_their_logs(
    loop_project: Path, agent_log: Path
) -> None:
    task_id = new_task("Resumed", "--gate", GATE)
    first = run_nexus("loop", "--agent", AGENT, "--max-iterations", "1")
    assert first.exit_code == 1
    second = run_nexus("loop", "--agent", AGENT, "--task", task_id)
    assert second.exit_code == 0, second.stderr
    assert runs(agent_log) == [(task_id, 1), (task_id, 2)]
    assert [h["iteration"] for h in _iterations(task_id)] == [1, 2]
    logs = loop_project / ".nexus" / "state" / "loop"
    assert "made a first attempt" in (logs / f"{task_id}-1.log").read_text()
    assert "fixed it" in (logs / f"{task_id}-2.log").read_text()
    assert show(task_id)["status"] == "done"


def test_the_same_gate_failure_trips_the_circuit_breaker(
    loop_project: Path, agent_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTED_AGENT_MODE", "never")
    task_id = new_task("Stuck", "--gate", GATE)
    result = run_nexus("loop", "--agent", AGENT, "--max-iterations", "10", "--same-failure", "2")
    assert result.exit_code == 1
    assert runs(agent_log) == [(task_id, 1), (task_id, 2)]
    assert "failed with the same output 2 times in a row" in show(task_id)["notes"][-1]["text"]


def test_the_iteration_timeout_ends_one_agent_run(
    loop_project: Path, agent_log: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("SCRIPTED_AGENT_SLEEP", "120")
    task_id = new_task("Slow", "--gate", GATE)
    started = time.monotonic()
    result = run_nexus("loop", "--agent", AGENT, "--iteration-timeout", "1")
    assert result.exit_code == 1
    assert time.monotonic() - started < 60
    assert "iteration timeout of 1 s" in show(task_id)["notes"][-1]["text"]


def test_a_task_left_waiting_for_a_person_is_noted_and_the_loop_moves_on(
    loop_project: Path, tmp_path: Path
) -> None:
    """The agent's commands pass but an approval gate waits: the loop runs the agent once, notes
    what the task waits on, and takes the next task. The agent (in the loop's environment) that
    tries to approve in the person's place is refused."""
    from tests.conftest import nexus_exe

    waiting = new_task("Needs bob", "-p", "0", "--gate", "true", "--wait", "approval:bob")
    plain = new_task("Plain", "-p", "1", "--gate", "true")
    agent = tmp_path / "agent.sh"
    tried = tmp_path / "tried"
    nexus = " ".join(nexus_exe())
    agent.write_text(
        "cat > /dev/null\n"
        f'{nexus} task approve "$NEXUS_TASK_ID" --as bob </dev/null 2>>{tried}; '
        f'echo "exit $?" >> {tried}\n'
    )
    result = run_nexus("loop", "--agent", f"sh {agent}")
    assert result.exit_code == 0, result.stderr  # an agent's nexus call left the loop's store whole
    assert f"left alone, waiting gates not satisfied: {waiting}" in result.stderr
    assert show(plain)["status"] == "done"
    task = show(waiting)
    assert task["status"] == "in_progress"
    assert task["notes"][-1]["text"] == (
        "nexus loop left it: waiting on approval: bob (waits for bob's approval)"
    )
    assert len(_iterations(waiting)) == 1  # not run again for what it cannot do
    assert not [h for h in task["history"] if h["action"] == "approval"]
    log = tried.read_text()
    assert "inside `nexus loop` is refused" in log and "exit 2" in log
