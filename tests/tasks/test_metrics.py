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
