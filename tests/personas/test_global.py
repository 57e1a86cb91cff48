"""--global installs into the home folder (a temporary one here), with its own lock."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nexus_cli.paths import user_config_dir
from tests.conftest import run_nexus
from tests.personas.conftest import tree


def test_global_add_and_remove(project: Path, isolated_home: Path) -> None:
    claude_md = isolated_home / ".claude" / "CLAUDE.md"
    claude_md.parent.mkdir()
    claude_md.write_bytes(b"my global rules\n")
    home_before = tree(isolated_home / ".claude")
    project_before = tree(project)

    result = run_nexus("persona", "add", "data-scientist", "--global")
    assert result.exit_code == 0, result.stderr
    assert "not installed with --global" in result.stderr  # scripts belong to projects
    text = claude_md.read_text()
    # with the agents target too, Claude imports ~/.codex/AGENTS.md: the text exists once
    assert text.startswith("my global rules\n\n<!-- >>> nexus:agents-import >>> -->")
    assert "@~/.codex/AGENTS.md" in text
    assert (isolated_home / ".claude/skills/data-scientist-gpu-optimize/SKILL.md").is_file()
    assert (isolated_home / ".claude/agents/data-scientist.md").is_file()
    assert "Priorities" in (isolated_home / ".codex/AGENTS.md").read_text()
    skill = isolated_home / ".agents/skills/data-scientist-gpu-optimize/SKILL.md"
    assert skill.read_text().startswith("---\nname: data-scientist-gpu-optimize\n")  # Codex's
    assert not (isolated_home / ".codex/prompts").exists()  # deprecated by Codex
    settings = json.loads((isolated_home / ".claude/settings.json").read_text())
    assert "Bash(nvidia-smi:*)" in settings["permissions"]["allow"]
    lock = user_config_dir() / "personas.lock"
    assert json.loads(lock.read_text())["personas"]["data-scientist"]["targets"] == [
        "claude",
        "agents",
    ]
    assert tree(project) == project_before  # the project is untouched
    assert not (project / "scripts").exists()

    current = run_nexus("persona", "current", "--global", "--json")
    assert [p["name"] for p in current.json()] == ["data-scientist"]
    assert run_nexus("persona", "current", "--json").json() == []

    result = run_nexus("persona", "remove", "data-scientist", "--global")
    assert result.exit_code == 0, result.stderr
    assert tree(isolated_home / ".claude") == home_before
    assert not (isolated_home / ".codex").exists()
    assert not lock.exists()


def test_global_works_outside_a_project(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    result = run_nexus("persona", "add", "designer", "--global", "--json")
    assert result.exit_code == 0, result.stderr
    assert result.json()["global"] is True


def test_global_refuses_cursor(project: Path) -> None:
    result = run_nexus("persona", "add", "designer", "--global", "--target", "cursor")
    assert result.exit_code == 2
    assert "no user-level file" in result.stderr


def test_global_adds_no_rule_or_pointer_for_project_files(
    project: Path, isolated_home: Path
) -> None:
    """The scripts are not installed with --global: no rule in ~/.claude may approve a file of
    that name in every repository, and the instructions say where the scripts exist."""
    result = run_nexus("persona", "add", "data-scientist", "--global")
    assert result.exit_code == 0, result.stderr
    settings_text = (isolated_home / ".claude/settings.json").read_text()
    assert "scripts/" not in settings_text
    allow = json.loads(settings_text)["permissions"]["allow"]
    assert "Bash(nvidia-smi:*)" in allow and "Bash(nexus gpu:*)" in allow
    skill = (isolated_home / ".claude/skills/data-scientist-process-impact/SKILL.md").read_text()
    front = skill.split("\n---\n", 1)[0]
    assert "allowed-tools:" in front and "Bash(nexus gpu:*)" in front
    assert "scripts/" not in front
    note = "available only when the persona is added to a project"
    for rel in (
        ".codex/AGENTS.md",
        ".claude/agents/data-scientist.md",
        ".claude/skills/data-scientist-process-impact/SKILL.md",
        ".agents/skills/data-scientist-process-impact/SKILL.md",
    ):
        text = (isolated_home / rel).read_text()
        assert "`scripts/analyze_process_impact.sh`" in text and note in text, rel
    # commands that do not name a script are left as they are
    gpu = (isolated_home / ".claude/skills/data-scientist-gpu-optimize/SKILL.md").read_text()
    assert note not in gpu
    assert not (isolated_home / "scripts").exists() and not (project / "scripts").exists()

    # in a project the scripts are installed, and the rules and instructions name them
    assert run_nexus("persona", "add", "data-scientist").exit_code == 0
    assert (project / "scripts/analyze_process_impact.sh").is_file()
    local = json.loads((project / ".claude/settings.json").read_text())
    assert "Bash(scripts/analyze_process_impact.sh:*)" in local["permissions"]["allow"]
    assert note not in (project / "AGENTS.md").read_text()


def test_global_legacy_commands_drop_rules_for_project_files(
    project: Path, isolated_home: Path
) -> None:
    result = run_nexus("persona", "add", "data-scientist", "--global", "--legacy-commands")
    assert result.exit_code == 0, result.stderr
    command = (isolated_home / ".claude/commands/data-scientist/process-impact.md").read_text()
    assert command.startswith("---\ndescription: ")
    assert "Bash(scripts/" not in command
    assert "available only when the persona is added to a project" in command
    untouched = isolated_home / ".claude/commands/data-scientist/gpu-optimize.md"
    source = Path(__file__).parents[2] / "personas/data-scientist/commands/gpu-optimize.md"
    assert untouched.read_bytes() == source.read_bytes()
