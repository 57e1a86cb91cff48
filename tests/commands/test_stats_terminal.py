"""``nexus stats`` in a real terminal (tmux) at 80×24 and 160×50."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from nexus_cli.telemetry.query.durations import human_ms
from tests.conftest import run_nexus
from tests.tmux_terminal import SIZES, assert_fits, nexus_command, terminal

QUIET = {"NEXUS_TELEMETRY_DISABLED": "1"}  # reading stats must not add the run being read


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_stats_tables_fit_with_humanised_durations(
    filled_telemetry: Path, monkeypatch: pytest.MonkeyPatch, width: int, height: int
) -> None:
    monkeypatch.setenv("NEXUS_TELEMETRY_DISABLED", "1")
    data = run_nexus("stats", "--json").json()
    with terminal(width, height) as term:
        lines = term.run(nexus_command("stats", QUIET))
    assert_fits(lines, width)
    screen = "\n".join(lines)
    header = next(line for line in lines if "command" in line and "median" in line)
    assert [c.strip() for c in header.strip("│ ").split("│")] == [
        "command",
        "runs",
        "errors",
        "median",
        "p95",
    ]
    timed = [c for c in data["commands"] if not c["interactive"]][:5]
    assert timed
    for command in timed:
        row = next(line for line in lines if f"│ {command['command']} " in line)
        cells = [c.strip() for c in row.strip("│ ").split("│")]
        assert cells == [
            command["command"],
            str(command["invocations"]),
            str(command["errors"]),
            human_ms(command["median_ms"]),
            human_ms(command["p95_ms"]),
        ]
        assert re.search(rf"│ +{command['invocations']} │", row)  # counts right-aligned
    assert not re.search(r"\d{4,} ms|\d{3,}\.\d s", screen)  # no raw milliseconds or seconds
    assert any(re.search(r"\d+m \d+s", line) for line in lines)  # minutes shown as such
    rate = f"{data['success_rate'] * 100:.1f}%"
    assert any("success rate" in line and rate in line for line in lines)
