"""Helpers for persona tests: tree snapshots and small personas written on the fly."""

from __future__ import annotations

import os
import stat
import textwrap
from pathlib import Path

import pytest

from nexus_cli.personas.installer import Scope, project_scope

IGNORED = (".git", ".nexus")


def tree(root: Path) -> dict[str, tuple[bytes, int] | None]:
    """Every file (content, mode) and folder (None) under root, except .git and .nexus."""
    found: dict[str, tuple[bytes, int] | None] = {}
    for dirpath, dirnames, filenames in os.walk(root):
        rel_dir = os.path.relpath(dirpath, root)
        if rel_dir.split(os.sep)[0] in IGNORED:
            continue
        for d in dirnames:
            rel = os.path.normpath(os.path.join(rel_dir, d))
            if rel.split(os.sep)[0] not in IGNORED:
                found[rel + "/"] = None
        for f in filenames:
            path = Path(dirpath) / f
            rel = os.path.normpath(os.path.join(rel_dir, f))
            found[rel] = (path.read_bytes(), stat.S_IMODE(path.lstat().st_mode))
    return found


def write_persona(folder: Path, yaml_text: str, files: dict[str, str] | None = None) -> Path:
    """Write persona.yaml (dedented) and extra files into folder."""
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "persona.yaml").write_text(textwrap.dedent(yaml_text))
    for rel, text in (files or {}).items():
        path = folder / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(text)
    return folder


@pytest.fixture
def scope(project: Path) -> Scope:
    return project_scope(project)
