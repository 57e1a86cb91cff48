"""``dashboard --watch`` in a real terminal (tmux) at 80×24 and 160×50."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.tmux_terminal import nexus_command, terminal


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
