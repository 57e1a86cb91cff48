"""Copilot: .github/instructions/*.instructions.md (applyTo narrowed) and .github/prompts/*.prompt.md."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_nexus
from tests.personas.conftest import tree, write_persona
from tests.personas.targets.conftest import assert_golden, check_keys, frontmatter, installed

# https://code.visualstudio.com/docs/copilot/customization/custom-instructions (read 2026-12-06):
# applyTo makes a file load for matching files; without it the agent loads it by its description
INSTRUCTIONS_REQUIRED = {"description": str}
INSTRUCTIONS_OPTIONAL = {"applyTo": str, "name": str}
# https://code.visualstudio.com/docs/copilot/customization/prompt-files#prompt-file-format
PROMPT_REQUIRED = {"description": str, "agent": str}
PROMPT_OPTIONAL = {"argument-hint": str, "name": str, "model": str, "tools": list}


@pytest.mark.parametrize("persona", ["data-scientist", "software-architect"])
def test_golden_files(project: Path, persona: str) -> None:
    assert_golden(f"copilot/{persona}", installed(project, persona, "--target", "copilot"))


def test_instructions_and_prompts_follow_the_documented_frontmatter(project: Path) -> None:
    path = project / ".github" / "copilot-instructions.md"
    path.parent.mkdir()
    path.write_bytes(b"Use pnpm, not npm.\n")
    before = tree(project)
    files = installed(project, "testing")  # copilot is a default target here
    assert path.read_bytes() == b"Use pnpm, not npm.\n"  # no block any more
    meta, body = frontmatter(files[".github/instructions/testing.instructions.md"].decode())
    check_keys(meta, INSTRUCTIONS_REQUIRED, INSTRUCTIONS_OPTIONAL)
    assert "applyTo" not in meta  # on demand, not in every request
    assert "Flaky tests are bugs" in body
    for command, agent in (("flaky-test", "agent"), ("test-plan", "agent")):
        meta, body = frontmatter(files[f".github/prompts/testing-{command}.prompt.md"].decode())
        check_keys(meta, PROMPT_REQUIRED, PROMPT_OPTIONAL)
        assert meta["agent"] == agent
        assert "${input:args}" in body and "$ARGUMENTS" not in body
    assert run_nexus("persona", "remove", "testing").exit_code == 0
    assert tree(project) == before


def test_read_only_commands_run_in_ask_mode_and_globs_become_apply_to(project: Path) -> None:
    write_persona(
        project / ".nexus" / "personas" / "docs",
        'name: docs\nglobs: ["docs/**/*.md"]\ncommands: [commands/check.md]\n',
        {"commands/check.md": "---\ndescription: Check\nallowed-tools: Read, Grep\n---\nGo\n"},
    )
    files = installed(project, "docs", "--target", "copilot")
    meta, _ = frontmatter(files[".github/instructions/docs.instructions.md"].decode())
    assert meta["applyTo"] == "docs/**/*.md"
    prompt, _ = frontmatter(files[".github/prompts/docs-check.prompt.md"].decode())
    assert prompt["agent"] == "ask"


def test_always_applies_to_every_file(project: Path) -> None:
    write_persona(
        project / ".nexus" / "personas" / "everywhere", "name: everywhere\nalways: true\n"
    )
    files = installed(project, "everywhere", "--target", "copilot")
    meta, _ = frontmatter(files[".github/instructions/everywhere.instructions.md"].decode())
    assert meta["applyTo"] == "**"
