"""AGENTS.md and Codex: the instructions once; prompts in ~/.codex/prompts with --global."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import run_nexus
from tests.personas.targets.conftest import assert_golden, check_keys, frontmatter, installed

# https://developers.openai.com/codex/custom-prompts: description, argument-hint
PROMPT_OPTIONAL = {"description": str, "argument-hint": str}


@pytest.mark.parametrize("persona", ["data-scientist", "software-architect"])
def test_golden_files(project: Path, persona: str) -> None:
    assert_golden(f"agents/{persona}", installed(project, persona, "--target", "agents"))


def test_project_agents_md_names_no_command(project: Path) -> None:
    files = installed(project, "developer", "--target", "agents")
    text = files["AGENTS.md"].decode()
    assert "# Persona: Software Developer" in text
    assert "/fix-bug" not in text and "## Commands" not in text
    assert sorted(files) == ["AGENTS.md"]


def test_global_writes_codex_prompts(project: Path, isolated_home: Path) -> None:
    assert not (isolated_home / ".codex").exists()
    result = run_nexus("persona", "add", "product-manager", "--global", "--target", "agents")
    assert result.exit_code == 0, result.stderr
    prompts = sorted(p.name for p in (isolated_home / ".codex" / "prompts").iterdir())
    assert prompts == [
        "product-manager-acceptance-criteria.md",
        "product-manager-generate-prd.md",
        "product-manager-release-notes.md",
        "product-manager-user-stories.md",
    ]
    for name in prompts:
        meta, body = frontmatter((isolated_home / ".codex" / "prompts" / name).read_text())
        check_keys(meta, {}, PROMPT_OPTIONAL)
        assert "$ARGUMENTS" in body  # Codex expands it
    assert not (isolated_home / ".claude").exists()
    assert run_nexus("persona", "remove", "product-manager", "--global").exit_code == 0
    assert not (isolated_home / ".codex").exists()
