"""`nexus task compact`: tasks closed long ago summarised, receipts and links kept, on a real
project (SQLite, git, gates that ran). Every age is relative to now."""

from __future__ import annotations

import json
import signal
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from nexus_cli.tasks import compaction, jsonl
from nexus_cli.tasks.model import Task, now_iso
from tests.conftest import run_nexus
from tests.tasks.conftest import (
    close_task,
    commit_all,
    edit_task_line,
    gate_receipts,
    new_task,
    ok,
    show,
    task_line,
)

TASKS = Path(".nexus") / "tasks.jsonl"
LONG = "Make the parser strict\n\nIt accepted trailing commas; " + "details " * 200


def _shift(value: Any, days: int) -> Any:
    """``value`` (a task line or part of one) with every stored moment ``days`` days earlier."""
    if isinstance(value, dict):
        return {key: _shift(item, days) for key, item in value.items()}
    if isinstance(value, list):
        return [_shift(item, days) for item in value]
    if isinstance(value, str) and len(value) == 27 and value.endswith("Z") and value[10] == "T":
        moment = datetime.strptime(value, "%Y-%m-%dT%H:%M:%S.%fZ").replace(tzinfo=UTC)
        return (moment - timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
    return value


def _age(root: Path, task_id: str, days: int) -> None:
    """Make the task look as if everything in it happened ``days`` days ago."""

    def change(data: dict[str, Any]) -> None:
        aged = _shift(data, days)
        data.clear()
        data.update(aged)

    edit_task_line(root, task_id, change)


def _old_closed(root: Path, title: str, *, days: int = 200, parent: str | None = None) -> str:
    """A task with a long description and notes, done through a real gate, closed ``days`` ago."""
    extra = ("--parent", parent) if parent else ()
    task_id = new_task(title, "--gate", "true", "-d", LONG, "--label", "parser", *extra)
    ok("task", "note", task_id, "tried the lexer first")
    ok("task", "note", task_id, "fixed in the grammar\nsee the test")
    from tests.tasks.conftest import approve_all

    approve_all(root, task_id)
    ok("task", "start", task_id)
    ok("task", "complete", task_id)
    _age(root, task_id, days)
    return task_id


def _setting(config: Path, value: str) -> None:
    text = config.read_text()
    assert "  require_review: false\n" in text
    config.write_text(
        text.replace(
            "  require_review: false\n", f"  require_review: false\n  compact_after_days: {value}\n"
        )
    )


def _line_text(root: Path, task_id: str) -> str:
    for line in (root / TASKS).read_text().splitlines():
        if json.loads(line)["id"] == task_id:
            return line
    raise AssertionError(task_id)


def test_old_closed_tasks_are_compacted_keeping_receipts_and_links(tasks_project: Path) -> None:
    root = tasks_project
    epic = new_task("Parser epic")
    old = _old_closed(root, "Strict parser", parent=epic)
    cancelled = new_task("Abandoned idea", "-d", LONG)
    ok("task", "cancel", cancelled, "--reason", "not needed")
    _age(root, cancelled, 120)
    recent = close_task(root, "Recent work", "true")
    waiting = new_task("Uses the parser", "--depends-on", old)
    untouched = {t: _line_text(root, t) for t in (epic, recent, waiting)}
    before = task_line(root, old)
    receipts_before = gate_receipts(root, old)
    size_before = (root / TASKS).stat().st_size
    commit_all(root, "work")

    report = ok("task", "compact", "--json").json()

    assert report["dry_run"] is False and report["older_than_days"] == 90
    assert [t["id"] for t in report["compacted"]] == sorted([old, cancelled])
    entry = next(t for t in report["compacted"] if t["id"] == old)
    assert entry["summary"] == "Make the parser strict" and entry["receipts"] == 1
    assert entry["dropped_notes"] == 2 and entry["saved_bytes"] > 1000
    for task_id, text in untouched.items():  # open and recently closed: byte for byte
        assert _line_text(root, task_id) == text
    after = task_line(root, old)
    assert gate_receipts(root, old) == receipts_before  # the evidence survives
    for key in ("id", "title", "status", "priority", "labels", "gates", "parent", "updated_at"):
        assert after[key] == before[key], key
    assert after["description"] == "Make the parser strict" and after["notes"] == []
    closes = [h for h in before["history"] if h.get("to") == "done"]
    assert after["compacted"]["closed_at"] == closes[-1]["at"]
    assert len(after["history"]) < len(before["history"])
    assert "created" not in {h["action"] for h in after["history"]}
    size_after = (root / TASKS).stat().st_size
    assert size_after < size_before - 2000 and size_after == report["bytes_after"]
    # What points at the compacted tasks still works: the dependent is ready, the epic lists it.
    assert waiting in {t["id"] for t in ok("task", "ready", "--json").json()}
    assert [t["id"] for t in ok("task", "list", "--parent", epic, "--json").json()] == [old]
    assert ok("task", "receipt", old, "--json").json()["receipts"][0]["exit_code"] == 0
    # Checked offline in git: the close is the same close, its receipts still hold.
    commit_all(root, "compact")
    checked = run_nexus("task", "check-receipts", "--json")
    assert checked.exit_code == 0, checked.stdout
    assert {t["id"]: t["ok"] for t in checked.json()["tasks"]}[old] is True
    # A second run finds nothing left to drop.
    assert ok("task", "compact", "--json").json()["compacted"] == []


def test_show_of_a_compacted_task_says_so_with_its_summary_and_receipts(
    tasks_project: Path,
) -> None:
    old = _old_closed(tasks_project, "Strict parser")
    ok("task", "compact")
    text = ok("task", "show", old).stdout
    compacted = task_line(tasks_project, old)["compacted"]
    assert f"compacted: {compacted['at'][:16].replace('T', ' ')} UTC" in text
    assert f"closed {compacted['closed_at'][:16].replace('T', ' ')} UTC" in text
    assert "dropped 2 note(s)" in text
    assert "summary: Make the parser strict" in text
    assert "details" not in text and "tried the lexer" not in text
    receipt = gate_receipts(tasks_project, old)[0]
    assert f"receipt {receipt['at'][:16]}: true exit 0 tree:{receipt['tree'][:12]}" in text
    data = show(old)
    assert data["compacted"]["dropped_notes"] == 2 and data["description"] == LONG.split("\n")[0]


def test_dry_run_changes_nothing_and_names_what_would_go(tasks_project: Path) -> None:
    old = _old_closed(tasks_project, "Strict parser")
    path = tasks_project / TASKS
    before = path.read_bytes()
    dry = ok("task", "compact", "--dry-run", "--json").json()
    assert dry["dry_run"] is True and [t["id"] for t in dry["compacted"]] == [old]
    assert path.read_bytes() == before
    assert "compacted" not in show(old) and len(show(old)["notes"]) == 2
    text = ok("task", "compact", "--dry-run")
    assert text.stdout.startswith(f"{old}  done  ") and "would compact 1 task" in text.stderr
    real = ok("task", "compact", "--json").json()
    assert real["bytes_after"] == dry["bytes_after"] == path.stat().st_size


def test_older_than_and_the_project_setting_choose_the_age(tasks_project: Path) -> None:
    old = _old_closed(tasks_project, "Strict parser", days=200)
    config = tasks_project / ".nexus" / "config.yaml"
    _setting(config, "300")
    assert ok("task", "compact", "--json").json()["compacted"] == []
    assert ok("task", "compact", "--older-than", "250", "--json").json()["compacted"] == []
    recent = close_task(tasks_project, "Just now", "true")
    found = ok("task", "compact", "--older-than", "0", "--json").json()["compacted"]
    assert {t["id"] for t in found} == {old, recent}


@pytest.mark.parametrize("value", ["-1", "ninety", "true", "36501"])
def test_a_bad_compact_after_days_is_one_line_naming_the_key(
    tasks_project: Path, value: str
) -> None:
    config = tasks_project / ".nexus" / "config.yaml"
    _setting(config, value)
    result = run_nexus("task", "compact")
    assert result.exit_code != 0 and "Traceback" not in result.stderr
    assert "tasks.compact_after_days" in result.stderr


def test_older_than_out_of_range_is_a_usage_error(tasks_project: Path) -> None:
    result = run_nexus("task", "compact", "--older-than", "-3")
    assert result.exit_code == 2 and "Traceback" not in result.stderr


def test_a_note_after_compaction_is_compacted_next_time_and_counts_add_up(
    tasks_project: Path,
) -> None:
    old = _old_closed(tasks_project, "Strict parser")
    ok("task", "compact")
    ok("task", "note", old, "a late remark")
    assert task_line(tasks_project, old)["notes"][0]["text"] == "a late remark"
    [again] = ok("task", "compact", "--json").json()["compacted"]
    assert again["id"] == old and again["dropped_notes"] == 3
    assert task_line(tasks_project, old)["notes"] == []


def test_a_reopened_compacted_task_is_left_alone_until_closed_again(tasks_project: Path) -> None:
    old = _old_closed(tasks_project, "Strict parser")
    ok("task", "compact")
    ok("task", "reopen", old)
    assert ok("task", "compact", "--older-than", "0", "--json").json()["compacted"] == []
    assert show(old)["status"] == "open" and "compacted" in show(old)


@pytest.mark.parametrize(
    ("bad", "problem"),
    [
        ({"closed_at": "last year"}, "'closed_at' as a UTC moment"),
        ({"dropped_notes": -1}, "'dropped_notes' as a whole number"),
        ({"dropped_history": True}, "'dropped_history' as a whole number"),
        ({"secret": 1}, "unknown key 'secret'"),
    ],
)
def test_a_bad_compacted_record_from_git_is_skipped_and_kept(
    tasks_project: Path, bad: dict[str, Any], problem: str
) -> None:
    old = _old_closed(tasks_project, "Strict parser")
    ok("task", "compact")
    edit_task_line(tasks_project, old, lambda data: data["compacted"].update(bad))
    kept = _line_text(tasks_project, old)
    result = run_nexus("task", "list", "--json")
    assert result.exit_code == 0 and old not in {t["id"] for t in result.json()}
    assert "field 'compacted'" in result.stderr and problem in result.stderr
    new_task("Another")  # a write keeps the skipped line as it was
    assert kept in (tasks_project / TASKS).read_text().splitlines()


_INTERRUPTED = """
import signal, sys, time
from pathlib import Path
from nexus_cli.project import find_project
from nexus_cli.tasks import compaction, jsonl, store
signal.signal(signal.SIGTERM, lambda *a: sys.exit(143))

def pause(original):
    def paused(*args, **kwargs):
        original(*args, **kwargs)
        print("ready", flush=True)
        for _ in range(600):  # short sleeps: a SIGTERM just before one is seen at the next
            time.sleep(0.1)
    return paused

if sys.argv[1] == "put":
    store.TaskStore.put = pause(store.TaskStore.put)
else:
    jsonl.write_atomic = pause(jsonl.write_atomic)
compaction.compact(find_project(Path(sys.argv[2])), older_than_days=90)
"""


@pytest.mark.parametrize("where", ["put", "write"])
def test_sigterm_during_compaction_leaves_tasks_jsonl_whole(
    tasks_project: Path, where: str
) -> None:
    first = _old_closed(tasks_project, "Strict parser")
    second = _old_closed(tasks_project, "Strict lexer")
    path = tasks_project / TASKS
    before = path.read_bytes()
    child = subprocess.Popen(
        [sys.executable, "-c", _INTERRUPTED, where, str(tasks_project)],
        stdout=subprocess.PIPE,
        text=True,
    )
    assert child.stdout is not None
    assert child.stdout.readline().strip() == "ready"  # after the first put / the file's rewrite
    child.send_signal(signal.SIGTERM)
    assert child.wait(timeout=30) == 143
    tasks = jsonl.parse(path.read_bytes(), source=str(path))  # whole, every line valid
    if where == "put":  # stopped inside the transaction: nothing changed
        assert path.read_bytes() == before
        assert all(t.compacted is None for t in tasks)
    else:  # the new file was in place: the database (rolled back) imports it
        assert {t.id for t in tasks if t.compacted} == {first, second}
    for task_id in (first, second):
        assert ("compacted" in show(task_id)) is (where == "write")
    ok("task", "compact")  # and the next run finishes the job
    assert all("compacted" in show(t) for t in (first, second))


def test_compact_task_keeps_the_closing_verification_and_the_last_passing_run() -> None:
    at = [
        (datetime.now(UTC) - timedelta(days=100 - i)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        for i in range(10)
    ]

    def run(when: str, gate: int, gates: int) -> dict[str, Any]:
        receipt = {"at": when, "run": {"gate": gate, "gates": gates}, "exit_code": 0}
        return {"at": when, "by": "a", "action": "gate_run", "passed": True, "receipt": receipt}

    history = [
        {"at": at[0], "by": "a", "action": "created", "to": "open"},
        {"at": at[1], "by": "a", "action": "transition", "from": "open", "to": "in_progress"},
        {"at": at[2], "by": "a", "action": "transition", "from": "in_progress", "to": "verifying"},
        {"at": at[3], "by": "a", "action": "gate_run", "passed": False},
        {"at": at[4], "by": "a", "action": "transition", "from": "verifying", "to": "done"},
        {"at": at[5], "by": "a", "action": "transition", "from": "done", "to": "rejected"},
        {"at": at[6], "by": "a", "action": "transition", "from": "rejected", "to": "verifying"},
        run(at[7], 0, 1),
        {"at": at[8], "by": "a", "action": "transition", "from": "verifying", "to": "review"},
        {"at": at[9], "by": "b", "action": "transition", "from": "review", "to": "done"},
    ]
    task = Task(
        id="nx-aaaa", title="T", status="done", history=history, created_at=at[0], updated_at=at[9]
    )
    compacted = compaction.compact_task(task, now_iso())
    assert compacted is not None
    assert compacted.history == history[6:]  # the last verification, its run, review, approval
    assert compaction.closed_at(task) == at[9]
    assert compacted.compacted is not None and compacted.compacted["dropped_history"] == 6
    # Compacting the compacted task again finds nothing to drop.
    assert compaction.compact_task(compacted, now_iso()) is None


def test_check_days_refuses_what_is_out_of_range() -> None:
    from nexus_cli.errors import UsageError

    assert compaction.check_days(0) == 0
    for bad in (-1, 36_501):
        with pytest.raises(UsageError):
            compaction.check_days(bad)


def test_compaction_on_a_project_without_tasks_is_empty(tasks_project: Path) -> None:
    report = compaction.compact(find_project(tasks_project), older_than_days=0)
    assert report.tasks == [] and report.bytes_before == report.bytes_after
