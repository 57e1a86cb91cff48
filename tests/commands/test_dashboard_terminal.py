"""``dashboard --watch`` in a real terminal (tmux) at 80×24 and 160×50, and at 80×40 with agent
usage ingested (the cost panel)."""

from __future__ import annotations

import shlex
from pathlib import Path

import pytest

from tests.tasks.conftest import ok
from tests.telemetry.present.test_html_tasks import claimed_in_worktree, ingest_transcript
from tests.tmux_terminal import nexus_command, require_tmux, terminal


@pytest.mark.parametrize(("width", "height"), [(80, 24), (160, 50)])
def test_watch_fits_the_terminal_and_quits_on_q(
    filled_telemetry: Path, width: int, height: int
) -> None:
    command = nexus_command("dashboard --watch --interval 0.5") + "; echo EXITED-$?"
    with terminal(width, height) as term:
        term.start(command)
        screen = term.wait(lambda s: "q quit" in s and "Insights" in s)
        lines = screen.splitlines()
        assert len(lines) <= height
        assert all(len(line) <= width for line in lines)
        assert "Command timings" in screen and "workspace list" in screen
        assert "Templates and issues" in screen
        # the agent cost panel (no usage here: it says how to record some) joins from 36 rows
        assert ("Agent cost" in screen) is (height >= 36)
        if height >= 36:
            assert "nexus telemetry ingest claude" in screen
        assert "•" in screen and "→" in screen  # at least one insight with its fix
        assert "..." not in screen
        assert term.alternate_on()
        if width >= 160:
            # Side by side: the timings and the insights share the rows.
            row = next(line for line in lines if "Command timings" in line)
            assert "Insights" in row
            assert row.endswith("╮") and len(row) == width
        term.send_keys("q")
        after = term.wait(lambda s: "EXITED-0" in s, seconds=15)
        assert "Command timings" not in after  # the alternate screen is gone, nothing left over
        assert not term.alternate_on()


def test_watch_at_80_by_40_shows_what_agents_spent(
    project: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Usage ingested from the hand-written Claude Code transcript, for a task then verified:
    from 36 rows the cost panel sits under the insights, its rows whole in 38 columns."""
    require_tmux()
    monkeypatch.setenv("NEXUS_AGENT", "alice")
    task, worktree = claimed_in_worktree(project, "Fix the failing test")
    ingest_transcript(isolated_home, worktree, "5f0c8a4e-1d2b-4c3a-9e8f-7a6b5c4d3e2f")
    ok("task", "complete", task)
    with terminal(80, 40) as term:
        term.start(f"cd {shlex.quote(str(project))} && " + nexus_command("dashboard --watch"))
        screen = term.wait(lambda s: "Agent cost" in s and "q quit" in s)
        lines = screen.splitlines()
        assert len(lines) <= 40 and all(len(line) <= 80 for line in lines)
        row = next(line for line in lines if "verified" in line)
        verified = row[row.index("verified") :].split("│")[0].split()
        assert verified[:2] == ["verified", "1"] and verified[2] == verified[3]
        assert verified[2].startswith("$") and "?" not in verified[2]  # a priced model
        assert "top model claude-sonnet-4-5" in screen
        term.send_keys("q")
