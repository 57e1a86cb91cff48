"""`nexus task import`: beads and GitHub exports (hand-written files in tests/tasks/data) into
real task stores; every bad record reported with its line and skipped, nothing else lost."""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.errors import UsageError
from nexus_cli.project import find_project
from nexus_cli.tasks import approvals, import_formats
from nexus_cli.tasks.listing import list_tasks
from tests.conftest import run_nexus
from tests.tasks.conftest import ok, show

DATA = Path(__file__).parent / "data"
BEADS = DATA / "beads-export.jsonl"
GITHUB = DATA / "github-issues.json"


def _by_original(report: dict[str, Any]) -> dict[str, str]:
    return {c["original"]: c["id"] for c in report["created"]}


def _tasks(project_dir: Path) -> list[dict[str, Any]]:
    return [json.loads(doc) for doc in list_tasks(find_project(project_dir)).docs]


def test_beads_export_maps_fields_dependencies_and_reports_bad_lines(
    tasks_project: Path,
) -> None:
    result = ok("task", "import", str(BEADS), "--from", "beads", "--json")
    report = result.json()
    made = _by_original(report)
    assert sorted(made) == ["bd-10", "bd-10.1", "bd-11", "bd-12"]
    problems = {p["where"]: p["message"] for p in report["problems"]}
    assert sorted(problems) == [f"line {n}" for n in (10, 11, 12, 5, 6, 7, 8, 9)]
    assert "priority" in problems["line 5"] and "not valid JSON" in problems["line 6"]
    assert "title" in problems["line 7"] and "tombstone" in problems["line 8"]
    assert "first at line 1" in problems["line 9"] and "JSON object" in problems["line 10"]
    assert "someday" in problems["line 11"] and "labels" in problems["line 12"]
    assert "line 5: skipped" in result.stderr

    epic, child, closed, later = (show(made[k]) for k in ("bd-10", "bd-10.1", "bd-11", "bd-12"))
    assert epic["labels"] == ["backend", "beads:bd-10", "security", "type:epic"]
    assert (epic["priority"], epic["status"], epic["assignee"]) == (1, "open", None)
    assert epic["created_at"] == "2025-01-09T12:00:00.000000Z"
    # parent-child: the parent waits for its child; blocks: the child waits for bd-11
    assert epic["depends_on"] == [made["bd-10.1"]]
    assert child["depends_on"] == [made["bd-11"]]
    assert (child["status"], child["assignee"], child["priority"]) == ("in_progress", "bob", 0)
    assert child["description"] == "POST /token\n\nAcceptance criteria:\nreturns 200 with a token"
    assert closed["status"] == "cancelled" and closed["depends_on"] == []  # related: no order
    assert "no gate verified it" in closed["history"][0]["reason"]
    assert later["depends_on"] == [] and "beads-status:deferred" in later["labels"]
    created = epic["history"][0]
    assert (created["action"], created["via"], created["imported_from"]) == (
        "created",
        "import",
        "beads:bd-10",
    )
    assert report["dependencies"] == [
        {"task": "bd-10", "depends_on": "bd-10.1"},
        {"task": "bd-10.1", "depends_on": "bd-11"},
    ]


def test_a_second_import_creates_nothing_and_links_to_the_first(tasks_project: Path) -> None:
    first = ok("task", "import", str(BEADS), "--from", "beads", "--json").json()
    before = (tasks_project / ".nexus" / "tasks.jsonl").read_text()
    again = ok("task", "import", str(BEADS), "--from", "beads", "--json").json()
    assert again["created"] == [] and again["dependencies"] == []
    assert {a["original"]: a["id"] for a in again["already_imported"]} == _by_original(first)
    assert (tasks_project / ".nexus" / "tasks.jsonl").read_text() == before
    # a later export with one new issue that depends on an imported one
    extra = tasks_project / "more.jsonl"
    extra.write_text(
        BEADS.read_text()
        + json.dumps(
            {
                "id": "bd-20",
                "title": "Follow-up",
                "dependencies": [{"depends_on_id": "bd-11", "type": "blocks"}],
            }
        )
        + "\n"
    )
    third = ok("task", "import", str(extra), "--from", "beads", "--json").json()
    new = _by_original(third)
    assert list(new) == ["bd-20"]
    assert show(new["bd-20"])["depends_on"] == [_by_original(first)["bd-11"]]


def test_dry_run_shows_the_plan_and_writes_nothing(tasks_project: Path) -> None:
    result = ok("task", "import", str(BEADS), "--from", "beads", "--dry-run")
    assert "(new)  bd-10.1  in_progress  Token endpoint" in result.stdout
    assert "bd-10 depends on bd-10.1" in result.stdout
    assert "would create 4 task(s)" in result.stderr
    assert _tasks(tasks_project) == []
    report = ok("task", "import", str(BEADS), "--from", "beads", "--dry-run", "--json").json()
    assert report["dry_run"] is True and [c["id"] for c in report["created"]] == [None] * 4


def test_github_issues_map_state_labels_priority_and_assignee(tasks_project: Path) -> None:
    report = ok("task", "import", str(GITHUB), "--from", "github", "--json").json()
    made = _by_original(report)
    assert sorted(made) == ["#34", "#35", "#36"]
    problems = {p["where"]: p["message"] for p in report["problems"]}
    assert sorted(problems) == ["record 4", "record 5", "record 6"]
    assert "number" in problems["record 4"] and "MERGED" in problems["record 5"].upper()
    assert "login" in problems["record 6"]
    crash, typo, fast = (show(made[k]) for k in ("#34", "#35", "#36"))
    assert crash["labels"] == ["P1", "bug", "gh:#34"] and crash["priority"] == 1
    assert crash["assignee"] == "octocat" and crash["status"] == "open"
    assert crash["description"].startswith("Steps:\n1.")
    assert crash["created_at"] == "2025-03-01T09:15:00.000000Z"
    assert typo["status"] == "cancelled"
    assert fast["priority"] == 3 and fast["description"] == ""
    assert fast["created_at"] > "2026"  # "not a date": the time of the import
    again = ok("task", "import", str(GITHUB), "--from", "github", "--json").json()
    assert again["created"] == [] and len(again["already_imported"]) == 3


def test_imported_gates_wait_for_a_person(tasks_project: Path) -> None:
    report = ok(
        "task", "import", str(GITHUB), "--from", "github", "--gate", "true", "--json"
    ).json()
    task_id = _by_original(report)["#36"]
    project = find_project(tasks_project)
    task = next(t for t in list_tasks(project).tasks() if t.id == task_id)
    assert [g.command for g in task.gates] == ["true"]
    assert approvals.pending(project, task) == task.gates
    ok("task", "start", task_id)
    refused = run_nexus("task", "complete", task_id)
    assert refused.exit_code != 0 and "waits for a person" in refused.stderr
    assert show(task_id)["status"] == "in_progress"


def test_a_task_imported_without_gates_cannot_be_completed(tasks_project: Path) -> None:
    task_id = _by_original(ok("task", "import", str(GITHUB), "--from", "github", "--json").json())[
        "#36"
    ]
    ok("task", "start", task_id)
    refused = run_nexus("task", "complete", task_id)
    assert refused.exit_code == 2 and "gates cannot be skipped" in refused.stderr


def test_a_cycle_in_the_file_keeps_the_tasks_and_drops_the_closing_edge(
    tasks_project: Path,
) -> None:
    path = tasks_project / "cycle.jsonl"
    rows = [
        {"id": "a-1", "title": "A", "dependencies": [{"depends_on_id": "a-2", "type": "blocks"}]},
        {"id": "a-2", "title": "B", "dependencies": [{"depends_on_id": "a-1", "type": "blocks"}]},
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = ok("task", "import", str(path), "--from", "beads", "--json").json()
    made = _by_original(report)
    assert len(made) == 2 and len(report["dependencies"]) == 1
    assert "cycle" in report["problems"][0]["message"]
    assert report["problems"][0]["where"] == "line 2"
    assert show(made["a-1"])["depends_on"] == [made["a-2"]]
    assert show(made["a-2"])["depends_on"] == []


def test_a_task_depending_on_itself_is_imported_and_the_edge_reported(
    tasks_project: Path,
) -> None:
    path = tasks_project / "self.jsonl"
    row = {"id": "s-1", "title": "S", "dependencies": [{"depends_on_id": "s-1", "type": "blocks"}]}
    path.write_text(json.dumps(row) + "\n")
    result = ok("task", "import", str(path), "--from", "beads")
    assert "line 1: dependency s-1 on itself left out" in result.stderr
    assert "0 skipped; 1 dependency left out" in result.stderr  # the task itself was imported
    [task] = ok("task", "list", "--json").json()
    assert task["title"] == "S" and task["depends_on"] == []


def test_a_file_that_is_not_an_export_is_one_line(tasks_project: Path) -> None:
    for source, text in (("github", '{"number": 1}'), ("github", "[1, 2"), ("beads", "")):
        path = tasks_project / "bad.json"
        path.write_text(text)
        result = run_nexus("task", "import", str(path), "--from", source)
        assert "Traceback" not in result.stderr
        if source == "github":
            assert result.exit_code == 2 and "gh issue list" in result.stderr
        else:
            assert result.exit_code == 0 and "created 0 task(s)" in result.stderr
    missing = run_nexus("task", "import", str(tasks_project / "nope.json"), "--from", "beads")
    assert missing.exit_code == 2 and "cannot read" in missing.stderr
    binary = tasks_project / "bin.jsonl"
    binary.write_bytes(b"\xff\xfe{}")
    result = run_nexus("task", "import", str(binary), "--from", "beads")
    assert result.exit_code == 2 and "not UTF-8" in result.stderr


def test_control_characters_in_titles_are_escaped_on_the_terminal(tasks_project: Path) -> None:
    path = tasks_project / "esc.jsonl"
    path.write_text(json.dumps({"id": "bd-1", "title": "evil \x1b[31mred"}) + "\n")
    result = ok("task", "import", str(path), "--from", "beads")
    assert "\x1b" not in result.stdout
    (only,) = _tasks(tasks_project)
    assert only["title"] == "evil \x1b[31mred"  # kept as it was, escaped when shown


def test_parse_refuses_an_unknown_source() -> None:
    with pytest.raises(UsageError, match="unknown import source"):
        import_formats.parse("", "jira")


def test_the_fixture_files_are_valid_exports(tmp_path: Path) -> None:
    # the fixtures are read as the user's files: a copy elsewhere parses the same
    copy = tmp_path / "b.jsonl"
    shutil.copy(BEADS, copy)
    records, problems = import_formats.parse(import_formats.read_file(copy), "beads")
    assert len(records) == 4 and len(problems) == 8


def test_a_longer_cycle_loses_only_its_closing_edge(tasks_project: Path) -> None:
    path = tasks_project / "ring.jsonl"
    ring = ["r-1", "r-2", "r-3"]
    rows = [
        {"id": a, "title": a, "dependencies": [{"depends_on_id": b, "type": "blocks"}]}
        for a, b in zip(ring, [*ring[1:], ring[0]], strict=True)
    ]
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    report = ok("task", "import", str(path), "--from", "beads", "--json").json()
    assert report["dependencies"] == [
        {"task": "r-1", "depends_on": "r-2"},
        {"task": "r-2", "depends_on": "r-3"},
    ]
    assert [p["where"] for p in report["problems"]] == ["line 3"]
    made = _by_original(report)
    # the stored graph is r-1 -> r-2 -> r-3: Nexus refuses the edge the import left out
    refused = run_nexus("task", "dep", "add", made["r-3"], made["r-1"])
    assert refused.exit_code == 2 and "cycle" in refused.stderr


def test_an_import_that_cannot_store_a_task_stores_none(tasks_project: Path) -> None:
    too_long = str(8 * 24 * 3600)  # over the 7-day limit of a gate, refused when stored
    result = run_nexus(
        "task", "import", str(BEADS), "--from", "beads", "--gate", "true",
        "--gate-timeout", too_long,
    )  # fmt: skip
    assert result.exit_code == 2 and "timeout" in result.stderr
    assert "Traceback" not in result.stderr
    assert _tasks(tasks_project) == []
