"""Gate and task metrics from real task histories, and the OpenMetrics export that adds them."""

from __future__ import annotations

from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from nexus_cli.project import find_project
from nexus_cli.tasks import metrics
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Task
from tests.conftest import run_nexus
from tests.tasks.conftest import approve_all, new_task, ok


def _tasks(root: Path) -> list[Task]:
    with opened(find_project(root)) as store:
        return store.list_tasks()


def _fail_then_pass(root: Path) -> str:
    """A task whose gate `test -f flag` fails on the first verify and passes on the second."""
    task_id = new_task("Flag", "--gate", "test -f flag", "--gate", "true")
    approve_all(root, task_id)
    assert run_nexus("task", "verify", task_id).exit_code == 3
    (root / "flag").write_text("")
    ok("task", "verify", task_id)
    return task_id


def test_gate_figures_count_first_tries_and_passes(tasks_project: Path) -> None:
    _fail_then_pass(tasks_project)
    other = new_task("Other", "--gate", "true")
    approve_all(tasks_project, other)
    ok("task", "verify", other)
    figures = {g: f.to_json(g) for g, f in metrics.gate_figures(_tasks(tasks_project)).items()}
    flag, true = figures["test -f flag"], figures["true"]
    assert (flag["runs"], flag["passed"], flag["first_try_pass_rate"]) == (2, 1, 0.0)
    assert (true["runs"], true["passed"], true["first_try_runs"]) == (3, 3, 2)
    assert true["pass_rate"] == 1.0 and true["p50_ms"] is not None


def test_export_openmetrics_holds_tasks_gates_and_commands(tasks_project: Path) -> None:
    _fail_then_pass(tasks_project)
    result = ok("export", "--format", "openmetrics")
    families = {f.name: f for f in text_string_to_metric_families(result.stdout)}
    runs = {
        (s.labels["gate"], s.labels["passed"]): s.value for s in families["nexus_gate_runs"].samples
    }
    assert runs == {("test -f flag", "false"): 1, ("test -f flag", "true"): 1, ("true", "true"): 2}
    assert {s.labels["status"] for s in families["nexus_tasks"].samples} == {"open"}
    counts = [
        s for s in families["nexus_gate_duration_seconds"].samples if s.name.endswith("_count")
    ]
    assert sorted(s.value for s in counts) == [2, 2]
    commands = {s.labels["command"] for s in families["nexus_invocations"].samples}
    assert "task verify" in commands


def test_export_openmetrics_outside_a_project_writes_only_commands(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    run_nexus("version")
    target = tmp_path / "nexus.prom"
    result = run_nexus("export", "--format", "openmetrics", "-o", str(target))
    assert result.exit_code == 0, result.stderr
    families = {f.name: f for f in text_string_to_metric_families(target.read_text())}
    assert families["nexus_tasks"].samples == [] and families["nexus_invocations"].samples
    assert target.stat().st_mode & 0o077 == 0


def test_export_openmetrics_refuses_table_options() -> None:
    result = run_nexus("export", "--format", "openmetrics", "--table", "sessions")
    assert result.exit_code == 2 and "takes no --table" in result.stderr


def _task(history: list[object], status: str = "done", labels: tuple[str, ...] = ()) -> Task:
    return Task.from_dict(
        {"id": "nx-a1", "title": "t", "status": status, "history": history, "labels": list(labels)}
    )


def test_a_hand_edited_history_is_read_only_where_it_has_the_right_shape() -> None:
    task = _task(
        [
            {"action": "transition", "to": "in_progress", "at": 5},
            {"action": "transition", "to": "in_progress", "at": "2026-01-01T00:00:00Z"},
            {"action": "gate_run", "command": ["rm"], "passed": True},
            {"action": "gate_run", "command": "make", "passed": "yes"},
            {"action": "gate_run", "command": "make", "passed": False, "duration_ms": -4},
            {"action": "gate_run", "command": "make", "passed": True, "duration_ms": 2**60},
            "not an entry",
            {"action": "transition", "to": "done", "at": "2026-01-01T00:00:01.5Z"},
        ]
    )
    figures = metrics.gate_figures([task])
    assert list(figures) == ["make"] and figures["make"].durations_ms == []
    assert (figures["make"].runs, figures["make"].passed) == (2, 1)
    assert metrics.claim_to_done_ms(task) == 1500
    assert metrics.iterations(task) == 2 and metrics.first_try_passed(task) is False


def test_claim_to_done_needs_a_done_task_with_both_moments() -> None:
    claimed = {"action": "transition", "to": "in_progress", "at": "2026-01-01T00:00:00Z"}
    done = {"action": "transition", "to": "done", "at": "2026-01-01T00:01:00Z"}
    assert metrics.claim_to_done_ms(_task([claimed, done])) == 60_000
    assert metrics.claim_to_done_ms(_task([claimed, done], status="open")) is None
    assert metrics.claim_to_done_ms(_task([done])) is None
    naive = {**done, "at": "2026-01-01T00:01:00"}
    assert metrics.claim_to_done_ms(_task([claimed, naive])) is None


def test_workflow_figures_group_by_workflow_and_stage() -> None:
    tasks = [
        _task([], labels=("workflow:rel", "stage:build")),
        _task([], status="open", labels=("workflow:rel", "stage:build")),
        _task([], labels=("workflow:rel", "stage:ship")),
        _task([]),
    ]
    rows = [
        (w["workflow"], w["stage"], w["tasks"], w["done"]) for w in metrics.workflow_figures(tasks)
    ]
    assert rows == [("rel", "build", 2, 1), ("rel", "ship", 1, 1)]


def test_a_gate_command_with_quotes_and_backslashes_parses_back(tasks_project: Path) -> None:
    gate = 'printf "%s\\n" \\ok'
    task_id = new_task("Quoted", "--gate", gate)
    approve_all(tasks_project, task_id)
    ok("task", "verify", task_id)
    text = ok("export", "--format", "openmetrics").stdout
    families = {f.name: f for f in text_string_to_metric_families(text)}
    assert [s.labels["gate"] for s in families["nexus_gate_runs"].samples] == [gate]


def test_a_pass_after_a_failure_on_the_same_tree_is_flaky(
    tasks_project: Path, tmp_path_factory: pytest.TempPathFactory
) -> None:
    outside = tmp_path_factory.mktemp("outside") / "flag"  # not in the tree: nothing changes
    task_id = new_task("Flaky", "--gate", f"test -f {outside}")
    approve_all(tasks_project, task_id)
    assert run_nexus("task", "verify", task_id).exit_code == 3
    outside.write_text("")
    ok("task", "verify", task_id)
    _fail_then_pass(tasks_project)  # its fix changes the tree: not flaky
    figures = {g: f.to_json(g) for g, f in metrics.gate_figures(_tasks(tasks_project)).items()}
    flaky, fixed = figures[f"test -f {outside}"], figures["test -f flag"]
    assert (flaky["passes_after_failure"], flaky["flaky_passes"]) == (1, 1)
    assert (fixed["passes_after_failure"], fixed["flaky_passes"]) == (1, 0)
    text = ok("export", "--format", "openmetrics").stdout
    families = {f.name: f for f in text_string_to_metric_families(text)}
    counted = {s.labels["gate"]: s.value for s in families["nexus_gate_flaky_passes"].samples}
    assert counted[f"test -f {outside}"] == 1 and counted["test -f flag"] == 0
