"""The telemetry groups depend on each other in one direction only:

journal (recording) <- db (telemetry.db, the fold) <- query (read-only figures) <- present.

The journal never imports the database: the recorder's own fold (and the salt's question whether
the database holds hashed names) runs ``nexus_cli.telemetry.db.child`` in a child process, so
recording never loads SQLite. Nothing below ``present`` or ``ship`` imports them.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

import nexus_cli.telemetry

ROOT = Path(nexus_cli.telemetry.__file__).parent
# group -> the groups its modules may import (besides itself)
ALLOWED = {
    "journal": set(),
    "db": {"journal"},
    "query": {"journal", "db"},
    "present": {"journal", "db", "query"},
    "ship": {"journal", "db", "query"},
    "agents": {"journal", "db"},  # agents' logs and exports read into records for db
}
# module -> the further groups it alone may import, and why
EXCEPTIONS = {
    "query/status.py": {"ship"},  # `telemetry status` shows where sync would send
}


def _imported_groups(path: Path) -> set[str]:
    groups = set()
    for node in ast.walk(ast.parse(path.read_text())):
        names = []
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module] + [f"{node.module}.{a.name}" for a in node.names]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        for name in names:
            parts = name.split(".")
            if parts[:2] == ["nexus_cli", "telemetry"] and len(parts) > 2:
                groups.add(parts[2])
    return groups


MODULES = sorted(p for p in ROOT.glob("*/*.py"))


@pytest.mark.parametrize("path", MODULES, ids=lambda p: str(p.relative_to(ROOT)))
def test_a_module_imports_only_the_groups_before_its_own(path: Path) -> None:
    group = path.parent.name
    name = str(path.relative_to(ROOT))
    allowed = {group} | ALLOWED[group] | EXCEPTIONS.get(name, set())
    assert _imported_groups(path) <= allowed, name


def test_every_module_sits_in_a_known_group() -> None:
    assert {p.parent.name for p in MODULES} == set(ALLOWED)
