"""Gemini CLI: a block in GEMINI.md and custom commands in .gemini/commands/*.toml."""

from __future__ import annotations

import tomllib
from pathlib import Path

import pytest

from tests.conftest import run_nexus
from tests.personas.conftest import tree
from tests.personas.targets.conftest import assert_golden, installed

# https://geminicli.com/docs/cli/custom-commands (read 2026-12-06): prompt required, description
COMMAND_REQUIRED = {"prompt": str}
COMMAND_OPTIONAL = {"description": str}


@pytest.mark.parametrize("persona", ["data-scientist", "software-architect"])
def test_golden_files(project: Path, persona: str) -> None:
    assert_golden(f"gemini/{persona}", installed(project, persona, "--target", "gemini"))


def test_commands_are_toml_with_gemini_arguments(project: Path) -> None:
    files = installed(project, "testing", "--target", "gemini")
    commands = sorted(r for r in files if r.startswith(".gemini/commands/"))
    assert commands == [
        ".gemini/commands/testing-flaky-test.toml",
        ".gemini/commands/testing-test-plan.toml",
    ]
    for rel in commands:
        data = tomllib.loads(files[rel].decode())
        assert set(data) <= set(COMMAND_REQUIRED) | set(COMMAND_OPTIONAL)
        assert isinstance(data["prompt"], str) and isinstance(data["description"], str)
        assert "$ARGUMENTS" not in data["prompt"] and "{{args}}" in data["prompt"]
    text = files["GEMINI.md"].decode()
    assert "# Persona: Test Engineer" in text and "`/testing-flaky-test`" in text


def test_remove_gives_back_the_users_gemini_md_byte_for_byte(project: Path) -> None:
    (project / "GEMINI.md").write_bytes(b"# Our project\r\n\r\nUse tabs.\r\n")
    before = tree(project)
    result = run_nexus("persona", "add", "backend")  # GEMINI.md: gemini is a default target
    assert result.exit_code == 0, result.stderr
    assert "# Persona: Backend Engineer" in (project / "GEMINI.md").read_text()
    assert (project / ".gemini" / "commands").is_dir()
    assert run_nexus("persona", "remove", "backend").exit_code == 0
    assert tree(project) == before


def test_global_writes_under_dot_gemini(project: Path, isolated_home: Path) -> None:
    result = run_nexus("persona", "add", "testing", "--global", "--target", "gemini")
    assert result.exit_code == 0, result.stderr
    assert "# Persona: Test Engineer" in (isolated_home / ".gemini" / "GEMINI.md").read_text()
    assert (isolated_home / ".gemini/commands/testing-test-plan.toml").is_file()
    assert run_nexus("persona", "remove", "testing", "--global").exit_code == 0
    assert not (isolated_home / ".gemini").exists()
