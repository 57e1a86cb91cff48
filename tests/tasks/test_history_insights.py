"""Insights from the task history: thresholds, texts, the failing line, and terminal safety."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from nexus_cli.tasks import history_insights
from nexus_cli.tasks.model import Task
from tests.conftest import run_nexus
from tests.tasks.conftest import approve_all, new_task, ok
from tests.telemetry.conftest import write_config

START = datetime.now(UTC).replace(microsecond=0) - timedelta(days=3)


def _at(minutes: float) -> str:
    return (START + timedelta(minutes=minutes)).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def _run(command: str, passed: bool, minute: float, **extra: Any) -> dict[str, Any]:
    return {
        "action": "gate_run",
        "command": command,
        "passed": passed,
        "at": _at(minute),
        "duration_ms": extra.pop("duration_ms", 1000),
        **extra,
    }


def _task(n: int, history: list[dict[str, Any]], labels: tuple[str, ...] = ()) -> Task:
    return Task.from_dict(
        {
            "id": f"nx-t{n}",
            "title": f"task {n}",
            "status": "done",
            "labels": list(labels),
            "history": history,
            "created_at": _at(0),
        }
    )


def _keys(tasks: list[Task], incident: set[str] | None = None) -> dict[str, Any]:
    return {p.key: p for p in history_insights.detect(tasks, incident or set())}


def _fail(line: str) -> str:
    return f"collected 3 items\n\n{line}\n= 1 failed, 2 passed in 0.{len(line)}s ="


def test_a_gate_failing_first_time_in_most_tasks_names_its_usual_failing_line() -> None:
    usual = "FAILED tests/test_api.py::test_login - AssertionError: 401"
    tails = [usual, usual, usual, "FAILED tests/test_db.py::test_pool"]
    tasks = [
        _task(
            n,
            [_run("pytest -x", False, n, output_tail=_fail(tail)), _run("pytest -x", True, n + 1)],
        )
        for n, tail in enumerate(tails)
    ]
    assert "gate_first_try:pytest -x" not in _keys(tasks)  # four tasks: too few to judge
    tasks.append(_task(9, [_run("pytest -x", True, 9)]))
    found = _keys(tasks)["gate_first_try:pytest -x"]
    assert found.description == (
        "the gate `pytest -x` fails its first run in 80% of tasks (4 of 5); the failing line is "
        f"usually `{usual}` (3 of 4 failed runs)"
    )
    assert found.group == "errors" and found.frequency == 4
    assert (found.first_seen, found.last_seen) == (
        _at(0).replace("T", " ")[:23],
        _at(9).replace("T", " ")[:23],
    )


def test_below_half_failing_first_time_or_without_a_shared_line_says_less() -> None:
    passing = [_task(n, [_run("make test", True, n)]) for n in range(3)]
    failing = [
        _task(n, [_run("make test", False, n, output_tail=f"FAIL: case {n}")]) for n in (5, 6)
    ]
    assert "gate_first_try:make test" not in _keys(passing + failing)  # 2 of 5
    failing.append(_task(7, [_run("make test", False, 7, output_tail="just noise")]))
    text = _keys(passing[1:] + failing)["gate_first_try:make test"].description
    assert text == "the gate `make test` fails its first run in 60% of tasks (3 of 5)"


def test_a_long_failing_line_is_cut_and_a_backtick_quotes_instead() -> None:
    long = "E   " + "`x`" * 100
    tasks = [_task(n, [_run("t", False, n, output_tail=long)]) for n in range(5)]
    line = history_insights.failing_line(tasks, "t")
    assert line is not None and len(line[0]) == history_insights.MAX_LINE
    text = _keys(tasks)["gate_first_try:t"].description
    assert f"usually '{line[0]}' (5 of 5 failed runs)" in text


def test_flaky_and_slow_gates() -> None:
    tree = {"tree": "abc"}
    flaky = [
        _task(
            n,
            [
                _run("pytest", False, n, **tree),
                _run("pytest", True, n + 1, receipt=tree, duration_ms=300_000),
            ],
        )
        for n in range(2)
    ]
    found = _keys(flaky)
    assert found["flaky_gate:pytest"].description == (
        "the gate `pytest` passed right after failing on the same tree 2 times (of 2 passes "
        "after a failure): it is flaky"
    )
    assert "slow_gate:pytest" not in found  # four runs: too few
    flaky.append(_task(5, [_run("pytest", True, 5, duration_ms=200_000)]))
    slow = _keys(flaky)["slow_gate:pytest"]
    assert slow.group == "slow" and slow.description.startswith("the gate `pytest` p95 is 5")
    write_config({"telemetry": {"slow_gate_p95_ms": 400_000}})
    assert "slow_gate:pytest" not in _keys(flaky)


def test_stages_needing_many_iterations() -> None:
    labels = ("workflow:rel", "stage:fix")
    runs = [_run("make", False, m) for m in range(3)] + [_run("make", True, 4)]
    tasks = [_task(n, runs, labels) for n in range(2)]
    assert not [k for k in _keys(tasks) if k.startswith("stage_iterations")]
    tasks.append(_task(3, runs[1:], labels))  # 3 runs: (4 + 4 + 3) / 3 = 3.67
    found = _keys(tasks)["stage_iterations:rel:fix"]
    assert found.description == (
        "tasks of stage `fix` in workflow `rel` needed 3.67 gate runs on average (3 tasks)"
    )
    assert found.group == "improvements"


def _stage_task(
    n: int, stage: str, needs: list[str], created: float, claimed: float, done: float
) -> Task:
    return Task.from_dict(
        {
            "id": f"nx-{n}",
            "title": "t",
            "status": "done",
            "labels": ["workflow:oncall", f"stage:{stage}"],
            "depends_on": needs,
            "created_at": _at(created),
            "history": [
                {"action": "transition", "to": "in_progress", "at": _at(claimed)},
                {"action": "transition", "to": "done", "at": _at(done)},
            ],
        }
    )


def test_workflow_duration_and_incident_resolution_need_three_runs() -> None:
    tasks: list[Task] = []
    for run in range(3):
        base = run * 1000
        tasks.append(_stage_task(base + 1, "triage", [], base + 5, base + 10, base + 15))
        tasks.append(
            _stage_task(base + 2, "fix", [f"nx-{base + 1}"], base + 5, base + 16, base + 70)
        )
        found = _keys(tasks, {"oncall"})
        if run < 2:
            assert "workflow_duration:oncall" not in found
    duration = found["workflow_duration:oncall"]
    assert duration.description == (
        "runs of workflow `oncall` take a median of 1h 0m (p95 1h 0m) from the first claim to the "
        "last done, over 3 runs; stage `fix` takes the most of it (median claim to done 54m 0s)"
    )
    resolution = found["incident_resolution:oncall"]
    assert resolution.description.startswith(
        "incidents run through `oncall` took a median of 1h 5m to resolve (p95 1h 5m, 3 incidents)"
    )
    assert "incident_resolution:oncall" not in _keys(tasks, set())


def test_insights_show_a_hostile_failing_line_escaped(tasks_project: Path) -> None:
    gate = "printf 'FAILED x\\033]0;owned\\007 \\033[2J[red]y[/red]\\n'; false"
    for n in range(5):
        task_id = new_task(f"Task {n}", "--gate", gate)
        approve_all(tasks_project, task_id)
        assert run_nexus("task", "verify", task_id).exit_code == 3
    shown = ok("insights")
    assert "\x1b" not in shown.stdout and "\x07" not in shown.stdout
    assert "FAILED x^[]0;owned^G ^[[2J[red]y[/red]" in shown.stdout
    data = ok("insights", "--json").json()
    first = next(p for p in data["insights"] if p["key"] == f"gate_first_try:{gate}")
    assert "FAILED x\x1b]0;owned\x07 \x1b[2J[red]y[/red]" in first["description"]
    assert first["sessions"] == [] and first["first_seen"].endswith("Z")
    assert ok("insights", "--slow", "--json").json()["insights"] == []
