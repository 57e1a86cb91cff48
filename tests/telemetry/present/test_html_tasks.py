"""The dashboard page's task, gate, workflow and agent cost views: escaped, and laid out in a real
headless Chromium at 700 and 1,400 px without horizontal overflow. The cost view is drawn from
usage that `nexus telemetry ingest claude` read from the hand-written Claude Code transcript
(tests/tasks/data/claude-session.jsonl) in a claimed task's workspace worktree."""

from __future__ import annotations

import html
import json
import re
import subprocess
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from nexus_cli.telemetry.present import html_tasks
from tests.conftest import git, run_nexus
from tests.tasks.conftest import approve_all, new_task, ok
from tests.telemetry.conftest import chromium_binary

HOSTILE = "<script>document.title='owned'</script><img src=x onerror=alert(1)>"
LONG_GATE = "test -f " + "unbreakable" * 18  # one 198-character word
TRANSCRIPT = Path(__file__).parents[2] / "tasks" / "data" / "claude-session.jsonl"
SONNET = "claude-sonnet-4-5-20250929"
# what the fixture's two API responses used (the first's largest counts): in, out, cache w/r
TOKENS = (1200 + 300) + (250 + 60) + 3000 + (10000 + 13000)

# A test-only page that loads the dashboard in a frame of a given width and writes what the
# browser laid out into its own DOM, which --dump-dom prints. The dashboard itself runs no script.
PROBE = """<!DOCTYPE html><html><body style="margin:0">
<iframe id="f" src="dash.html" style="border:0;width:{width}px;height:1200px"></iframe>
<pre id="out"></pre><script>
document.getElementById('f').addEventListener('load', function () {{
  var d = document.getElementById('f').contentDocument;
  var cell = Array.from(d.querySelectorAll('#table-busiest td'))[1];
  document.getElementById('out').textContent = 'RESULT' + JSON.stringify({{
    scroll: d.documentElement.scrollWidth, client: d.documentElement.clientWidth,
    sections: Array.from(d.querySelectorAll('h2[id]')).map(function (h) {{ return h.id; }}),
    tables: Array.from(d.querySelectorAll('table[id]')).map(function (t) {{ return t.id; }}),
    scripts: d.querySelectorAll('script').length, images: d.querySelectorAll('img').length,
    title: d.title, cell: cell ? cell.textContent : null,
    cost: Array.from(d.querySelectorAll('table[id^=table-cost] tbody tr')).map(function (r) {{
      return Array.from(r.cells).map(function (c) {{ return c.textContent; }}); }}),
    overflowing: Array.from(d.querySelectorAll('td, th, p, h2')).filter(function (e) {{
      return e.scrollWidth > e.clientWidth + 1; }}).map(function (e) {{ return e.textContent; }})
  }}) + 'END';
}});
</script></body></html>
"""


def _layout(folder: Path, width: int) -> dict[str, object]:
    browser = chromium_binary()
    assert browser is not None
    probe = folder / f"probe-{width}.html"
    probe.write_text(PROBE.format(width=width))
    done = subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--allow-file-access-from-files",
            "--virtual-time-budget=10000",
            f"--user-data-dir={folder / f'profile-{width}'}",
            "--dump-dom",
            probe.as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    found = re.search(r"RESULT(\{.*\})END", done.stdout)
    assert found is not None, done.stderr[-2000:]
    result: dict[str, object] = json.loads(html.unescape(found.group(1)))
    return result


def test_views_escape_names_and_show_an_empty_history_as_text() -> None:
    page = html_tasks.task_views(
        {
            "tasks": {
                "by_status": {},
                "iterations_per_task": None,
                "first_try_pass_rate": None,
                "claim_to_done_p50_ms": None,
                "claim_to_done_p95_ms": None,
            },
            "gates": [],
            "workflows": [],
            "workflow_runs": [],
            "busiest_tasks": [{"id": "nx-1", "title": HOSTILE, "status": "open", "iterations": 3}],
        }
    )
    assert "no tasks in this project" in page and "no gate runs" in page
    assert "<script>" not in page and "&lt;script&gt;" in page and "<img" not in page


def _figures(**extra: object) -> dict[str, object]:
    return {
        "tokens": 2_500_000,
        "input_tokens": 2_000_000,
        "output_tokens": 500_000,
        "cache_write_tokens": 0,
        "cache_read_tokens": 0,
        "cost_usd": 13.5,
        "cost_complete": True,
        "unpriced_tokens": 0,
        "reported_cost_usd": None,
        **extra,
    }


def _cost(model: str, persona: str, title: str) -> dict[str, object]:
    """The ``stats --cost`` shape (its keys as tests/tasks/test_agent_cost.py reads them)."""
    empty = {**_figures(tokens=0, cost_usd=0.0), "tasks": 0, "wall_ms": 0, "per_task": None}
    done = {**_figures(), "tasks": 1, "wall_ms": 90_000, "per_task": _figures(wall_ms=90_000)}
    return {
        "project": True,
        "prices": {"retrieved": "2026-12-06", "sources": []},
        "total": _figures(cost_complete=False, unpriced_tokens=7),
        "tasks": [
            {
                "task_id": "nx-ab12",
                "task_hash": "f" * 64,
                "title": title,
                "status": "done",
                "outcome": "verified",
                "persona": persona,
                "models": [model],
                "sessions": 1,
                "wall_ms": 90_000,
                **_figures(),
            }
        ],
        "personas": [{"persona": persona, "tasks": 1, "wall_ms": 90_000, **_figures()}],
        "outcomes": {
            "verified": done,
            "done_unverified": empty,
            "abandoned": empty,
            "in_progress": empty,
            "unknown": empty,
        },
        "models": [{"model": model, "priced": False, **_figures(cost_usd=0.0)}],
        "unattributed": _figures(tokens=7, cost_usd=0.0, cost_complete=False),
        "outside_project": _figures(tokens=0, cost_usd=0.0),
    }


def test_the_cost_view_escapes_names_and_shows_control_characters() -> None:
    page = html_tasks.cost_view(
        _cost(HOSTILE + "\x07", "<b>persona</b>\x1b[31m", "title\x9b2J<i>x</i>")
    )
    assert '<h2 id="cost">' in page and 'id="table-cost-outcomes"' in page
    for tag in ("<script", "<img", "<b>", "<i>"):
        assert tag not in page
    assert "&lt;script&gt;document.title=&#x27;owned&#x27;&lt;/script&gt;" in page
    assert "&lt;b&gt;persona&lt;/b&gt;^[[31m" in page and "title\\x9b2J&lt;i&gt;" in page
    assert not re.search(r"[\x00-\x08\x0b-\x1f\x7f-\x9f]", page)  # none reaches the page
    rows = re.findall(r"<tr>(.*?)</tr>", page.split('id="table-cost-outcomes"')[1])
    cells = [re.findall(r"<td[^>]*>([^<]*)</td>", row) for row in rows[1:3]]
    assert cells == [
        ["verified", "1", "2.50M", "$13.50", "1m 30s", "$13.50"],
        ["unattributed", "-", "7", "$0.00 + unknown", "-", "-"],
    ]
    assert "no price" in page  # a model without a price shows no made-up cost
    assert html_tasks.cost_view(None) == ""


def test_with_no_usage_the_cost_view_says_how_to_record_some(project: Path, tmp_path: Path) -> None:
    page = tmp_path / "dash.html"
    ok("dashboard", "--html", str(page))
    cost = page.read_text().split('<h2 id="cost">')[1].split("<h2>")[0]
    assert 'id="cost-empty"' in cost and "table-cost" not in cost
    assert "<code>nexus telemetry ingest claude</code>" in cost
    assert "<code>nexus telemetry receive --listen 127.0.0.1:4318</code>" in cost
    printed = ok("dashboard").stdout
    assert "Agent cost" in printed and "nexus telemetry ingest claude" in printed


def ingest_transcript(home: Path, worktree: Path, session: str, model: str = SONNET) -> None:
    """The hand-written transcript written where Claude Code keeps a session run in
    ``worktree`` (its responses just after the claim), then `nexus telemetry ingest claude`."""
    moment = datetime.now(UTC) + timedelta(
        milliseconds=5
    )  # after the claim, within the page's window
    stamp = moment.strftime("%Y-%m-%dT%H:%M:%S.%f")[:-3] + "Z"
    text = TRANSCRIPT.read_text().replace("@CWD@", str(worktree)).replace("@SESSION@", session)
    for n in range(1, 5):
        text = text.replace(f"@T{n}@", stamp)
    text = text.replace(f'"model":"{SONNET}"', f'"model":{json.dumps(model)}')
    text = text.replace("msg_01AbCdEf", f"msg_{session[:8]}").replace(
        "req_011", f"req_{session[:8]}"
    )
    folder = home / ".claude" / "projects" / str(worktree).replace("/", "-")
    folder.mkdir(parents=True, exist_ok=True)
    (folder / f"{session}.jsonl").write_text(text)
    found = ok("telemetry", "ingest", "claude", "--json").json()
    assert found["new_records"] == 2 and found["attributed"] == 2, found


def claimed_in_worktree(project: Path, title: str) -> tuple[str, Path]:
    """A task with an approved gate (``true``) for workspace ws1, claimed, and ws1's worktree."""
    task = new_task(title, "--workspace", "ws1", "--gate", "true", "--label", "persona:reviewer")
    approve_all(project, task)
    ok("task", "claim", task)
    worktree = project / ".nexus" / "worktrees" / "ws1"
    git(project, "worktree", "add", "-q", "-b", "ws1", str(worktree))
    return task, worktree


def test_the_printed_dashboard_shows_what_verified_work_cost(
    project: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_AGENT", "alice")
    task, worktree = claimed_in_worktree(project, "Fix the failing test")
    ingest_transcript(isolated_home, worktree, "5f0c8a4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f")
    ok("task", "complete", task)
    expected = run_nexus("stats", "--cost", "--json").json()["cost"]["outcomes"]["verified"]
    for width in ("80", "160"):
        printed = ok("dashboard", "--width", width).stdout
        panel = printed[printed.index("Agent cost") :]
        row = next(line for line in panel.splitlines() if "verified" in line)
        dollars = f"${expected['cost_usd']:.2f}"
        cells = next(part for part in row.split("│") if "verified" in part).split()
        assert cells == ["verified", "1", dollars, dollars], printed
        assert f"top model {SONNET}" in panel
        assert "no agent usage" not in printed


@pytest.mark.chromium
@pytest.mark.parametrize("width", [700, 1400])
def test_chromium_lays_out_the_task_and_cost_views_without_overflow(
    project: Path, isolated_home: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("NEXUS_AGENT", "alice")
    paid, worktree = claimed_in_worktree(project, HOSTILE)
    ingest_transcript(isolated_home, worktree, "5f0c8a4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f")
    # a model name that is markup is not an identifier: it is stored as "unknown"
    hostile_model = "<script>alert(1)</script>\x1b[31m"
    ingest_transcript(
        isolated_home, worktree, "6a1d9b5f-2e3c-4d4b-8f9a-8b7c6d5e4f3a", hostile_model
    )
    ok("task", "complete", paid)
    task_id = new_task(HOSTILE, "--gate", LONG_GATE, "--gate", "test -f done")
    approve_all(project, task_id)
    assert run_nexus("task", "verify", task_id).exit_code == 3
    (project / "done").write_text("")
    assert run_nexus("task", "verify", task_id).exit_code == 3
    (project / "Makefile").write_text("test:\n\ttrue\n")
    ok("workflow", "run", "incident-response", "--var", "incident=db-down")
    page = tmp_path / "dash.html"
    ok("dashboard", "--html", str(page))
    seen = _layout(tmp_path, width)
    # nothing wider than the window (its vertical scroll bar aside)
    assert width - 20 <= seen["client"] <= width and seen["scroll"] == seen["client"], seen
    assert seen["overflowing"] == [], seen  # a long gate command wraps inside its cell
    assert seen["sections"] == [
        "tasks",
        "busiest-tasks",
        "gates",
        "workflows",
        "workflow-runs",
        "cost",
        "cost-tasks",
        "cost-personas",
        "cost-models",
    ]
    assert seen["tables"] == [
        "table-task-status",
        "table-busiest",
        "table-gates",
        "table-stages",
        "table-runs",
        "table-cost-outcomes",
        "table-cost-tasks",
        "table-cost-personas",
        "table-cost-models",
    ]
    # the two ingested sessions, attributed to the claimed task, verified when it was completed
    outcomes, task, persona, *models = seen["cost"]
    assert outcomes[:3] == ["verified", "1", f"{2 * TOKENS / 1e3:.1f}k"]
    assert task[:5] == [paid, HOSTILE, "verified", "reviewer", f"{SONNET}, unknown"]
    assert persona[:3] == ["reviewer", "1", f"{2 * TOKENS / 1e3:.1f}k"]
    assert [m[0] for m in models] == [SONNET, "unknown"] and models[1][-1] == "no price"
    # the hostile title is text on the page: no script ran, no element was made from it
    assert (seen["scripts"], seen["images"], seen["title"]) == (0, 0, "Nexus dashboard")
    assert seen["cell"] == HOSTILE
