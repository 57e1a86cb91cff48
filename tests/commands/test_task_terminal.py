"""``nexus task list`` in a real terminal (tmux) at 80×24 and 160×50."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tasks.conftest import new_task
from tests.tmux_terminal import SIZES, assert_fits, nexus_command, require_tmux, terminal

LONG = (
    "Refactor the telemetry pipeline so that every exporter shares one retry policy, one clock "
    "and one place that decides when a batch is sent, then document the behaviour for operators "
    "who run collectors behind proxies"
)
EVIL = "Evil [red]x[/] \x1b]0;pwn\x07 title"


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_each_task_is_one_line_and_titles_end_with_an_ellipsis(
    project: Path, monkeypatch: pytest.MonkeyPatch, width: int, height: int
) -> None:
    require_tmux()
    monkeypatch.setenv("NEXUS_AGENT", "alice")
    ids = {title: new_task(title) for title in ("Short one", LONG, EVIL)}
    with terminal(width, height) as term:
        lines = term.run(nexus_command("task list", {"NEXUS_AGENT": "alice"}), cwd=str(project))
        title_after = term.pane_title()
    assert_fits(lines, width)
    assert len(lines) == 3 + 4  # three rows, the header and four rules: nothing wrapped
    assert _cells(lines[1]) == ["ID", "PRI", "STATUS", "ASSIGNEE", "TITLE"]
    rows = {title: [line for line in lines if task_id in line] for title, task_id in ids.items()}
    assert all(len(found) == 1 for found in rows.values()), rows
    assert _cells(rows["Short one"][0]) == [ids["Short one"], "P2", "open", "-", "Short one"]
    long_title = _cells(rows[LONG][0])[-1]
    assert long_title.endswith("…") and LONG.startswith(long_title[:-1].rstrip())
    assert len(long_title) > width // 4  # the title gets the room the other columns leave
    # Markup is shown, not applied; the escape sequence is visible and did not set the title.
    assert _cells(rows[EVIL][0])[-1] == "Evil [red]x[/] ^[]0;pwn^G title"
    assert "pwn" not in title_after


def _cells(line: str) -> list[str]:
    return [cell.strip() for cell in line.strip().strip("│").split("│")]
