"""Host gates run as process groups (`gates.run_on_host` over `nexus_cli.proc`): nothing of a gate
survives a timeout, SIGTERM or a kill; one `task complete` of a task at a time, and a stale
`verifying` is taken over. The process-group mechanics themselves are tested in tests/test_proc.py."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from nexus_cli import ownership
from nexus_cli.proc import group_alive
from nexus_cli.tasks.gates import GateResult, run_on_host
from nexus_cli.tasks.model import Gate
from tests.conftest import nexus_exe, run_nexus
from tests.processes import running_members
from tests.tasks.conftest import approve_as_person, new_task, ok, show


def _wait_for(path: Path, timeout: float = 30) -> str:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if path.exists() and path.read_text().strip():
            return path.read_text().strip()
        time.sleep(0.05)
    raise AssertionError(f"{path} never appeared")


def _group_gone(pgid: int, timeout: float = 10) -> bool:
    """No process of ``pgid`` is left (init reaps the killed orphans shortly after)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not group_alive(pgid) or not running_members(pgid):
            return True
        time.sleep(0.05)
    return False


def run_group(command: str, cwd: Path, timeout_s: float) -> GateResult:
    return run_on_host(Gate(command, timeout_s), cwd)


def _kill_group(pgid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.killpg(pgid, signal.SIGKILL)


def test_timeout_terminates_the_whole_group(tmp_path: Path) -> None:
    pidfile = tmp_path / "pgid"
    command = f"echo $$ > {pidfile}; sh -c 'sleep 300 & sleep 300'"
    start = time.monotonic()
    outcome = run_group(command, tmp_path, 1)
    assert outcome.timed_out and outcome.exit_code == -1 and not outcome.passed
    assert time.monotonic() - start < 10
    pgid = int(pidfile.read_text())
    assert _group_gone(pgid), f"processes of gate group {pgid} survived the timeout"
    assert running_members(pgid) == []  # only zombies (if any) wait for init to reap them


def test_children_left_behind_by_a_finished_gate_are_terminated(tmp_path: Path) -> None:
    pidfile = tmp_path / "pgid"
    start = time.monotonic()
    outcome = run_group(f"echo $$ > {pidfile}; sleep 300 & echo done", tmp_path, 60)
    assert outcome.exit_code == 0 and "done" in outcome.output_tail
    assert time.monotonic() - start < 10  # not held open by the child's copy of stdout
    assert _group_gone(int(pidfile.read_text()))


def test_a_child_ignoring_sigterm_is_killed_after_the_grace_period(tmp_path: Path) -> None:
    pidfile = tmp_path / "pgid"
    command = f"echo $$ > {pidfile}; sh -c 'trap \"\" TERM; sleep 300' & sleep 300"
    outcome = run_group(command, tmp_path, 1)
    assert outcome.timed_out
    assert _group_gone(int(pidfile.read_text()))


def _started(tasks_project: Path, gate: str) -> str:
    task_id = new_task("Gate", "--gate", gate)
    ok("task", "start", task_id)
    return task_id


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGHUP, 129, "hung up")],  # SIGHUP: a
)  # terminal that closed (a tab, an ssh connection that dropped) ends the command the same way
def test_sigterm_during_complete_kills_the_gate_group_and_moves_the_task_back(
    tasks_project: Path, signum: int, code: int, said: str
) -> None:
    pidfile = tasks_project / "pgid"
    task_id = _started(tasks_project, "echo $$ > pgid; sh -c 'sleep 300 & sleep 300'")
    proc = subprocess.Popen(
        [*nexus_exe(), "task", "complete", task_id],
        cwd=tasks_project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    pgid = int(_wait_for(pidfile))
    try:
        proc.send_signal(signum)
        _, err = proc.communicate(timeout=300)
        assert proc.returncode == code, err
        assert err.splitlines().count(said) == 1 and err.splitlines()[-1] == said, err
        assert "Traceback" not in err
        assert _group_gone(pgid), "the gate's children survived the signal"
    finally:
        _kill_group(pgid)
    data = show(task_id)
    assert data["status"] == "in_progress"
    assert data["history"][-1]["reason"] == f"gates {said}"


def test_an_ignored_sighup_stays_ignored(tasks_project: Path) -> None:
    """Started under ``nohup`` (SIGHUP ignored), a command runs on when its terminal closes."""
    task_id = _started(tasks_project, "echo $$ > pgid; sleep 1")
    proc = subprocess.Popen(
        ["sh", "-c", 'trap "" HUP; exec "$@"', "sh", *nexus_exe(), "task", "complete", task_id],
        cwd=tasks_project,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    _wait_for(tasks_project / "pgid")
    proc.send_signal(signal.SIGHUP)
    _, err = proc.communicate(timeout=300)
    assert proc.returncode == 0, err
    assert show(task_id)["status"] == "done"


@pytest.mark.slow
def test_five_parallel_completes_run_the_gates_once(tasks_project: Path) -> None:
    task_id = _started(tasks_project, "echo run >> count; sleep 6")
    procs = [
        subprocess.Popen(
            [*nexus_exe(), "task", "complete", task_id],
            cwd=tasks_project,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(5)
    ]
    outcomes = [(p.wait(timeout=120), *p.communicate()) for p in procs]
    assert (tasks_project / "count").read_text().splitlines() == ["run"]
    codes = sorted(code for code, _, _ in outcomes)
    assert codes == [0, 1, 1, 1, 1], outcomes
    for code, _, err in outcomes:
        if code == 1:
            assert len(err.strip().splitlines()) == 1, err
            assert "already verifying" in err or "is done" in err, err
    assert sum("already verifying" in err for _, _, err in outcomes) >= 1
    assert show(task_id)["status"] == "done"


def test_a_stale_verification_is_taken_over(tasks_project: Path) -> None:
    pidfile = tasks_project / "pgid"
    task_id = _started(tasks_project, "test -f go || { echo $$ > pgid; sleep 300; }")
    proc = subprocess.Popen(
        [*nexus_exe(), "task", "complete", task_id],
        cwd=tasks_project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pgid = int(_wait_for(pidfile))
    proc.kill()  # SIGKILL: no cleanup can run, the task stays verifying, its gate runs on
    proc.wait(timeout=30)
    try:
        assert show(task_id)["status"] == "verifying"
        assert running_members(pgid)
        (tasks_project / "go").write_text("")
        result = run_nexus("task", "complete", task_id)
        assert result.exit_code == 0, result.stderr
        assert "took over" in result.stderr and str(proc.pid) in result.stderr
        # the gate the killed run left running is ended before the gates run again
        assert "ended 2 gate processes it left running" in result.stderr
        assert _group_gone(pgid)
    finally:
        _kill_group(pgid)
    data = show(task_id)
    assert data["status"] == "done"
    assert any(h["action"] == "verification_taken_over" for h in data["history"])


def test_a_live_verification_is_not_taken_over(tasks_project: Path) -> None:
    pidfile = tasks_project / "pgid"
    task_id = _started(tasks_project, "echo $$ > pgid; sleep 300")
    proc = subprocess.Popen(
        [*nexus_exe(), "task", "complete", task_id],
        cwd=tasks_project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    pgid = int(_wait_for(pidfile))
    try:
        result = run_nexus("task", "complete", task_id)
        assert result.exit_code == 1
        assert result.stderr.splitlines() == [
            f"error: task {task_id} is already verifying (pid {proc.pid}, by alice); "
            "wait for it to finish"
        ]
    finally:
        proc.send_signal(signal.SIGINT)
        proc.wait(timeout=30)
        _kill_group(pgid)
    assert show(task_id)["status"] == "in_progress"


def test_complete_with_a_timed_out_gate_leaves_no_process(tasks_project: Path) -> None:
    task_id = new_task(
        "Slow", "--gate", "echo $$ > pgid; sh -c 'sleep 300 & sleep 300'", "--gate-timeout", "1"
    )
    ok("task", "start", task_id)
    result = run_nexus("task", "complete", task_id)
    assert result.exit_code == 3 and "timed out" in result.stderr
    pgid = int((tasks_project / "pgid").read_text())
    try:
        assert _group_gone(pgid), "the timed-out gate's children survived"
    finally:
        _kill_group(pgid)
    assert show(task_id)["status"] == "in_progress"


def _verifying_since(tasks_project: Path, pid: int, start: str) -> str:
    """A task that ``tasks.jsonl`` says is verifying, owned by ``pid`` started at ``start``."""
    entry = {"at": "t1", "by": "bob", "action": "transition", "from": "in_progress"}
    entry.update(to="verifying", pid=pid, host=ownership.host_tag(), start=start, token="0ld")
    line = {"id": "nx-reus", "title": "Reused", "status": "verifying", "history": [entry]}
    line["gates"] = [{"command": "true"}]
    (tasks_project / ".nexus" / "tasks.jsonl").write_text(json.dumps(line) + "\n")
    approve_as_person("nx-reus")
    return "nx-reus"


def test_a_reused_pid_does_not_block_completion(tasks_project: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])  # runs with the pid, started after the owner
    try:
        start = ownership.process_start(sleeper.pid)
        assert start
        boot, ticks = start.rsplit(":", 1)
        task_id = _verifying_since(tasks_project, sleeper.pid, f"{boot}:{int(ticks) - 1}")
        result = run_nexus("task", "complete", task_id)
        assert result.exit_code == 0, result.stderr
        assert "took over" in result.stderr
    finally:
        sleeper.kill()
        sleeper.wait()


def test_a_live_owner_is_respected_whatever_program_it_runs(tasks_project: Path) -> None:
    sleeper = subprocess.Popen(["sleep", "60"])
    try:
        start = ownership.process_start(sleeper.pid)
        assert start
        task_id = _verifying_since(tasks_project, sleeper.pid, start)
        result = run_nexus("task", "complete", task_id)
        assert result.exit_code == 1
        assert f"is already verifying (pid {sleeper.pid}, by bob)" in result.stderr
    finally:
        sleeper.kill()
        sleeper.wait()
    assert run_nexus("task", "complete", task_id).exit_code == 0  # gone: taken over


# --- run_on_host, one behaviour at a time ---------------------------------------------------------


def test_the_shell_leads_its_own_session_with_stdin_from_dev_null(tmp_path: Path) -> None:
    saved, (read_end, write_end) = os.dup(0), os.pipe()
    os.dup2(read_end, 0)  # whatever stdin the caller has, the gate must not inherit it
    try:
        script = "cut -d' ' -f5,6 /proc/$$/stat; echo $$; readlink /proc/$$/fd/0; echo err >&2"
        outcome = run_group(f"{script}; printf 'bad\\377\\n'; pwd", tmp_path, 30)
    finally:
        os.dup2(saved, 0)
        for fd in (saved, read_end, write_end):
            os.close(fd)
    lines = outcome.output_tail.splitlines()
    assert lines[0].split() == [lines[1], lines[1]]  # process group and session are its pid
    assert lines[2:] == ["/dev/null", "err", "bad\ufffd", str(tmp_path.resolve())]
    assert (outcome.exit_code, outcome.timed_out, outcome.passed) == (0, False, True)


def test_exit_code_and_output_of_a_finished_shell(tmp_path: Path) -> None:
    outcome = run_group("echo one; exit 4", tmp_path, 30)
    assert (outcome.exit_code, outcome.output_tail, outcome.timed_out) == (4, "one", False)


def test_a_timeout_keeps_the_output_and_says_so(tmp_path: Path) -> None:
    outcome = run_group("echo before; sleep 30", tmp_path, 0.5)
    assert (outcome.exit_code, outcome.timed_out) == (-1, True)
    assert outcome.output_tail == "before\n\n[nexus] gate timed out after 0.5s"


def test_a_quick_gate_returns_at_once(tmp_path: Path) -> None:
    times = []
    for _ in range(2):  # the faster of two runs: a loaded machine may slow one down
        start = time.monotonic()
        assert run_group("echo hi", tmp_path, 30).output_tail == "hi"
        times.append(time.monotonic() - start)
    assert min(times) < 0.9


def test_a_process_that_left_the_group_does_not_hold_the_gate(tmp_path: Path) -> None:
    start = time.monotonic()
    outcome = run_group("setsid sleep 3 & sleep 0.2; echo hi", tmp_path, 30)
    assert time.monotonic() - start < 1.9  # about one second of waiting for the pipe, not three
    assert (outcome.exit_code, outcome.output_tail, outcome.timed_out) == (0, "hi", False)
