"""`nexus task merge-driver` (commands/task_merge.py): hidden from help, run by git."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_nexus


def test_the_merge_driver_is_hidden_but_runs(tmp_path: Path) -> None:
    base, ours, theirs = (tmp_path / name for name in ("base", "ours", "theirs"))
    for path in (base, ours, theirs):
        path.write_text("")
    assert "merge-driver" not in run_nexus("task", "--help").stdout
    result = run_nexus("task", "merge-driver", str(base), str(ours), str(theirs))
    assert result.exit_code == 0, result.stderr
    assert ours.read_text() == ""
