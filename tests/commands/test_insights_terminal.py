"""``nexus insights`` in a real terminal (tmux) at 80×24 and 160×50."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_nexus
from tests.tmux_terminal import SIZES, assert_fits, nexus_command, terminal

QUIET = {"NEXUS_TELEMETRY_DISABLED": "1"}


@pytest.mark.parametrize(("width", "height"), SIZES)
def test_insights_wrap_at_words_with_a_hanging_indent(
    filled_telemetry: Path, monkeypatch: pytest.MonkeyPatch, width: int, height: int
) -> None:
    monkeypatch.setenv("NEXUS_TELEMETRY_DISABLED", "1")
    patterns = run_nexus("insights", "--json").json()["insights"]
    assert len(patterns) >= 5
    with terminal(width, height) as term:
        lines = term.run(nexus_command("insights", QUIET))
    assert_fits(lines, width)
    # Every word on the screen is a whole word of a pattern: nothing was broken mid-word.
    words = {p["group"] + ":" for p in patterns} | {"•", "→"}
    for p in patterns:
        words |= set(p["description"].replace("`", "").split())
        words |= set(p["suggested_fix"].replace("`", "").split())
    prose = [line for line in lines if not line.strip().startswith("seen ")]
    broken = [w for line in prose for w in line.split() if w not in words]
    assert not broken, broken
    # Wrapped lines keep the indent: only bullets start at column 2, everything else at 4.
    assert all(line.startswith(("  • ", "  → ", "    ")) for line in lines), lines
    assert sum(line.startswith("  • ") for line in lines) == len(patterns)
    first = " ".join(lines[: next(i for i, x in enumerate(lines) if "seen " in x)]).split()
    assert " ".join(first[2:]) == patterns[0]["description"].replace("`", "")
    screen = "\n".join(lines)
    assert not re.search(r"\d{4,} ms|\b\d{3,}(\.\d)? s\b", screen)  # durations humanised
    assert "`" not in screen  # code is styled, not shown with its backticks
    if width >= 160:
        # The width is used: some line of prose runs past where 80 columns would have cut it.
        assert any(len(line) > 80 for line in lines)
