"""The task core called directly: the caller's kind decides the two deliberate differences."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.caller import Caller
from nexus_cli.errors import UsageError
from nexus_cli.project import find_project
from nexus_cli.tasks import actions, listing, queries


def test_only_a_person_creates_a_task_without_gates(tasks_project: Path) -> None:
    project = find_project(tasks_project)
    with pytest.raises(UsageError, match="an agent cannot create a task without gates"):
        actions.create(project, "No gate", no_gates=True, caller=Caller.AGENT)
    assert listing.list_tasks(project).docs == []
    made = actions.create(project, "No gate", no_gates=True, caller=Caller.PERSON)
    assert made.to_json()["no_gates"] is True
    assert made.task.history[0]["no_gates"] is True


def test_the_hint_names_what_each_caller_can_pass(tasks_project: Path) -> None:
    project = find_project(tasks_project)
    for caller, hint in ((Caller.PERSON, "--gate CMD"), (Caller.AGENT, "pass gates")):
        with pytest.raises(UsageError, match="needs a verification gate") as info:
            actions.create(project, "Nothing detected", caller=caller)
        assert hint in str(info.value.hint)


@pytest.mark.parametrize("caller", [Caller.PERSON, Caller.AGENT])
def test_an_empty_title_is_named_before_a_missing_gate(tasks_project: Path, caller: Caller) -> None:
    """Both are wrong here (nothing is detected in the project): the title is said first, not a
    gate error that, once fixed, leads to the title error."""
    project = find_project(tasks_project)
    for title in ("", "  \n"):
        with pytest.raises(UsageError, match="a task needs a non-empty title"):
            actions.create(project, title, caller=caller)
    assert listing.list_tasks(project).docs == []


def test_ready_lists_fewer_for_an_agent_unless_asked(tasks_project: Path) -> None:
    project = find_project(tasks_project)
    for i in range(22):
        actions.create(project, f"T{i}", gates=["true"])
    assert len(listing.ready(project, caller=Caller.AGENT).docs) == 20
    assert len(listing.ready(project).docs) == 22
    assert len(listing.ready(project, limit=3, caller=Caller.AGENT).docs) == 3
    for limit in (-1, 10_001, 10**30):  # one line, never an overflow in SQLite
        with pytest.raises(UsageError, match="limit: must be an integer between 0 and 10000"):
            listing.ready(project, limit=limit)
        with pytest.raises(UsageError, match="limit: must be an integer between 0 and 10000"):
            listing.list_tasks(project, limit=limit)
    assert len(listing.list_tasks(project, limit=5).docs) == 5
    assert len(listing.list_tasks(project).docs) == 22  # a person: all


def test_bad_input_is_refused_before_the_store_is_opened(tasks_project: Path) -> None:
    project = find_project(tasks_project)
    with pytest.raises(UsageError, match="unknown status"):
        listing.list_tasks(project, status="blocked")
    with pytest.raises(UsageError, match="invalid workspace name"):
        listing.list_tasks(project, workspace="../x")
    with pytest.raises(UsageError, match="invalid task id"):
        queries.show(project, "../x")
    with pytest.raises(UsageError, match="invalid task id"):
        actions.create(project, "t", gates=["true"], depends_on=["--x"])
    with pytest.raises(UsageError, match="unknown task change"):
        actions.change(project, "nx-ab12", "delete")


def test_update_by_an_agent_cannot_remove_a_gate_and_its_new_gate_waits(
    tasks_project: Path,
) -> None:
    from nexus_cli.tasks import approvals
    from nexus_cli.tasks.model import Gate

    project = find_project()
    task_id = actions.create(project, "Gated", gates=["true", "test -d ."]).task.id
    with pytest.raises(UsageError, match="an agent cannot remove a gate"):
        actions.update(project, task_id, gates=[Gate("true")], caller=Caller.AGENT)
    changed = actions.update(
        project, task_id, gates=[Gate("true"), Gate("test -f x")], caller=Caller.AGENT
    ).task
    assert changed.history[-1]["via"] == "agent"
    assert [g.command for g in approvals.pending(project, changed)] == ["test -f x"]
    # A person may remove one; even a person at a terminal cannot leave none in a project
    # that requires gates.
    person = actions.update(project, task_id, gates=[Gate("true")], at_terminal=True).task
    assert [g.command for g in person.gates] == ["true"] and approvals.pending(
        project, person
    ) == []
    config = tasks_project / ".nexus" / "config.yaml"
    config.write_text(config.read_text().replace("require_gate: false", "require_gate: true"))
    with pytest.raises(UsageError, match="requires a verification gate"):
        actions.update(project, task_id, gates=[])
    with pytest.raises(UsageError, match="nothing to change"):
        actions.update(project, task_id)
