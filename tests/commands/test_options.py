"""Shared options of the commands (nexus_cli/commands/options.py)."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_nexus


@pytest.mark.parametrize(
    "args",
    [
        ("dashboard", "--watch", "--interval", "nan"),
        ("dashboard", "--watch", "--interval", "inf"),
        ("loop", "--agent", "true", "--max-minutes", "nan"),
        ("sync", "now", "--timeout", "nan"),
    ],
)
def test_nan_and_inf_are_refused_where_a_number_of_seconds_is_asked(
    project: Path, args: tuple[str, ...]
) -> None:
    """Click's FloatRange lets nan through its bounds (and inf through an open one): each
    such option refuses both in one line, exit 2, instead of failing deep inside."""
    result = run_nexus(*args)
    assert result.exit_code == 2, result.stderr
    assert "Invalid value for" in result.stderr and "this is a bug" not in result.stderr


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (("insights", "--output", "out.md"), "--output applies to the report: add --report"),
        (("insights", "--quiet"), "--quiet applies to the report"),
        (("insights", "--format", "json"), "--format applies to the report"),
        (("insights", "--force", "--quiet"), "--force, --quiet apply to the report"),
        (("dashboard", "--json", "--html", "d.html"), "--html and --json are each a way"),
        (("dashboard", "--watch", "--json"), "--watch and --json are each a way"),
        (("dashboard", "--force"), "--force applies to --html FILE"),
    ],
)
def test_options_that_would_be_ignored_are_refused(
    project: Path, args: tuple[str, ...], message: str
) -> None:
    """A cron line missing --report exited 0 and wrote nothing; now such a line fails."""
    result = run_nexus(*args)
    assert result.exit_code == 2 and message in result.stderr, result.stderr
    assert not (project / "out.md").exists() and not (project / "d.html").exists()


@pytest.mark.parametrize("tail", ["abc", "-1", "1.5"])
def test_logs_tail_is_a_number_of_lines_or_all(project: Path, tail: str) -> None:
    """`--tail abc` printed every line, exit 0."""
    result = run_nexus("workspace", "logs", "w1", "--tail", tail)
    assert (
        result.exit_code == 2 and "--tail" in result.stderr and "a number of lines" in result.stderr
    )
