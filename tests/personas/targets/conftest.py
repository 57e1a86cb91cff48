"""Helpers for target tests: golden files and frontmatter parsing."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import run_nexus
from tests.personas.conftest import tree

GOLDEN = Path(__file__).parent / "golden"
UPDATE = os.environ.get("NEXUS_UPDATE_GOLDEN") == "1"


def installed(project: Path, *args: str) -> dict[str, bytes]:
    """The files ``persona add *args`` writes (content only), relative to the project."""
    before = tree(project)
    result = run_nexus("persona", "add", *args)
    assert result.exit_code == 0, result.stderr
    after = tree(project)
    return {
        rel: state[0]
        for rel, state in after.items()
        if state is not None and before.get(rel) != state
    }


def assert_golden(name: str, files: dict[str, bytes]) -> None:
    """``files`` equal, byte for byte, the golden folder ``golden/<name>/``.

    ``NEXUS_UPDATE_GOLDEN=1`` rewrites the folder instead (review the diff before committing).
    """
    folder = GOLDEN / name
    if UPDATE:
        shutil.rmtree(folder, ignore_errors=True)
        for rel, data in files.items():
            path = folder / rel
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_bytes(data)
    expected = {
        p.relative_to(folder).as_posix(): p.read_bytes() for p in folder.rglob("*") if p.is_file()
    }
    assert sorted(files) == sorted(expected)
    for rel, data in files.items():
        assert data.decode() == expected[rel].decode(), rel


def frontmatter(text: str) -> tuple[dict[str, Any], str]:
    """Split ``---`` YAML frontmatter from the body; the frontmatter must be a mapping."""
    assert text.startswith("---\n"), text[:40]
    front, sep, body = text[4:].partition("\n---\n")
    assert sep, "frontmatter is not closed"
    meta = yaml.safe_load(front)
    assert isinstance(meta, dict)
    return meta, body


def check_keys(meta: dict[str, Any], required: dict[str, type], optional: dict[str, type]) -> None:
    """Required keys present with their types; nothing outside what the assistant documents."""
    for key, kind in required.items():
        assert key in meta, f"missing {key}"
        assert isinstance(meta[key], kind), (key, meta[key])
    for key, value in meta.items():
        assert key in required or key in optional, f"undocumented key {key}"
        if key in optional and value is not None:
            assert isinstance(value, optional[key]), (key, value)
