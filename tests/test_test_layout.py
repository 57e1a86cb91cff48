"""Tests mirror modules, and the exceptions are written down where contributors read them.

Every module under ``nexus_cli/`` (``__init__.py`` and ``__main__.py`` aside) has its own
``tests/<same path>/test_<module>.py``, or a row in the table "Modules tested through another
file" in CONTRIBUTING.md naming the test files that cover it. The rows are checked too: a row
whose test file does not exist, or whose module is gone or has gained its own test file, fails
here, so the map cannot rot.
"""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
HEADING = "### Modules tested through another file"
HEADER = ("module", "covered by", "why there")
CODE = re.compile(r"`([^`]+)`")


def modules() -> list[str]:
    """Every module that should be tested, as a path relative to the repository."""
    skip = {"__init__.py", "__main__.py"}
    paths = sorted((REPO / "nexus_cli").rglob("*.py"))
    return [p.relative_to(REPO).as_posix() for p in paths if p.name not in skip]


def own_test_file(module: str) -> str:
    """``nexus_cli/a/b.py`` -> ``tests/a/test_b.py``."""
    path = Path(module).relative_to("nexus_cli")
    return (Path("tests") / path.parent / f"test_{path.name}").as_posix()


def table_rows(text: str) -> dict[str, list[str]]:
    """The table under HEADING: module -> the test files in its second column."""
    lines = text.splitlines()
    assert HEADING in lines, f"CONTRIBUTING.md has no {HEADING!r} section"
    rows: dict[str, list[str]] = {}
    in_table = False
    for line in lines[lines.index(HEADING) + 1 :]:
        if line.startswith("#"):
            break
        cells = [cell.strip() for cell in line.strip().strip("|").split("|")]
        if not in_table:
            in_table = tuple(cell.lower() for cell in cells) == HEADER
            continue
        if not line.startswith("|"):
            break
        if set(cells[0]) <= set("-: "):
            continue
        assert len(cells) == 3, f"a row of {HEADING!r} needs three cells: {line}"
        module = CODE.findall(cells[0])
        assert len(module) == 1, f"name one module, in backticks: {line}"
        assert module[0] not in rows, f"{module[0]} has two rows"
        rows[module[0]] = CODE.findall(cells[1])
    assert in_table, f"no table with the header {' | '.join(HEADER)} under {HEADING!r}"
    return rows


ROWS = table_rows((REPO / "CONTRIBUTING.md").read_text(encoding="utf-8"))


def test_every_module_has_a_test_file_or_a_row() -> None:
    untested = [m for m in modules() if not (REPO / own_test_file(m)).is_file() and m not in ROWS]
    assert untested == [], (
        "give these modules a test file of their own, or a row in CONTRIBUTING.md's "
        f"{HEADING!r} table naming the tests that cover them: {untested}"
    )


def test_every_row_names_test_files_that_exist() -> None:
    broken = {
        module: files
        for module, files in ROWS.items()
        if not files or any(not f.startswith("tests/") or not (REPO / f).is_file() for f in files)
    }
    assert broken == {}, f"rows naming no test file, or a test file that does not exist: {broken}"


def test_every_row_is_still_needed() -> None:
    gone = [m for m in ROWS if not (REPO / m).is_file()]
    assert gone == [], f"rows for modules that no longer exist (delete the rows): {gone}"
    mirrored = [m for m in ROWS if (REPO / own_test_file(m)).is_file()]
    assert mirrored == [], (
        f"these modules have their own test file now (delete the rows): {mirrored}"
    )


def test_table_parser_reads_rows_and_stops_at_the_next_heading() -> None:
    text = "\n".join(
        [
            HEADING,
            "",
            "Some words.",
            "",
            "| module | covered by | why there |",
            "| --- | --- | --- |",
            "| `nexus_cli/a.py` | `tests/test_b.py`, `tests/c/test_d.py` | a reason |",
            "",
            "| module | covered by | why there |",
            "## Next",
        ]
    )
    assert table_rows(text) == {"nexus_cli/a.py": ["tests/test_b.py", "tests/c/test_d.py"]}
