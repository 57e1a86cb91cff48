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
