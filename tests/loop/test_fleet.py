"""`nexus fleet`: real git, real processes, scripted agents, the merge queue at the end."""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.commands import fleet as fleet_command
from nexus_cli.errors import NexusError
from nexus_cli.loop import fleet as fleet_run
from nexus_cli.loop import fleet_state, pick
from nexus_cli.project import find_project
from nexus_cli.tasks import merge_queue, merge_run
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Task
from tests.conftest import fold_telemetry, git, nexus_exe
from tests.tasks.conftest import new_task, ok, show

AGENT = f"{sys.executable} {Path(__file__).with_name('fleet_agent.py')}"


def _poll(check: Callable[[], bool], what: str, seconds: float = 120) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        if check():
            return
        time.sleep(0.1)
    raise AssertionError(f"timed out waiting for {what}")


def _fleet(*args: str, env: dict[str, str] | None = None) -> subprocess.Popen[str]:
    return subprocess.Popen(
        [*nexus_exe(), "fleet", "run", "--agent", AGENT, *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )


def _merged_once(task_id: str) -> bool:
    history = show(task_id)["history"]
    return [h.get("outcome") for h in history if h["action"] == "merge_queue"] == ["merged"]


def test_a_loop_that_gives_up_ends_its_part_without_waiting_for_the_lease(
    loop_project: Path,
) -> None:
    """A loop that stops by itself (here: one iteration without passing gates) leaves its task
    claimed with a note, as `nexus loop` by hand does; the fleet reports it stopped at once
    instead of waiting for the lease (15 minutes by default) to restart it."""
    stuck = new_task("stuck", "--gate", "false")
    fleet = _fleet("--max-iterations", "1", "--json")
    out, err = fleet.communicate(timeout=300)  # a hang guard: the lease alone is 900 s
    assert fleet.returncode == 1, err
    assert json.loads(out) == {
        "merged": [],
        "sent_back": [],
        "stopped": [stuck],
        "interrupted": False,
    }
    task = show(stuck)
    assert task["status"] == "in_progress"
    assert task["notes"][-1]["text"] == "nexus loop stopped: 1 iteration without passing gates"
    events = [h.get("event") for h in task["history"] if h["action"] == "fleet"]
    assert events[-2:] == ["agent_started", "agent_finished"] and "reclaimed" not in events
    assert (loop_project / ".nexus" / "worktrees" / f"task-{stuck.removeprefix('nx-')}").is_dir()


def test_a_gate_the_agent_added_ends_its_part_without_waiting_for_the_lease(
    loop_project: Path,
) -> None:
    """The agent adds a gate to its own task: the loop stops (exit 5) since that gate waits for
    a person's approval, and the fleet reports the task stopped at once, as for a loop that gave
    up, instead of waiting for its lease."""
    task_id = new_task("gate-adder", "--gate", "true")
    fleet = _fleet("--json")
    out, err = fleet.communicate(timeout=300)  # a hang guard: the lease alone is 900 s
    assert fleet.returncode == 1, err
    assert json.loads(out)["stopped"] == [task_id]
    task = show(task_id)
    assert task["notes"][-1]["text"] == pick.waiting_note(task_id)
    events = [h.get("event") for h in task["history"] if h["action"] == "fleet"]
    assert events[-2:] == ["agent_started", "agent_finished"] and "reclaimed" not in events


def _worktrees(repo: Path) -> list[str]:
    return [line.split()[0] for line in git(repo, "worktree", "list").splitlines() if line]


def test_a_fleet_finishes_every_task_and_merges_each_once(loop_project: Path) -> None:
    a = new_task("a", "--gate", "test -f a.txt")
    b = new_task("b", "--gate", "test -f b.txt && test -f a.txt")  # only true once a is merged
    c = new_task("c", "--gate", "test -f c.txt")
    ok("task", "dep", "add", b, a)

    fleet = _fleet("--agents", "2", "--json")
    out, err = fleet.communicate(timeout=600)

    assert fleet.returncode == 0, err
    assert sorted(json.loads(out)["merged"]) == sorted([a, b, c])
    for task_id in (a, b, c):
        assert show(task_id)["status"] == "done"
        assert _merged_once(task_id)
    files = set(git(loop_project, "ls-tree", "--name-only", "main").split())
    assert {"a.txt", "b.txt", "c.txt"} <= files
    history = show(b)["history"]
    started = next(i for i, h in enumerate(history) if h.get("event") == "agent_started")
    assert any(h.get("event") == "agent_finished" for h in history[started:])
    [merged] = [h for h in history if h["action"] == "merge_queue"]
    assert merged["gates"][0]["passed"]  # the gates ran again on the combined tree
    assert history[-1]["event"] == "merge_merged"
    env = json.loads((loop_project / "a.env.json").read_text())
    assert env["NEXUS_WORKSPACE"] == f"task-{a.removeprefix('nx-')}"
    assert _worktrees(loop_project) == [str(loop_project)]  # every workspace deleted
    fold_telemetry()
    conn = sqlite3.connect(paths.telemetry_db_path())
    commands = [
        r[0] for r in conn.execute("SELECT command FROM events WHERE command LIKE 'fleet %'")
    ]
    conn.close()
    for what in ("agent_started", "agent_finished", "merge_merged"):
        assert commands.count(f"fleet {what}") == 3
    status = ok("fleet", "status", "--json").json()
    assert status["running"] is False and status["agents"] == []
    assert status["queue"]["entries"] == []


def test_an_agent_killed_mid_task_loses_its_lease_and_the_task_runs_again(
    loop_project: Path, tmp_path: Path
) -> None:
    hang = tmp_path / "hang"
    hang.mkdir()
    task_id = new_task("hang-once", "--gate", "test -f hang-once.txt")
    project = find_project()
    fleet = _fleet("--agents", "1", "--lease", "2", env={"FLEET_AGENT_HANG": str(hang)})
    mark = hang / "hang-once.pid"
    _poll(mark.exists, "the agent to start")
    state = json.loads((project.state_dir / "fleet.json").read_text())
    [agent] = state["agents"]
    os.kill(int(mark.read_text()), signal.SIGKILL)  # the agent ...
    os.kill(agent["pid"], signal.SIGKILL)  # ... and the loop that held the lease: no heartbeat

    _out, err = fleet.communicate(timeout=600)

    assert fleet.returncode == 0, err
    events = [h.get("event") or h["action"] for h in show(task_id)["history"]]
    assert "reclaimed" in events or "reclaim" in events
    assert events.count("agent_started") == 2
    assert show(task_id)["status"] == "done" and _merged_once(task_id)


@pytest.mark.parametrize(
    ("signum", "code", "said"),
    [(signal.SIGTERM, 143, "stopped by SIGTERM"), (signal.SIGHUP, 129, "stopped by SIGHUP")],
)
def test_sigterm_ends_every_agent_and_releases_its_task(
    loop_project: Path, tmp_path: Path, signum: int, code: int, said: str
) -> None:
    hang = tmp_path / "hang"
    hang.mkdir()
    task_id = new_task("hang-long", "--gate", "test -f hang-long.txt")
    fleet = _fleet("--agents", "1", env={"FLEET_AGENT_HANG": str(hang)})
    mark = hang / "hang-long.pid"
    _poll(mark.exists, "the agent to start")
    agent_pid = int(mark.read_text())

    fleet.send_signal(signum)
    _out, err = fleet.communicate(timeout=120)

    assert fleet.returncode == code, err
    assert said in err
    _poll(
        lambda: not os.path.exists(f"/proc/{agent_pid}") or _zombie(agent_pid), "the agent to end"
    )
    task = show(task_id)
    assert task["status"] == "open"
    assert "nexus fleet stopped" in task["notes"][-1]["text"]
    assert merge_queue.read(find_project()).entries == []
    workspace = loop_project / ".nexus" / "worktrees" / f"task-{task_id.removeprefix('nx-')}"
    assert workspace.is_dir()  # kept whole, with the work in it


def _zombie(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as fh:
            return fh.read().rsplit(")", 1)[1].split()[0] == "Z"
    except OSError:
        return True


def test_two_conflicting_tasks_the_second_goes_back_and_main_stays_whole(
    loop_project: Path,
) -> None:
    first = new_task("left", "--gate", "test -f left.txt")
    second = new_task("right", "--gate", "test -f right.txt")

    fleet = _fleet("--agents", "2", "--json", env={"FLEET_AGENT_SHARED": "shared.txt"})
    out, err = fleet.communicate(timeout=600)

    assert fleet.returncode == 1, err  # a task was sent back
    assert out, err
    result = json.loads(out)
    [merged] = result["merged"]
    [back] = set(result["sent_back"])  # tried again on its own branch, conflicting again
    assert {merged, back} == {first, second}
    winner = "left" if merged == first else "right"
    assert git(loop_project, "show", "main:shared.txt") == f"{winner}\n"
    files = set(git(loop_project, "ls-tree", "--name-only", "main").split())
    loser = "right" if winner == "left" else "left"
    assert f"{winner}.txt" in files and f"{loser}.txt" not in files  # never half-merged
    assert git(loop_project, "status", "--porcelain", "--untracked-files=no") == ""
    task = show(back)
    assert task["status"] == "open"
    assert "conflicts" in task["notes"][-1]["text"] and "shared.txt" in task["notes"][-1]["text"]
    assert _merged_once(merged)


def test_the_status_view_fits_80_by_24_with_many_agents() -> None:
    agents = [
        {
            "agent": n,
            "task": f"nx-{n:04d}",
            "title": "A title \x1b[31mred\x1b[0m " * 5,
            "workspace": f"task-{n:04d}-with-a-long-name",
            "iteration": n,
            "last_gate": "failed",
            "seconds": 3725.0,
        }
        for n in range(1, 41)
    ]
    state = fleet_state.FleetStatus(
        True,
        "main",
        40,
        agents,
        ["nx-dead"],
        {
            "entries": [{"task": f"nx-q{n:03d}"} for n in range(30)],
            "recent": [{"task": "nx-0001", "outcome": "merged"}],
        },
    )
    lines = fleet_command._lines(state)
    assert len(lines) <= 23  # and the cursor's line
    assert all(len(line) <= 80 for line in lines)
    assert not any("\x1b" in line for line in lines)  # titles are escaped
    assert " 1 nx-0001" in lines[2] and "62:05" in lines[2]


def test_a_task_names_its_template_with_a_label() -> None:
    def task(*labels: str) -> Task:
        return Task(id="nx-ab12", title="t", labels=list(labels))

    assert (
        fleet_run.template_of(task("area:db", "template:python-postgres"), "bare")
        == "python-postgres"
    )
    assert fleet_run.template_of(task("area:db"), "duo") == "duo"
    try:
        fleet_run.template_of(task("template:../../etc"), "bare")
    except NexusError as exc:
        assert "task nx-ab12" in exc.message
    else:
        raise AssertionError("a template name with a path was accepted")


def test_a_workspace_that_cannot_be_made_stops_only_its_task(loop_project: Path) -> None:
    good = new_task("good", "--gate", "test -f good.txt")
    bad = new_task("bad", "--gate", "test -f bad.txt", "--label", "template:missing")

    fleet = _fleet("--agents", "2", "--json")  # both workspaces are made in one batch
    out, err = fleet.communicate(timeout=600)

    assert fleet.returncode == 1, err
    result = json.loads(out)
    assert result["merged"] == [good] and result["stopped"] == [bad]
    history = show(bad)["history"]
    events = [h.get("event") for h in history]
    assert "workspace_failed" in events and "agent_started" not in events
    failed = [h["error"] for h in history if h.get("event") == "workspace_failed"]
    assert all(why.startswith("no template named 'missing'") for why in failed)  # with --json
    name = f"task-{bad.removeprefix('nx-')}"
    assert not (loop_project / ".nexus" / "worktrees" / name).exists()  # nothing of it is left
    assert git(loop_project, "branch", "--list", name) == ""
    assert _worktrees(loop_project) == [str(loop_project)]


def test_a_dependency_done_but_not_merged_keeps_its_dependents_waiting(loop_project: Path) -> None:
    """A task is done once its gates pass in its workspace, before the queue merges it: a task
    that depends on it starts only once it is on the target (its loop ended and the queue ran).
    Started from the target earlier, it would miss that work (the fleet once did this when it
    looked in the moment between the loop marking the task done and the loop's exit)."""
    first = new_task("first", "--gate", "true")
    then = new_task("then", "--gate", "true")
    ok("task", "dep", "add", then, first)
    ok("task", "start", first)
    ok("task", "complete", first)  # done: its gates passed, nothing merged yet
    project = find_project()
    opts = fleet_run.FleetOptions(agent=AGENT, actor="alice")
    fleet = fleet_run._Fleet(project, opts, "main", lambda line: None)

    def startable() -> list[str]:
        with opened(project) as store:
            return [t.id for t in fleet._candidates(store)]

    fleet.running[first] = fleet_run.Running(first, "task-first", 1, child=None)  # not exited
    assert startable() == []
    del fleet.running[first]
    git(loop_project, "branch", "task-first", "main")
    merge_queue.add(project, first, branch="task-first", target="main", agent="alice")
    assert startable() == []  # queued: not merged yet
    merge_run.run_queue(project, agent="alice")
    assert merge_queue.read(project).entries == []
    assert startable() == [then]
