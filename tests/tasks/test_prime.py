"""`nexus prime` and `nexus task context --current`."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_nexus


def _create(*args: str) -> str:
    result = run_nexus("task", "create", *args)
    assert result.exit_code == 0, result.stderr
    return result.stdout.strip()


def test_prime_briefs_in_progress_ready_and_blocked(project: Path) -> None:
    mine = _create("Make it pass", "--gate", "cat missing.txt")
    ready = _create("Another thing", "--gate", "true")
    blocked = _create("Later", "--gate", "true", "--depends-on", mine)
    assert run_nexus("task", "start", mine).exit_code == 0
    assert run_nexus("task", "complete", mine).exit_code == 3

    data = run_nexus("prime", "--json").json()
    assert [t["id"] for t in data["in_progress"]] == [mine]
    gate = data["in_progress"][0]["last_failing_gate"]
    assert gate["command"] == "cat missing.txt" and gate["exit_code"] == 1
    assert [t["id"] for t in data["ready"]] == [ready]
    assert data["blocked"][0]["id"] == blocked and data["blocked"][0]["blocked_by"] == [mine]
    assert data["next_commands"][0] == f"nexus task context {mine}"

    text = run_nexus("prime").stdout
    assert "missing.txt" in text and f"waits on {mine}" in text
    assert len(text) < 6000  # ~1,500 tokens

    context = run_nexus("task", "context", "--current")
    assert context.exit_code == 0 and context.stdout.startswith(f"# {mine}: Make it pass")


def test_prime_lists_what_task_blocked_lists_waiting_gates_too(project: Path) -> None:
    """The briefing's blocked list is the first page of `nexus task blocked`: a task waiting on
    a person's approval or on another task is blocked there too, with the same reasons."""
    first = _create("First", "--gate", "true")
    waits_task = _create("After first", "--gate", "true", "--wait", f"task:{first}")
    waits_bob = _create("Needs bob", "--gate", "true", "--wait", "approval:bob")
    both = _create("Both", "--gate", "true", "--depends-on", first, "--wait", "approval:bob")

    data = run_nexus("prime", "--json").json()
    listed = run_nexus("task", "blocked", "--json").json()
    assert [t["id"] for t in data["blocked"]] == [t["id"] for t in listed]
    assert {t["id"] for t in data["blocked"]} == {waits_task, waits_bob, both}
    entries = {t["id"]: t for t in data["blocked"]}
    for task in listed:
        assert entries[task["id"]]["waiting_on"] == task["waiting_on"]
        assert entries[task["id"]]["blocked_by"] == task["blocked_by"]
    assert entries[both]["blocked_by"] == [first]
    assert entries[waits_bob]["waiting_on"][0]["reason"] == "waits for bob's approval"

    text = run_nexus("prime").stdout
    assert f"{waits_bob} Needs bob — waits for bob's approval" in text
    assert f"{both} Both — waits on {first}; waits for bob's approval" in text
    assert f"waits on task {first}, which is open" in text


def test_prime_blocked_list_is_bounded_and_says_there_is_more(project: Path) -> None:
    waiting = [
        _create(f"Needs bob {i}", "--gate", "true", "--wait", "approval:bob") for i in range(7)
    ]
    data = run_nexus("prime", "--json").json()
    assert [t["id"] for t in data["blocked"]] == waiting[:5]  # same priority: oldest first
    assert data["blocked_more"] is True
    assert "more: `nexus task blocked`" in run_nexus("prime").stdout


def test_context_current_without_a_task_prints_nothing(project: Path) -> None:
    _create("Not started", "--gate", "true")
    result = run_nexus("task", "context", "--current")
    assert result.exit_code == 0 and result.stdout == ""
    both = run_nexus("task", "context")
    assert both.exit_code == 2
    assert "Nothing in progress" in run_nexus("prime").stdout


def test_prime_shows_control_characters_visibly(project: Path) -> None:
    """Titles and gate output come from teammates and programs: prime's text holds no ESC/BEL
    (no window-title or clear-screen sequence reaches the terminal); --json keeps them raw."""
    title = "pwn \x1b]0;pwned\x07 then \x1b[2J clear\x9b1m"
    mine = _create(title, "--gate", r"printf 'out \033]0;gate\007 \033[2J\n'; exit 1")
    other = _create("also \x1b[31mred\x1b[0m", "--gate", "true")
    _create("later \x07", "--gate", "true", "--depends-on", other)
    assert run_nexus("task", "start", mine).exit_code == 0
    assert run_nexus("task", "complete", mine).exit_code == 3

    text = run_nexus("prime").stdout
    for byte in ("\x1b", "\x07", "\x9b"):
        assert byte not in text
    assert "pwn ^[]0;pwned^G then ^[[2J clear\\x9b1m" in text
    assert "also ^[[31mred^[[0m" in text and "later ^G" in text
    assert "> out ^[]0;gate^G ^[[2J" in text

    data = run_nexus("prime", "--json").json()
    assert data["in_progress"][0]["title"] == " ".join(title.split())
    assert "\x1b]0;gate\x07" in data["in_progress"][0]["last_failing_gate"]["tail"][0]
