"""Signals emitted by other areas (here: real task commands) reach stats and insights."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_nexus


def test_task_rejections_and_completions_from_the_tasks_area(
    project: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_AGENT", "tester")
    created = run_nexus("task", "create", "Write the parser", "--gate", "true")
    assert created.exit_code == 0, created.stderr
    task_id = created.stdout.strip()
    for _ in range(2):
        assert run_nexus("task", "claim", task_id).exit_code == 0
        assert run_nexus("task", "complete", task_id).exit_code == 0
        rejected = run_nexus("task", "reject", task_id, "--reason", "no tests for the parser")
        assert rejected.exit_code == 0, rejected.stderr
    stats = run_nexus("--no-telemetry", "stats", "--today", "--json").json()
    assert stats["tasks_completed"] == 2
    assert {"task reject", "task complete"} <= set(stats["top_commands"])
    insights = run_nexus("--no-telemetry", "insights", "--improvements", "--json").json()
    (rejection,) = [p for p in insights["insights"] if p["pattern_type"] == "repeated_rejection"]
    assert rejection["frequency"] == 2
    assert "no tests" not in str(insights)  # only the salted hash of the reason is stored
