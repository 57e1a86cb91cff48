"""``nexus remember``/``forget``/``memory`` as text on a terminal-less run (JSON is in
tests/tasks/test_memory.py)."""

from __future__ import annotations

from pathlib import Path

from tests.conftest import run_nexus


def test_text_output_names_the_fact_and_escapes_it(project: Path) -> None:
    added = run_nexus("remember", "a fact with \u202e inside")
    assert added.exit_code == 0 and added.stderr.startswith("remembered mem-")
    fact_id = added.stderr.split()[1]
    listing = run_nexus("memory")
    assert fact_id in listing.stdout and "a fact with" in listing.stdout
    gone = run_nexus("forget", fact_id)
    assert gone.stderr.startswith(f"forgot {fact_id}: a fact with")
    assert "no facts yet" in run_nexus("memory").stderr


def test_a_skipped_line_is_mentioned(project: Path) -> None:
    (project / ".nexus" / "memory.jsonl").write_text("not json\n")
    listing = run_nexus("memory")
    assert listing.exit_code == 0
    assert "(1 unusable lines in .nexus/memory.jsonl skipped)" in listing.stderr
