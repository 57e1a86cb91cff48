"""Running the agent: its whole process group is stopped, its output is kept and searched."""

from __future__ import annotations

import os
import time
from pathlib import Path

from nexus_cli.loop.agent import _CHUNK, contains, run_agent


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as stat:
            return stat.read().rsplit(")", 1)[1].split()[0] not in ("Z", "X")
    except FileNotFoundError:
        return False


def test_prompt_on_stdin_env_cwd_and_exit_code(tmp_path: Path) -> None:
    log = tmp_path / "logs" / "run.log"
    run = run_agent(
        'cat; echo "cwd=$(pwd) id=$NEXUS_TASK_ID"; exit 4',
        "the prompt\n",
        cwd=tmp_path,
        env={**os.environ, "NEXUS_TASK_ID": "nx-abcd"},
        log_path=log,
        promise="id=nx-abcd",
    )
    assert run.exit_code == 4 and run.started and not run.timed_out
    assert run.promise_seen
    assert log.read_text() == f"the prompt\ncwd={tmp_path} id=nx-abcd\n"


def test_an_agent_that_ignores_stdin_is_fine(tmp_path: Path) -> None:
    run = run_agent(
        "true", "x" * 1_000_000, cwd=tmp_path, env=dict(os.environ), log_path=tmp_path / "l"
    )
    assert run.exit_code == 0 and not run.promise_seen


def test_timeout_stops_the_whole_group(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    run = run_agent(
        f"sleep 60 & echo $! > {pid_file}; wait",
        "",
        cwd=tmp_path,
        env=dict(os.environ),
        log_path=tmp_path / "l",
        timeout_s=1,
    )
    assert run.timed_out and run.exit_code == -1
    assert time.monotonic() - started < 10
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 5
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child)


def test_children_the_agent_left_behind_end_with_its_iteration(tmp_path: Path) -> None:
    pid_file = tmp_path / "child.pid"
    started = time.monotonic()
    run = run_agent(
        f"sleep 1000 & echo $! > {pid_file}; echo started",
        "",
        cwd=tmp_path,
        env=dict(os.environ),
        log_path=tmp_path / "l",
    )
    assert (run.exit_code, run.timed_out) == (0, False)
    assert time.monotonic() - started < 10  # the sleep's copy of the log does not hold the run
    child = int(pid_file.read_text())
    deadline = time.monotonic() + 30
    while _alive(child) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not _alive(child), "the agent's background sleep outlived its iteration"


def test_an_agent_that_cannot_start_is_logged(tmp_path: Path) -> None:
    log = tmp_path / "l"
    run = run_agent("true", "", cwd=tmp_path / "gone", env=dict(os.environ), log_path=log)
    assert (run.exit_code, run.started) == (127, False)
    assert log.read_text().startswith("[nexus] cannot start the agent: cannot start sh in ")


def test_promise_is_found_across_read_chunks(tmp_path: Path) -> None:
    path = tmp_path / "out.log"
    needle = "<promise>DONE</promise>"
    path.write_bytes(b"x" * (_CHUNK - 5) + needle.encode() + b"\n")
    assert contains(path, needle)
    assert not contains(path, "<promise>NOPE</promise>")
    assert not contains(path, "")
    assert not contains(tmp_path / "missing.log", needle)
