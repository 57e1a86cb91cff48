"""The task-history figures every front end reads: incident workflows, stats, insights, the
dashboard page's task views."""

from __future__ import annotations

import re
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from nexus_cli.tasks import otlp_receiver
from nexus_cli.telemetry.agents.records import Hasher, UsageRecord, sealed
from nexus_cli.workflows import history
from tests.conftest import run_nexus
from tests.tasks.conftest import approve_all, new_task, ok


@pytest.fixture
def tasks_project(project: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    monkeypatch.setenv("NEXUS_AGENT", "alice")
    return project


HOSTILE = "<script>alert(1)</script><img src=x onerror=alert(2)> & \"quoted\" 'x'"


def _flow(root: Path, name: str, kind: str) -> None:
    folder = root / ".nexus" / "workflows"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{name}.yaml").write_text(
        f"name: {name}\n{kind}\nstages:\n  - {{id: fix, persona: backend, gates: ['true']}}\n"
    )


def test_incident_workflows_are_those_whose_file_says_so(tasks_project: Path) -> None:
    _flow(tasks_project, "pager", "kind: incident")
    _flow(tasks_project, "chores", "")
    _flow(tasks_project, "broken", "kind: [oops]")  # refused by its own commands, skipped here
    assert history.incident_workflows() == {"pager", "incident-response"}
    _flow(tasks_project, "incident-response", "")  # a project file hides the shipped one
    assert history.incident_workflows() == {"pager"}
    shown = ok("workflow", "show", "pager", "--json").json()
    assert shown["kind"] == "incident"


def test_outside_a_project_there_are_no_task_figures(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    assert history.stats(tasks=False, gates=True, workflows=True) == {
        "gates": [],
        "workflows": [],
        "workflow_runs": [],
    }
    assert history.insights() == []
    assert history.incident_workflows() == {"incident-response"}


def test_stats_report_incident_resolution_for_an_incident_workflow(tasks_project: Path) -> None:
    _flow(tasks_project, "pager", "kind: incident")
    (task,) = ok("workflow", "run", "pager", "--json").json()
    approve_all(tasks_project, task["id"])
    ok("task", "start", task["id"])
    ok("task", "complete", task["id"])
    (row,) = ok("stats", "--workflows", "--json").json()["workflow_runs"]
    assert (row["workflow"], row["incident"], row["runs"], row["completed"]) == (
        "pager",
        True,
        1,
        1,
    )
    assert row["resolution_p50_ms"] >= row["duration_p50_ms"] >= 0
    table = ok("stats", "--workflows").stdout
    assert "resolution p50" in table and "pager" in table


def test_the_dashboard_page_shows_task_views_with_hostile_text_escaped(
    tasks_project: Path, tmp_path: Path
) -> None:
    task_id = new_task(HOSTILE, "--gate", "test -f flag && echo '<b>gate</b>'")
    approve_all(tasks_project, task_id)
    assert run_nexus("task", "verify", task_id).exit_code == 3
    (tasks_project / "flag").write_text("")
    ok("task", "verify", task_id)
    out = tmp_path / "dash.html"
    ok("dashboard", "--html", str(out))
    page = out.read_text()
    for section in ("tasks", "busiest-tasks", "gates", "workflows", "workflow-runs"):
        assert f'<h2 id="{section}">' in page
    assert "<script>" not in page and "<img" not in page and "<b>gate" not in page
    assert "&lt;script&gt;alert(1)&lt;/script&gt;&lt;img src=x onerror=alert(2)&gt;" in page
    assert "test -f flag &amp;&amp; echo &#x27;&lt;b&gt;gate&lt;/b&gt;&#x27;" in page
    assert 'id="cost-empty"' in page  # no agent usage recorded: the cost view says how to
    assert not re.search(r"(src|href)=|https?://|@import|url\(", page.replace("src=x", ""))
    views = history.dashboard()
    assert views["busiest_tasks"] == [
        {"id": task_id, "title": HOSTILE, "status": "open", "iterations": 2}
    ]


def test_the_dashboard_page_lists_task_history_insights(
    tasks_project: Path, tmp_path: Path
) -> None:
    for n in range(5):
        task_id = new_task(f"Task {n}", "--gate", "test -f never")
        approve_all(tasks_project, task_id)
        assert run_nexus("task", "verify", task_id).exit_code == 3
    (found,) = history.dashboard()["insights"]
    assert found["key"] == "gate_first_try:test -f never"
    out = tmp_path / "dash.html"
    ok("dashboard", "--html", str(out))
    insights = out.read_text().split("<h2>Insights</h2>")[1]
    assert "the gate <code>test -f never</code> fails its first run in 100% of tasks" in insights


def test_the_dashboard_cost_covers_the_dashboards_days(tasks_project: Path) -> None:
    task = new_task("Agent work")
    ok("task", "claim", task)
    now_ms = int(time.time() * 1000)
    today = datetime.now(UTC).replace(hour=0, minute=0, second=0, microsecond=0)
    before_today = int(today.timestamp() * 1000) - 3_600_000  # an hour before today began
    records = [
        UsageRecord(
            key=key,
            source="otlp-log",
            session_hash="s1",
            model="claude-sonnet-4-5-20250929",
            at_ms=at_ms,
            input_tokens=1000,
            output_tokens=0,
            cache_write_tokens=0,
            cache_read_tokens=0,
            task_id=task,
        )
        for key, at_ms in (("now", now_ms), ("yesterday", before_today))
    ]
    otlp_receiver.store([sealed(r, Hasher()) for r in records])
    assert history.dashboard_cost(1)["total"]["tokens"] == 1000  # today only
    assert history.dashboard_cost(2)["total"]["tokens"] == 2000
