"""The task schema holds on both paths: what the CLI or MCP may store is what an import reads back.

Each limit that `task create` and MCP `task_create` once accepted (and the import of tasks.jsonl
then refused, whole) is refused at the write with one line and exit code 2; a file that already
holds such a record imports the other tasks and reports that one, keeping its line.
"""

from __future__ import annotations

import asyncio
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from nexus_cli import jsonio, ownership
from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.tasks import jsonl, lease, record
from nexus_cli.tasks.model import Task
from tests.conftest import run_nexus
from tests.mcp.conftest import mcp_session, text_of
from tests.tasks.conftest import new_task, ok

TOO_LONG = [
    (["x" * (record.MAX_TITLE + 1)], "task title: is longer than 1,000 characters"),
    (["t", "-d", "d" * (record.MAX_TEXT + 1)], "task description: is longer than 100,000"),
    (["t", "--gate", "x" * (record.MAX_COMMAND + 1)], "longer than 10,000 characters"),
    (["t", "--gate", "true", "--gate-timeout", str(7 * 86400 + 1)], "timeout_s 604801"),
    (["t", *[f"--label=l{i}" for i in range(record.MAX_LABELS + 1)]], "more than 100 entries"),
    (["t", "--label", "l" * (record.MAX_LABEL + 1)], "at most 100 characters"),
    (["t", *[f"--gate=g{i}" for i in range(record.MAX_GATES + 1)]], "more than 100 entries"),
]


def _jsonl(root: Path) -> Path:
    return root / ".nexus" / "tasks.jsonl"


@pytest.mark.parametrize(("args", "expected"), TOO_LONG)
def test_the_cli_refuses_what_the_import_would_refuse(
    tasks_project: Path, args: list[str], expected: str
) -> None:
    kept = new_task("Already here")
    before = _jsonl(tasks_project).read_bytes()
    extra = [] if any(a.startswith("--gate") for a in args) else ["--no-gates"]
    result = run_nexus("task", "create", *args, *extra)
    assert result.exit_code == 2, result.stderr
    first, *rest = result.stderr.splitlines()
    assert first.startswith("error: ") and expected in first, result.stderr
    assert all(line.startswith("hint: ") for line in rest)
    assert "Traceback" not in result.stderr and "bug" not in result.stderr
    assert _jsonl(tasks_project).read_bytes() == before  # nothing stored
    assert [t["id"] for t in ok("task", "list", "--json").json()] == [kept]


def test_a_note_longer_than_the_limit_is_refused(tasks_project: Path) -> None:
    task_id = new_task("Noted")
    result = run_nexus("task", "note", task_id, "n" * (record.MAX_TEXT + 1))
    assert result.exit_code == 2 and "longer than 100,000 characters" in result.stderr
    assert ok("task", "show", task_id, "--json").json()["notes"] == []


def _mcp_create(project: Path, args: dict[str, Any]) -> Any:
    async def call() -> Any:
        async with mcp_session(project) as session:
            return await session.call_tool("task_create", args)

    return asyncio.run(call())


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ({"title": "x" * (record.MAX_TITLE + 1), "gates": ["true"]}, "longer than 1,000"),
        ({"title": "t", "gates": [f"g{i}" for i in range(record.MAX_GATES + 1)]}, "more than 100"),
    ],
)
def test_mcp_refuses_the_same_limits(
    tasks_project: Path, args: dict[str, Any], expected: str
) -> None:
    result = _mcp_create(tasks_project, args)
    text = text_of(result)
    assert result.is_error and expected in text, text
    assert "\n" not in text.strip() and "bug in nexus" not in text
    assert not _jsonl(tasks_project).exists() or _jsonl(tasks_project).read_text() == ""


def test_an_oversized_record_in_the_file_is_skipped_and_the_rest_imported(
    tasks_project: Path,
) -> None:
    """A teammate's older Nexus wrote a 1,001-character title: after `rm .nexus/tasks.db` (or in
    a fresh clone) the other tasks import, that one is reported, and its line stays."""
    ids = [new_task(f"T{i}") for i in range(3)]
    path = _jsonl(tasks_project)
    lines = path.read_text().splitlines()
    big = json.loads(lines[1])
    big["title"] = "x" * (record.MAX_TITLE + 1)
    lines[1] = json.dumps(big, separators=(",", ":"), ensure_ascii=False)
    path.write_text("\n".join(lines) + "\n")
    (tasks_project / ".nexus" / "tasks.db").unlink()
    result = run_nexus("task", "list", "--json")
    assert result.exit_code == 0, result.stderr
    assert sorted(t["id"] for t in result.json()) == sorted(set(ids) - {big["id"]})
    warning = [line for line in result.stderr.splitlines() if line.startswith("warning: ")]
    assert len(warning) == 1 and f"{path}:2:" in warning[0] and "'title'" in warning[0]
    ok("task", "note", ids[0] if ids[0] != big["id"] else ids[2], "a change rewrites the file")
    assert lines[1] in path.read_text().splitlines()  # nothing lost


def test_check_new_and_check_record_agree() -> None:
    good = {"id": "nx-abcd", "title": "t", "gates": [{"command": "true", "timeout_s": 1}]}
    record.check_new(good)
    record.check_record(good, "f:1")
    for bad in (
        dict(good, title="x" * (record.MAX_TITLE + 1)),
        dict(good, gates=[{"command": "true", "timeout_s": record.MAX_GATE_TIMEOUT_S + 1}]),
        dict(good, notes=[{"text": "n" * (record.MAX_TEXT + 1)}]),
        dict(good, history=[{"a": {"b": [[[[[[[[[[[[[[[[]]]]]]]]]]]]]]]]}}]),
        dict(good, labels=["l"] * (record.MAX_LABELS + 1)),
        dict(good, title="undecodable \udcff"),
    ):
        with pytest.raises(UsageError):
            record.check_new(bad)
        with pytest.raises(ConfigError, match=r"^f:1: field"):
            record.check_record(bad, "f:1")


_GOOD = {
    "id": "nx-good",
    "title": "kept",
    "description": "",
    "priority": 2,
    "status": "open",
    "assignee": None,
    "workspace": None,
    "labels": [],
    "depends_on": [],
    "gates": [{"command": "true", "timeout_s": 60, "service": None}],
    "notes": [],
    "history": [],
    "created_at": "2026-01-01T00:00:00.000000Z",
    "updated_at": "2026-01-01T00:00:00.000000Z",
}
# Raw JSON spellings a hand edit, another tool or a hostile pull request may put in a field.
_ODD_VALUES = st.sampled_from(
    [
        "NaN",
        "Infinity",
        "-Infinity",
        "1e999",
        "-0.0",
        "0.5",
        str(2**63),
        str(-(2**64)),
        "9" * 400,
        "[" * 200 + "]" * 200,
        '"\\ud800"',
        '"\\udc80 tail"',
        '"\\u0000\\u001b[31m"',
        '"\\ud83d\\ude00"',
        "true",
        "null",
        '{"k": 1, "k": 2}',
        '"' + "x" * 1_001 + '"',
    ]
)
_FIELDS = st.sampled_from([*_GOOD.keys(), "extra"])


@settings(max_examples=200, deadline=None)
@given(_FIELDS, _ODD_VALUES, st.booleans())
def test_a_line_with_any_json_oddity_is_refused_or_round_trips(
    field: str, odd: str, duplicate: bool
) -> None:
    """One odd value in one field of one line: that line is either imported and written back
    exactly as Nexus writes it, or skipped with one line naming it — and the other task always
    imports."""
    other = Task.from_dict(dict(_GOOD, id="nx-othr")).to_line()
    base = json.dumps({k: v for k, v in _GOOD.items() if k != field}, separators=(",", ":"))
    spliced = f'"{field}":{odd}'
    if duplicate and field in _GOOD:  # the odd value *and* the good one: a duplicate key
        spliced += f',"{field}":{json.dumps(_GOOD[field])}'
    line = base[:-1] + "," + spliced + "}"
    parsed = jsonl.read(f"{other}\n{line}\n".encode(), source="tasks.jsonl")
    assert [t.to_line() for t in parsed.tasks][:1] == [other]
    if parsed.skipped:
        [skipped] = parsed.skipped
        assert skipped.text == line and skipped.number == 2
        assert skipped.reason.startswith("tasks.jsonl:2: ") and "\n" not in skipped.reason
        return
    [_, task] = parsed.tasks
    again = jsonl.read(jsonl.render_tasks(parsed.tasks), source="tasks.jsonl")
    assert sorted(t.to_line() for t in again.tasks) == sorted(t.to_line() for t in parsed.tasks)
    assert not again.skipped and task.to_line() == Task.from_dict(task.to_dict()).to_line()


# -- every rule, its exact words on both paths (pinned by mutation testing) ----------------------

_MINIMAL = {"id": "nx-abcd", "title": "t"}
_READ_HINT = "fix or remove that line (see `git diff`); the other tasks were imported"
_WRITE_HINT = "the limits of a task are listed in docs/security.md"


def _moment(days: int) -> str:
    return (datetime.now(UTC) + timedelta(days=days)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _history_nesting(levels: int) -> list[Any]:
    """A history whose record nests ``levels`` deep in all (record, history list, entry: 3)."""
    inner: list[Any] = []
    for _ in range(levels - 4):
        inner = [inner]
    history = [{"a": inner}]
    assert jsonio.depth({**_MINIMAL, "history": history}) == levels
    return history


def _accepted(**fields: Any) -> None:
    data = {**_MINIMAL, **fields}
    record.check_new(data)
    record.check_record(data, "tasks.jsonl:3")


# A field's value at its limit, and the values that may be left out.
AT_THE_LIMIT: list[dict[str, Any]] = [
    {"title": "x" * record.MAX_TITLE},
    {"description": "d" * record.MAX_TEXT, "assignee": "a" * record.MAX_ASSIGNEE},
    {"description": None, "assignee": None, "workspace": None, "parent": None},
    {"created_at": "c" * 64, "updated_at": "u" * 64},
    {"labels": ["l" * record.MAX_LABEL] * record.MAX_LABELS},
    {"depends_on": [f"nx-{i:04d}" for i in range(record.MAX_DEPENDS)]},
    {"gates": [{"command": "c" * record.MAX_COMMAND, "timeout_s": record.MAX_GATE_TIMEOUT_S}]},
    {"gates": [{"command": "true", "timeout_s": 1, "service": "db"}] * record.MAX_GATES},
    {"gates": [{"command": "true", "timeout_s": None, "service": None}]},
    {"notes": [{"text": "n" * record.MAX_TEXT}, {"text": None}, {}], "history": [{}]},
    {"priority": 0, "no_gates": True, "workspace": "feat-1", "parent": "nx-efgh"},
    {"no_gates": False, "deferred_until": _moment(1), "depends_on": None, "labels": None},
    {"history": _history_nesting(record.MAX_DEPTH)},
    {"title": "café ✓ \x1b[31m", "labels": ["été"], "gates": [{"command": "echo ✓"}]},
]


@pytest.mark.parametrize("fields", AT_THE_LIMIT)
def test_values_at_the_limits_are_accepted(fields: dict[str, Any]) -> None:
    _accepted(**fields)


def test_a_valid_lease_is_accepted() -> None:
    _accepted(lease=lease.new(ownership.new(), 60))


# (fields changed, the field named, its problem)
REFUSED: list[tuple[dict[str, Any], str, str]] = [
    ({"title": None}, "title", "must be text, not NoneType"),
    ({"title": 7}, "title", "must be text, not int"),
    ({"title": "x" * 1_001}, "title", "is longer than 1,000 characters (1,001)"),
    ({"title": "bad \udcff"}, "title", "holds undecodable bytes"),
    ({"description": "d" * 100_001}, "description", "is longer than 100,000 characters (100,001)"),
    ({"description": ["d"]}, "description", "must be text, not list"),
    ({"created_at": "c" * 65}, "created_at", "is longer than 64 characters (65)"),
    ({"updated_at": 1}, "updated_at", "must be text, not int"),
    ({"assignee": "a" * 1_001}, "assignee", "is longer than 1,000 characters (1,001)"),
    ({"assignee": "bad \udcff"}, "assignee", "holds undecodable bytes"),
    ({"priority": True}, "priority", "must be a whole number 0-4, not True"),
    ({"priority": "2"}, "priority", "must be a whole number 0-4, not '2'"),
    ({"priority": None}, "priority", "must be a whole number 0-4, not None"),
    ({"depends_on": "nx-abcd"}, "depends_on", "must be a list, not str"),
    (
        {"depends_on": [f"nx-{i:04d}" for i in range(1_001)]},
        "depends_on",
        "has more than 1,000 entries (1,001)",
    ),
    ({"labels": ["l" * 101]}, "labels", "must hold text of at most 100 characters"),
    ({"labels": [1]}, "labels", "must hold text of at most 100 characters"),
    ({"labels": ["ok", "bad \udcff"]}, "labels", "holds undecodable bytes"),
    ({"labels": ["l"] * 101}, "labels", "has more than 100 entries (101)"),
    ({"gates": {"command": "true"}}, "gates", "must be a list, not dict"),
    ({"gates": ["true"]}, "gates", "must hold objects"),
    ({"gates": [{"command": "true"}] * 101}, "gates", "has more than 100 entries (101)"),
    ({"gates": [{"command": " \t"}]}, "gates", "holds a blank or non-text command ' \\t'"),
    ({"gates": [{"command": 5}]}, "gates", "holds a blank or non-text command 5"),
    ({"gates": [{}]}, "gates", "holds a blank or non-text command None"),
    (
        {"gates": [{"command": "c" * 10_001}]},
        "gates",
        "holds a command longer than 10,000 characters",
    ),
    ({"gates": [{"command": "bad \udcff"}]}, "gates", "holds a command with undecodable bytes"),
    *[
        (
            {"gates": [{"command": "true", "timeout_s": bad}]},
            "gates",
            f"holds timeout_s {bad!r}: give 1-604,800 s (7 days)",
        )
        for bad in (0, -1, 604_801, True, 1.5, "60")
    ],
    ({"notes": ["n"]}, "notes", "must hold objects"),
    ({"history": [{}, 1]}, "history", "must hold objects"),
    ({"notes": "n"}, "notes", "must be a list, not str"),
    ({"notes": [{"text": "n" * 100_001}]}, "text", "is longer than 100,000 characters (100,001)"),
    ({"notes": [{"text": 1}]}, "text", "must be text, not int"),
    ({"no_gates": "yes"}, "no_gates", "must be true or false"),
    ({"no_gates": None}, "no_gates", "must be true or false"),
    ({"parent": "nx-abcd"}, "parent", "names the task itself"),
    *[
        (
            {"deferred_until": bad},
            "deferred_until",
            "must be a UTC moment like 2026-12-24T09:00:00.000000Z",
        )
        for bad in ("tomorrow", 5, _moment(1)[:-1], _moment(1) + "x")
    ],
    ({"lease": "mine"}, "lease", "must be an object"),
    ({"lease": {"owner": {}}}, "lease", "needs an owner (host, pid, start, token)"),
    ({"history": _history_nesting(17)}, "notes and history", "nest deeper than 16 levels"),
]


@pytest.mark.parametrize(("fields", "field", "problem"), REFUSED)
def test_each_rule_names_the_field_and_problem_on_both_paths(
    fields: dict[str, Any], field: str, problem: str
) -> None:
    data = {**_MINIMAL, **fields}
    with pytest.raises(UsageError) as written:
        record.check_new(data)
    assert (written.value.message, written.value.hint) == (
        f"task {field.replace('_', ' ')}: {problem}",
        _WRITE_HINT,
    )
    with pytest.raises(ConfigError) as read:
        record.check_record(data, "tasks.jsonl:3")
    assert (read.value.message, read.value.hint) == (
        f"tasks.jsonl:3: field {field!r} {problem}",
        _READ_HINT,
    )


def test_a_missing_title_is_refused() -> None:
    with pytest.raises(UsageError, match=r"^task title: must be text, not NoneType$"):
        record.check_new({"id": "nx-abcd"})


# (fields changed, what the validator names)
NAMES: list[tuple[dict[str, Any], str]] = [
    ({"id": "NX-1"}, "task id 'NX-1'"),
    ({"id": None}, "task id None"),
    ({"workspace": "../x"}, "workspace name '../x'"),
    ({"depends_on": ["nx-efgh", "bad id"]}, "task id 'bad id'"),
    ({"gates": [{"command": "true", "service": "DB!"}]}, "service name 'DB!'"),
    ({"parent": "nx-"}, "task id 'nx-'"),
]


@pytest.mark.parametrize(("fields", "named"), NAMES)
def test_ids_and_names_go_through_the_validators(fields: dict[str, Any], named: str) -> None:
    data = {**_MINIMAL, **fields}
    with pytest.raises(UsageError) as written:
        record.check_new(data)
    assert written.value.message.startswith(f"invalid {named}: ")
    assert written.value.hint is not None and written.value.hint != _WRITE_HINT
    with pytest.raises(ConfigError) as read:
        record.check_record(data, "tasks.jsonl:3")
    assert read.value.message.startswith(f"tasks.jsonl:3: invalid {named}: ")
    assert read.value.hint == "the file was edited or is corrupt; fix or remove that entry"


def test_a_record_read_with_the_depth_cap_is_not_walked_again() -> None:
    deep = {**_MINIMAL, "history": _history_nesting(20)}
    record.check_record(deep, "tasks.jsonl:3", read_with_cap=True)
    with pytest.raises(ConfigError, match="nest deeper than 16 levels"):
        record.check_record(deep, "tasks.jsonl:3")
