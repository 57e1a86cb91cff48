"""Cursor: an agent-requested .mdc rule and real .cursor/commands/ files."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import run_nexus
from tests.personas.conftest import tree, write_persona
from tests.personas.targets.conftest import assert_golden, check_keys, installed
from tests.personas.targets.conftest import frontmatter as yaml_frontmatter

# https://cursor.com/docs/context/rules#rule-anatomy (read 2026-12-06): description, globs,
# alwaysApply; "Agent Requested" = a description, no globs, alwaysApply false
RULE_REQUIRED = {"description": str, "alwaysApply": bool}
RULE_OPTIONAL = {"globs": str}


def frontmatter(text: str) -> tuple[dict[str, Any], str]:
    """Cursor's frontmatter is YAML except ``globs``: a bare comma-separated list (documented
    form; ``**/*.css`` is not valid YAML), read here as a plain string."""
    head, sep, rest = text.partition("\n---\n")
    assert sep, "frontmatter is not closed"
    lines = head.splitlines()
    globs = [line for line in lines if line.startswith("globs:")]
    assert len(globs) <= 1
    others = "\n".join(line for line in lines if not line.startswith("globs:"))
    meta, _ = yaml_frontmatter(others + "\n---\n")
    if globs:
        meta["globs"] = globs[0].removeprefix("globs:").strip()
    return meta, rest


@pytest.mark.parametrize("persona", ["data-scientist", "software-architect"])
def test_golden_files(project: Path, persona: str) -> None:
    assert_golden(f"cursor/{persona}", installed(project, persona, "--target", "cursor"))


def test_rule_is_agent_requested_with_a_precise_description(project: Path) -> None:
    before = tree(project)
    files = installed(project, "frontend", "--target", "cursor")
    meta, body = frontmatter(files[".cursor/rules/frontend.mdc"].decode())
    check_keys(meta, RULE_REQUIRED, RULE_OPTIONAL)
    assert meta["alwaysApply"] is False and "globs" not in meta  # Agent Requested
    assert meta["description"].startswith("Frontend Engineer persona: Web UI work")
    assert "Accessibility by default" in body
    assert "`/frontend-component`" in body
    command = files[".cursor/commands/frontend-component.md"].decode()
    assert command.startswith("# Build a UI component")
    assert "$ARGUMENTS" not in command and "---" not in command.splitlines()[0]
    assert run_nexus("persona", "remove", "frontend").exit_code == 0
    assert tree(project) == before


def test_always_and_globs_come_from_the_persona(project: Path) -> None:
    write_persona(
        project / ".nexus" / "personas" / "styler",
        'name: styler\ndescription: CSS.\nalways: true\nglobs: ["**/*.css", "src/*.tsx"]\n',
    )
    files = installed(project, "styler", "--target", "cursor")
    meta, _ = frontmatter(files[".cursor/rules/styler.mdc"].decode())
    assert meta["alwaysApply"] is True
    assert meta["globs"] == "**/*.css,src/*.tsx"


@pytest.mark.parametrize("glob", ["a,b", 'x"', "/abs/*", "a\nalwaysApply: true"])
def test_a_glob_that_could_break_the_frontmatter_is_refused(project: Path, glob: str) -> None:
    write_persona(project / ".nexus" / "personas" / "styler", "name: styler\nglobs: [x]\n")
    import json

    (project / ".nexus/personas/styler/persona.yaml").write_text(
        f"name: styler\nglobs: [{json.dumps(glob)}]\n"
    )
    result = run_nexus("persona", "add", "styler", "--target", "cursor")
    assert result.exit_code == 1
    assert "key 'globs'" in result.stderr
