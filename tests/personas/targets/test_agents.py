"""AGENTS.md and Codex: the instructions once; the commands as Agent Skills in .agents/skills."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import run_nexus
from tests.personas.conftest import write_persona
from tests.personas.targets.conftest import assert_golden, check_keys, frontmatter, installed

# https://agentskills.io/specification (read 2026-12-06): name (1-64, a-z 0-9 -, the folder's
# name) and description (1-1024) required; Claude Code's argument-hint and allowed-tools optional
SKILL_REQUIRED = {"name": str, "description": str}
SKILL_OPTIONAL = {"argument-hint": str, "allowed-tools": str, "license": str, "metadata": dict}
SKILL_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]{0,62}[a-z0-9])?")


@pytest.mark.parametrize("persona", ["data-scientist", "software-architect"])
def test_golden_files(project: Path, persona: str) -> None:
    assert_golden(f"agents/{persona}", installed(project, persona, "--target", "agents"))


def test_project_agents_md_names_no_command_and_skills_go_to_agents_skills(project: Path) -> None:
    files = installed(project, "developer", "--target", "agents")
    text = files["AGENTS.md"].decode()
    assert "# Persona: Software Developer" in text
    assert "/fix-bug" not in text and "## Commands" not in text
    skills = sorted(r for r in files if r != "AGENTS.md")
    assert skills and all(r.startswith(".agents/skills/developer-") for r in skills)
    for rel in skills:
        meta, body = frontmatter(files[rel].decode())
        check_keys(meta, SKILL_REQUIRED, SKILL_OPTIONAL)
        assert meta["name"] == Path(rel).parent.name  # the folder's name, as the standard asks
        assert SKILL_NAME.fullmatch(meta["name"]) and "--" not in meta["name"]
        assert 1 <= len(meta["description"]) <= 1024
        assert "$ARGUMENTS" in body


def test_global_writes_user_skills_not_codex_prompts(project: Path, isolated_home: Path) -> None:
    assert not (isolated_home / ".codex").exists()
    result = run_nexus("persona", "add", "product-manager", "--global", "--target", "agents")
    assert result.exit_code == 0, result.stderr
    assert not (isolated_home / ".codex" / "prompts").exists()
    skills = sorted(p.name for p in (isolated_home / ".agents" / "skills").iterdir())
    assert skills == [
        "product-manager-acceptance-criteria",
        "product-manager-generate-prd",
        "product-manager-release-notes",
        "product-manager-user-stories",
    ]
    for name in skills:
        text = (isolated_home / ".agents" / "skills" / name / "SKILL.md").read_text()
        meta, _ = frontmatter(text)
        assert meta["name"] == name
    assert not (isolated_home / ".claude").exists()
    assert run_nexus("persona", "remove", "product-manager", "--global").exit_code == 0
    assert not (isolated_home / ".codex").exists() and not (isolated_home / ".agents").exists()


def test_a_skill_name_past_the_standards_limit_is_refused(project: Path) -> None:
    long = "p" * 40
    write_persona(
        project / ".nexus" / "personas" / long,
        f"name: {long}\ncommands: [commands/{'c' * 30}.md]\n",
        {f"commands/{'c' * 30}.md": "---\ndescription: x\n---\nGo\n"},
    )
    result = run_nexus("persona", "add", long, "--target", "agents")
    assert result.exit_code != 0 and "at most 64" in result.stderr
    assert not (project / ".agents").exists()
