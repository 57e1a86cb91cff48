"""Dependencies: cycles refused with the cycle named; ready and blocked follow the graph."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_nexus
from tests.tasks.conftest import new_task, ok


def _ready() -> list[str]:
    return [t["id"] for t in ok("task", "ready", "--json").json()]


def test_blocked_until_dependency_done(tasks_project: Path) -> None:
    base = new_task("Base", "--gate", "true")
    top = new_task("Top", "--depends-on", base)
    assert _ready() == [base]
    blocked = ok("task", "blocked", "--json").json()
    assert [(b["id"], b["blocked_by"]) for b in blocked] == [(top, [base])]
    ok("task", "start", base)
    ok("task", "complete", base)
    assert _ready() == [top]
    assert ok("task", "blocked", "--json").json() == []


def test_cancelled_dependency_unblocks(tasks_project: Path) -> None:
    base = new_task("Base")
    top = new_task("Top", "--depends-on", base)
    ok("task", "cancel", base, "--reason", "not needed")
    assert _ready() == [top]


def test_self_dependency_refused(tasks_project: Path) -> None:
    a = new_task("A")
    result = run_nexus("task", "dep", "add", a, a)
    assert result.exit_code == 2
    assert "cannot depend on itself" in result.stderr


def test_cycle_refused_and_named(tasks_project: Path) -> None:
    a = new_task("A")
    b = new_task("B", "--depends-on", a)
    c = new_task("C", "--depends-on", b)
    result = run_nexus("task", "dep", "add", a, c)
    assert result.exit_code == 2
    assert f"{a} -> {c} -> {b} -> {a}" in result.stderr
    assert ok("task", "show", a, "--json").json()["depends_on"] == []


def test_dep_add_and_remove(tasks_project: Path) -> None:
    a = new_task("A")
    b = new_task("B")
    ok("task", "dep", "add", b, a)
    assert _ready() == [a]
    ok("task", "dep", "remove", b, a)
    assert _ready() == [a, b]
    assert run_nexus("task", "dep", "remove", b, a).exit_code == 1


def test_unknown_dependency(tasks_project: Path) -> None:
    result = run_nexus("task", "create", "X", "--no-gates", "--depends-on", "nx-zzzzzz")
    assert result.exit_code == 1
    assert "no task matches" in result.stderr
    assert ok("task", "list", "--json").json() == []
