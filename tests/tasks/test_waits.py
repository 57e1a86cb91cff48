"""Waiting gates on real SQLite and git: a person's approval, a moment and another task (here or
in a second real repository) each hold `task complete` until satisfied, show in `task blocked`,
and `ready` leaves out what a moment or a task holds. Moments are computed from now."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.caller import Caller
from nexus_cli.errors import UsageError
from nexus_cli.mcp import task_tools
from nexus_cli.project import find_project
from nexus_cli.tasks import actions, waits
from tests.conftest import git, run_nexus, run_process
from tests.tasks.conftest import edit_task_line, new_task, ok, show, task_line
from tests.tmux_terminal import nexus_command, require_tmux, terminal


def _moment(**delta: float) -> str:
    """Now moved by ``delta`` (``days=1``, ``minutes=-5``), as a person types it."""
    return (datetime.now(UTC) + timedelta(**delta)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _complete(task_id: str) -> tuple[int, dict[str, Any], str]:
    result = run_nexus("task", "complete", task_id, "--json")
    return result.exit_code, json.loads(result.stdout), result.stderr


def _waited(data: dict[str, Any]) -> list[tuple[str, bool, str]]:
    return [(g["command"], g["passed"], g["output_tail"]) for g in data["gates"] if "wait" in g]


def _blocked() -> dict[str, dict[str, Any]]:
    return {t["id"]: t for t in ok("task", "blocked", "--json").json()}


def _ready() -> list[str]:
    return [t["id"] for t in ok("task", "ready", "--json").json()]


def _approve(task_id: str, name: str) -> None:
    """What `nexus task approve ID --as NAME` records once the person answered y at the
    terminal (the terminal itself: test_a_person_approves_at_a_real_terminal)."""
    actions.approve_as(find_project(), task_id, name, env={})


def test_an_approval_gate_holds_the_task_until_that_person_approves(tasks_project: Path) -> None:
    task_id = new_task("Ship it", "--gate", "true", "--wait", "approval:bob")
    ok("task", "start", task_id)
    code, data, stderr = _complete(task_id)
    assert code == 3 and data["passed"] is False
    assert _waited(data) == [("approval: bob", False, "waits for bob's approval")]
    assert [g["passed"] for g in data["gates"] if "wait" not in g] == [True]  # commands ran
    assert f"task {task_id} stays in_progress: it waits: `approval: bob`" in stderr
    assert show(task_id)["status"] == "in_progress"
    assert _blocked()[task_id]["waiting_on"] == [
        {
            "gate": "approval: bob",
            "wait": "approval",
            "satisfied": False,
            "reason": "waits for bob's approval",
        }
    ]

    wrong = run_nexus("task", "approve", task_id, "--as", "carol")
    assert wrong.exit_code == 2, wrong.stderr
    assert (
        f"task {task_id} does not wait for carol's approval (its approval gates ask for: bob)"
        in (wrong.stderr)
    )
    assert not [h for h in show(task_id)["history"] if h["action"] == "approval"]

    _approve(task_id, "bob")
    entry = next(h for h in show(task_id)["history"] if h["action"] == "approval")
    assert entry["as"] == "bob" and entry["by"] == "alice" and entry["at"]
    assert task_id not in _blocked()
    code, data, _ = _complete(task_id)
    assert code == 0 and data["task"]["status"] == "done"
    assert _waited(data)[0][1] is True and "approved by bob at" in _waited(data)[0][2]


def test_an_approval_counts_until_the_task_is_reopened(tasks_project: Path) -> None:
    task_id = new_task("Review me", "--gate", "true", "--wait", "approval:bob")
    ok("task", "start", task_id)
    _approve(task_id, "bob")
    assert _complete(task_id)[0] == 0
    ok("task", "reopen", task_id)
    ok("task", "start", task_id)
    code, data, _ = _complete(task_id)
    assert code == 3 and _waited(data) == [("approval: bob", False, "waits for bob's approval")]


def test_an_agent_cannot_approve_not_over_mcp_nor_inside_the_loop(tasks_project: Path) -> None:
    task_id = new_task("Guarded", "--gate", "true", "--wait", "approval:bob")
    with pytest.raises(UsageError, match="an agent cannot approve"):
        actions.approve_as(find_project(), task_id, "bob", caller=Caller.AGENT, env={})
    with pytest.raises(UsageError, match="inside `nexus loop` is refused"):
        env = {waits.LOOP_MARK: "1"}
        actions.approve_as(find_project(), task_id, "bob", env=env)
    inside = run_nexus("task", "approve", task_id, "--as", "bob", env={waits.LOOP_MARK: "2"})
    assert inside.exit_code == 2 and "inside `nexus loop` is refused" in inside.stderr
    assert not [h for h in show(task_id)["history"] if h["action"] == "approval"]


def test_without_a_terminal_approving_fails_whatever_stdin_says(tasks_project: Path) -> None:
    """An agent's shell tool has no controlling terminal: `yes |` cannot approve (exit 4)."""
    task_id = new_task("Guarded", "--gate", "true", "--wait", "approval:bob")
    done = run_process(
        "task", "approve", task_id, "--as", "bob", input="y\n", new_session=True,
        env={"NEXUS_AGENT": "alice"},
    )  # fmt: skip
    assert done.returncode == 4, done.stderr
    assert "approving as bob needs a person at a terminal" in done.stderr
    assert "Traceback" not in done.stderr
    assert not [h for h in show(task_id)["history"] if h["action"] == "approval"]


def test_a_person_approves_at_a_real_terminal(tasks_project: Path) -> None:
    require_tmux()
    task_id = new_task("Sign-off", "--gate", "true", "--wait", "approval:bob")
    with terminal(120, 30) as term:
        command = nexus_command(f"task approve {task_id} --as bob")
        term.start(f"{command}; echo EXITED-$?", str(tasks_project))
        screen = term.wait(lambda s: "[y/N]" in s)
        assert f"Approve task {task_id} (Sign-off) as bob?" in screen
        term.send_keys("y", "Enter")
        screen = term.wait(lambda s: "EXITED-" in s)
        assert "EXITED-0" in screen and "approved as bob" in screen
    assert [h["as"] for h in show(task_id)["history"] if h["action"] == "approval"] == ["bob"]


def test_a_moment_in_the_past_passes_and_one_in_the_future_waits(tasks_project: Path) -> None:
    past = new_task("Past", "--gate", "true", "--wait", f"after:{_moment(minutes=-5)}")
    future = new_task("Future", "--gate", "true", "--wait", f"after:{_moment(days=2)}")
    assert past in _ready() and future not in _ready()  # `ready` leaves out a held task
    assert future in _blocked() and past not in _blocked()
    reason = _blocked()[future]["waiting_on"][0]["reason"]
    assert reason.startswith("waits until ") and reason.endswith("Z")
    for task_id in (past, future):
        ok("task", "start", task_id)
    assert _complete(past)[0] == 0
    code, data, _ = _complete(future)
    assert code == 3 and _waited(data)[0][1] is False
    assert show(future)["status"] == "in_progress"


def test_a_moment_without_a_zone_or_not_real_is_refused_at_the_boundary(
    tasks_project: Path,
) -> None:
    for bad in ("after:2026-12-24T09:00", "after:2026-13-01T00:00Z", "after:tomorrow", "soon:x"):
        result = run_nexus("task", "create", "T", "--gate", "true", "--wait", bad)
        assert result.exit_code == 2, (bad, result.stderr)
        assert (
            result.stderr.startswith(f"error: waiting gate {bad!r}")
            and "Traceback" not in result.stderr
        )


def test_a_task_gate_waits_for_that_task_to_be_done(tasks_project: Path) -> None:
    first = new_task("First", "--gate", "true")
    second = new_task("Second", "--gate", "true", "--wait", f"task:{first[3:6]}")
    assert show(second)["gates"][1] == {
        "command": f"task: {first}", "timeout_s": 600, "service": None, "wait": "task",
    }  # fmt: skip
    assert second not in _ready()
    assert _blocked()[second]["waiting_on"][0]["reason"] == f"waits on task {first}, which is open"
    ok("task", "start", second)
    assert _complete(second)[0] == 3
    ok("task", "start", first)
    ok("task", "complete", first)
    assert _complete(second)[0] == 0


def test_a_task_cannot_wait_on_itself_or_a_task_that_does_not_exist(tasks_project: Path) -> None:
    task_id = new_task("Self", "--gate", "true")
    itself = run_nexus("task", "gate", "add", task_id, "--wait", f"task:{task_id}")
    assert itself.exit_code == 2 and "cannot wait on itself" in itself.stderr
    name = tasks_project.resolve().name
    for path in (f"../{name}", str(tasks_project), "."):  # this same repository, by a path
        through = run_nexus("task", "gate", "add", task_id, "--wait", f"task:{path}#{task_id}")
        assert through.exit_code == 2 and "cannot wait on itself" in through.stderr, path
    missing = run_nexus("task", "gate", "add", task_id, "--wait", "task:nx-zzzzzz")
    assert missing.exit_code != 0 and "Traceback" not in missing.stderr


def test_two_tasks_may_not_wait_on_each_other_by_gate_or_dependency(tasks_project: Path) -> None:
    first = new_task("First", "--gate", "true")
    second = new_task("Second", "--gate", "true", "--wait", f"task:{first}")
    third = new_task("Third", "--gate", "true", "--depends-on", second)
    before = task_line(tasks_project, first)
    by_gate = run_nexus("task", "gate", "add", first, "--wait", f"task:{third}")
    assert by_gate.exit_code == 2
    assert (
        f"waiting gate refused: it would create the cycle {first} -> {third} -> {second} -> {first}"
        in by_gate.stderr
    )
    by_dependency = run_nexus("task", "dep", "add", first, third)
    assert by_dependency.exit_code == 2
    assert f"{first} -> {third} -> {second} -> {first}" in by_dependency.stderr
    by_edit = run_nexus("task", "edit", first, "--wait", f"task:{second}")
    assert by_edit.exit_code == 2 and "cycle" in by_edit.stderr
    assert task_line(tasks_project, first) == before


def _other_repo(tmp_path: Path) -> Path:
    other = tmp_path / "other-repo"
    other.mkdir()
    git(other, "init", "-q", "-b", "main")
    (other / "README.md").write_text("# other\n")
    git(other, "add", "README.md")
    git(other, "commit", "-q", "-m", "initial")
    ok("-C", str(other), "init")
    return other


def test_a_task_of_another_repository_by_path(tasks_project: Path, tmp_path: Path) -> None:
    other = _other_repo(tmp_path)
    theirs = ok("-C", str(other), "task", "create", "Server API", "--no-gates", "--json").json()
    ref = f"../other-repo#{theirs['id']}"
    mine = new_task("Client", "--gate", "true", "--wait", f"task:{ref}")
    assert mine not in _ready()
    reason = _blocked()[mine]["waiting_on"][0]["reason"]
    assert reason == f"waits on task {theirs['id']} of ../other-repo, which is open"
    ok("task", "start", mine)
    assert _complete(mine)[0] == 3
    db_before = sorted(p.name for p in (other / ".nexus").iterdir())
    ok("-C", str(other), "task", "start", theirs["id"])
    ok("-C", str(other), "task", "complete", theirs["id"])
    code, data, _ = _complete(mine)
    assert code == 0 and _waited(data)[0][2] == f"task {theirs['id']} of ../other-repo is done"
    assert sorted(p.name for p in (other / ".nexus").iterdir()) == db_before  # only read


def test_a_missing_repository_file_or_task_is_a_reason_not_a_crash(
    tasks_project: Path, tmp_path: Path
) -> None:
    other = _other_repo(tmp_path)
    plain = tmp_path / "plain"
    plain.mkdir()
    outside = tmp_path / "outside"
    outside.mkdir()
    (outside / "tasks.jsonl").write_text("")
    linked = tmp_path / "linked"
    linked.mkdir()
    (linked / ".nexus").symlink_to(outside)
    cases = {
        "../nowhere#nx-abcd": "no repository there",
        "../plain#nx-abcd": "it has no .nexus/tasks.jsonl",
        f"{other}#nx-abcd": "which has no such task",
        "../linked#nx-abcd": "symbolic link",
    }
    ids = {
        new_task(ref, "--gate", "true", "--wait", f"task:{ref}"): why for ref, why in cases.items()
    }
    blocked = _blocked()
    for task_id, why in ids.items():
        assert why in blocked[task_id]["waiting_on"][0]["reason"], blocked[task_id]
    ok("task", "start", next(iter(ids)))
    code, _, stderr = _complete(next(iter(ids)))
    assert code == 3 and "Traceback" not in stderr and "no repository there" in stderr


def test_ready_still_offers_a_task_that_waits_for_a_person(tasks_project: Path) -> None:
    task_id = new_task("Needs sign-off", "--gate", "true", "--wait", "approval:bob")
    assert task_id in _ready()  # the person approves the work once it is done
    assert task_id in _blocked()


def test_waiting_gates_need_no_command_approval_but_a_swap_for_them_does(
    tasks_project: Path,
) -> None:
    task_id = new_task("Swap", "--gate", "true")
    ok("task", "gate", "add", task_id, "--wait", "approval:bob")
    listed = ok("task", "gate", "list", task_id, "--json").json()["gates"]
    assert [(g["command"], g["approved"], g["approval"]["how"]) for g in listed][1] == (
        "approval: bob", True, "waits",
    )  # fmt: skip
    # Someone edits tasks.jsonl: the command gate is gone, only a moment in the past is left.
    edit_task_line(
        tasks_project,
        task_id,
        lambda d: d.update(
            gates=[{"command": "after: 2020-01-01T00:00:00.000000Z", "timeout_s": 600,
                    "service": None, "wait": "after"}]
        ),
    )  # fmt: skip
    ok("task", "start", task_id)
    refused = run_nexus("task", "complete", task_id)
    assert refused.exit_code == 5 and "waits for a person's approval" in refused.stderr


def test_a_bad_waiting_gate_in_tasks_jsonl_is_skipped_and_kept(tasks_project: Path) -> None:
    task_id = new_task("Imported", "--gate", "true")
    bad = {"command": "approval: ", "timeout_s": 600, "service": None, "wait": "approval"}
    edit_task_line(tasks_project, task_id, lambda d: d["gates"].append(bad))
    result = run_nexus("task", "list", "--json")
    assert result.exit_code == 0 and task_id not in [t["id"] for t in result.json()]
    assert "bad waiting gate" in result.stderr
    assert task_line(tasks_project, task_id)["gates"][-1] == bad  # nothing lost


def test_an_agent_may_add_a_waiting_gate_but_not_remove_or_change_one(
    tasks_project: Path,
) -> None:
    project = find_project()
    task_id = new_task("Agent edits", "--gate", "true", "--wait", "approval:bob")
    added = actions.update(
        project, task_id, waits=["approval:bob", "after:2030-01-01T00:00Z"], caller=Caller.AGENT
    )
    assert [g.command for g in added.task.gates if g.wait][1].startswith("after: 2030-01-01")
    for changed in (["approval:mallory", "after:2030-01-01T00:00Z"], ["after:2030-01-01T00:00Z"]):
        with pytest.raises(UsageError, match="cannot remove"):
            actions.update(project, task_id, waits=changed, caller=Caller.AGENT)
    kept = actions.update(project, task_id, gates=None, commands=[], caller=Caller.PERSON)
    assert [g.wait for g in kept.task.gates] == ["approval", "after"]  # commands gone, waits kept


def test_gates_given_back_as_show_lists_them_keep_the_waiting_gate_as_it_is(
    tasks_project: Path,
) -> None:
    """`task_show` lists waiting gates among `gates`: an agent sending that list back to
    `task_update` made `approval: bob` a shell command waiting for approval."""
    task_id = new_task("Round trip", "--gate", "true", "--wait", "approval:bob")
    shown = [g["command"] for g in show(task_id)["gates"]]
    assert shown == ["true", "approval: bob"]
    updated = task_tools.task_update(find_project(), task_id, gates=shown)
    assert [(g["command"], g.get("wait")) for g in updated["gates"]] == [
        ("true", None),
        ("approval: bob", "approval"),
    ]


def test_edit_replaces_the_waiting_gates_and_keeps_the_commands(tasks_project: Path) -> None:
    task_id = new_task("Edit", "--gate", "true", "--wait", "approval:bob")
    ok("task", "edit", task_id, "--wait", "approval:carol", "--wait", f"after:{_moment(days=-1)}")
    commands = [g["command"] for g in show(task_id)["gates"]]
    assert commands[:2] == ["true", "approval: carol"] and commands[2].startswith("after: ")
    ok("task", "edit", task_id, "--gate", "make check")
    assert [g["command"] for g in show(task_id)["gates"]][1] == "approval: carol"
    ok("task", "edit", task_id, "--no-wait")
    assert [g["command"] for g in show(task_id)["gates"]] == ["make check"]
    changes = [h for h in show(task_id)["history"] if h["action"] == "gates_changed"]
    assert changes[0]["to"][1] == "approval: carol"


def test_gate_add_takes_a_command_or_a_wait(tasks_project: Path) -> None:
    task_id = new_task("Add", "--gate", "true")
    neither = run_nexus("task", "gate", "add", task_id)
    both = run_nexus("task", "gate", "add", task_id, "true", "--wait", "approval:bob")
    assert neither.exit_code == both.exit_code == 2
    ok("task", "gate", "add", task_id, "--wait", "approval:bob")
    again = run_nexus("task", "gate", "add", task_id, "--wait", "approval:bob")
    assert again.exit_code == 2 and "already has the gate" in again.stderr
    assert [h["command"] for h in show(task_id)["history"] if h["action"] == "gate_added"] == [
        "approval: bob"
    ]


def test_the_blocked_table_says_what_each_task_waits_on(tasks_project: Path) -> None:
    task_id = new_task("Table", "--gate", "true", "--wait", "approval:bob")
    text = ok("task", "blocked").stdout
    assert task_id in text and "approval: bob (waits for bob's approval)" in text
