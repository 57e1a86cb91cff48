"""`nexus stats`: figures match independent SQL over the same window; interactive runs excluded."""

from __future__ import annotations

import math
from pathlib import Path

import pytest

from nexus_cli.telemetry.db import classify
from nexus_cli.telemetry.query import stats
from tests.conftest import run_nexus
from tests.telemetry.conftest import db_rows

INTERACTIVE = ("workspace shell", "gpu monitor")


def _nearest_rank(command: str, since: str, until: str, fraction: float) -> int | None:
    where = "command = ? AND timestamp >= ? AND timestamp < ? AND duration_ms IS NOT NULL"
    extra = ""
    if command == "workspace logs":
        extra = " AND coalesce(raw_data, '') NOT LIKE '%\"follow\"%'"
    n = db_rows(f"SELECT count(*) FROM events WHERE {where}{extra}", (command, since, until))[0][0]
    if n == 0:
        return None
    rows = db_rows(
        f"SELECT duration_ms FROM events WHERE {where}{extra} ORDER BY duration_ms "
        "LIMIT 1 OFFSET ?",
        (command, since, until, max(0, math.ceil(fraction * n) - 1)),
    )
    return int(rows[0][0])


def test_month_figures_match_an_independent_sql_count(filled: Path) -> None:
    result = run_nexus("--no-telemetry", "stats", "--month", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    # --json shows RFC 3339 (2026-11-30T17:59:00.436Z); the database stores 2026-11-30 17:59:00.436
    since, until = (data["window"][k].replace("T", " ").rstrip("Z") for k in ("since", "until"))
    window = "timestamp >= ? AND timestamp < ?"
    n, ok = db_rows(f"SELECT count(*), sum(success) FROM events WHERE {window}", (since, until))[0]
    assert 5000 < n < 15000  # about half of the 60 days
    assert (data["invocations"], data["succeeded"], data["errors"]) == (n, ok, n - ok)
    assert data["success_rate"] == round(ok / n, 4)
    categories = dict(
        db_rows(
            f"SELECT error_category, count(*) FROM events WHERE {window} AND success = 0 "
            "GROUP BY 1",
            (since, until),
        )
    )
    assert data["error_categories"] == categories
    sessions = db_rows(
        f"SELECT count(DISTINCT session_id) FROM events WHERE {window}", (since, until)
    )
    assert data["sessions"] == sessions[0][0]
    created = db_rows(
        f"SELECT count(*) FROM events WHERE {window} AND command = 'workspace create' "
        "AND success = 1",
        (since, until),
    )[0][0]
    done = db_rows(
        f'SELECT count(*) FROM events WHERE {window} AND raw_data LIKE \'%"to_status":"done"%\'',
        (since, until),
    )[0][0]
    assert (data["workspaces_created"], data["tasks_completed"]) == (created, done)
    assert created > 0 and done > 0
    per_command = dict(
        db_rows(f"SELECT command, count(*) FROM events WHERE {window} GROUP BY 1", (since, until))
    )
    assert {c["command"]: c["invocations"] for c in data["commands"]} == per_command
    for c in data["commands"]:
        if c["command"] in INTERACTIVE:
            assert c["interactive"] and c["median_ms"] is None and c["p95_ms"] is None
            continue
        for key, fraction in (("median_ms", 0.5), ("p95_ms", 0.95)):
            exact = _nearest_rank(c["command"], since, until, fraction)
            assert exact is not None and abs(c[key] - exact) <= 0.01 * exact + 0.5, c
    top = db_rows(
        f"SELECT template_used, count(*) FROM events WHERE {window} AND template_used IS NOT NULL "
        "GROUP BY 1 ORDER BY 2 DESC, 1",
        (since, until),
    )
    assert [(t["template"], t["count"]) for t in data["top_templates"]] == top[:10]


def test_exact_computes_percentiles_from_raw_events(filled: Path) -> None:
    result = run_nexus("--no-telemetry", "stats", "--month", "--exact", "--json")
    assert result.exit_code == 0, result.stderr
    data = result.json()
    # the output is RFC 3339 (`...T...Z`); the database stores `YYYY-MM-DD HH:MM:SS.mmm`
    since, until = (data["window"][k].replace("T", " ").rstrip("Z") for k in ("since", "until"))
    for c in data["commands"]:
        if c["command"] not in INTERACTIVE:
            assert c["median_ms"] == _nearest_rank(c["command"], since, until, 0.5), c
            assert c["p95_ms"] == _nearest_rank(c["command"], since, until, 0.95), c


def test_plain_output_lists_commands_and_marks_interactive_ones(filled: Path) -> None:
    result = run_nexus("stats", "--week")
    assert result.exit_code == 0, result.stderr
    assert "success rate" in result.stdout
    shell_line = next(line for line in result.stdout.splitlines() if "workspace shell" in line)
    assert "interactive" in shell_line


def test_workspace_filter_uses_the_hash() -> None:
    from nexus_cli.telemetry.journal import invocation, recorder

    for name in ("api", "api", "web"):
        inv = invocation.begin(["workspace", "up", name])
        inv.command_path = ["workspace", "up"]
        invocation.note(event_type="workspace", workspace=name)
        assert recorder.record(inv, 0)
    data = run_nexus("stats", "--workspace", "api", "--json").json()
    assert data["invocations"] == 2 and data["workspace_filter"] is True
    assert "api" not in str(db_rows("SELECT * FROM events"))


@pytest.mark.parametrize(
    "args",
    [
        ["--since", "2026-02-30"],
        ["--since", "2026-11-05", "--until", "2026-11-01"],
        ["--week", "--month"],
    ],
)
def test_bad_windows_are_usage_errors(args: list[str]) -> None:
    result = run_nexus("stats", *args)
    assert result.exit_code == 2
    assert result.stderr.startswith("error: ")
    assert result.stdout == ""


def test_interactive_detection() -> None:
    assert classify.is_interactive("workspace shell", None)
    assert classify.is_interactive("dashboard", '{"options":["watch"]}')
    assert not classify.is_interactive("dashboard", '{"options":["html_file"]}')
    assert not classify.is_interactive("workspace logs", None)
    assert stats.percentile([1, 2, 3, 4], 0.5) == 2
    assert stats.percentile([], 0.5) is None


def test_counters_noted_by_commands_are_counted_per_event() -> None:
    from nexus_cli.telemetry.journal import invocation, recorder

    for command, counter in (
        ("workspace create", "workspaces_created"),
        ("task approve", "tasks_completed"),
    ):
        inv = invocation.begin(command.split())
        inv.command_path = command.split()
        invocation.note(**{counter: 1})
        assert recorder.record(inv, 0)
    data = run_nexus("--no-telemetry", "stats", "--today", "--json").json()
    assert (data["workspaces_created"], data["tasks_completed"]) == (1, 1)
    assert (
        db_rows("SELECT raw_data FROM events ORDER BY id")[0][0]
        == '{"counts":{"workspaces_created":1}}'
    )
