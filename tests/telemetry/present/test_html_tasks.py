"""The dashboard page's task, gate and workflow views: escaped, and laid out in a real headless
Chromium at 700 and 1,400 px without horizontal overflow."""

from __future__ import annotations

import html
import json
import re
import subprocess
from pathlib import Path

import pytest

from nexus_cli.telemetry.present import html_tasks
from tests.conftest import run_nexus
from tests.tasks.conftest import approve_all, new_task, ok
from tests.telemetry.conftest import chromium_binary

HOSTILE = "<script>document.title='owned'</script><img src=x onerror=alert(1)>"
LONG_GATE = "test -f " + "unbreakable" * 18  # one 198-character word

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


def test_the_cost_view_draws_the_rows_it_is_given_and_nothing_without() -> None:
    assert html_tasks.cost_view([]) == ""
    page = html_tasks.cost_view([{"task": "<b>nx-1</b>", "tokens": 1200, "cost": None}])
    assert '<h2 id="cost">' in page and "&lt;b&gt;nx-1&lt;/b&gt;" in page
    assert re.findall(r"<th[^>]*>([^<]*)</th>", page) == ["task", "tokens", "cost"]
    assert "<td class=n>1200</td><td class=n>-</td>" in page


@pytest.mark.chromium
@pytest.mark.parametrize("width", [700, 1400])
def test_chromium_lays_out_the_task_views_without_overflow(
    project: Path, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, width: int
) -> None:
    monkeypatch.setenv("NEXUS_AGENT", "alice")
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
    assert seen["sections"] == ["tasks", "busiest-tasks", "gates", "workflows", "workflow-runs"]
    assert seen["tables"] == [
        "table-task-status",
        "table-busiest",
        "table-gates",
        "table-stages",
        "table-runs",
    ]
    # the hostile title is text on the page: no script ran, no element was made from it
    assert (seen["scripts"], seen["images"], seen["title"]) == (0, 0, "Nexus dashboard")
    assert seen["cell"] == HOSTILE
