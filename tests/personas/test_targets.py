"""Each assistant target writes its own conventional files, and each comes back out cleanly."""

from __future__ import annotations

import json
from pathlib import Path

import yaml

from tests.conftest import run_nexus
from tests.personas.conftest import tree


def _add(*args: str) -> None:
    result = run_nexus("persona", "add", *args)
    assert result.exit_code == 0, result.stderr


def _remove(name: str) -> None:
    result = run_nexus("persona", "remove", name)
    assert result.exit_code == 0, result.stderr


def test_claude_target(project: Path) -> None:
    before = tree(project)
    _add("product-manager", "--target", "claude")
    claude = (project / "CLAUDE.md").read_text()
    assert "<!-- >>> nexus:persona:product-manager >>> -->" in claude
    assert "@.claude/personas/product-manager.md" in claude
    commands = sorted(p.name for p in (project / ".claude/commands/product-manager").iterdir())
    assert commands == [
        "acceptance-criteria.md",
        "generate-prd.md",
        "release-notes.md",
        "user-stories.md",
    ]
    settings = json.loads((project / ".claude/settings.json").read_text())
    assert set(settings) == {"permissions"}  # only permissions/env, never Nexus's own keys
    assert "Bash(git push:*)" in settings["permissions"]["deny"]
    assert not (project / "AGENTS.md").exists()
    _remove("product-manager")
    assert tree(project) == before


def test_agents_target_inlines_the_instructions(project: Path) -> None:
    before = tree(project)
    _add("backend", "--target", "agents")
    agents = (project / "AGENTS.md").read_text()
    assert "# Persona: Backend Engineer" in agents
    assert "expand → migrate → contract" in agents
    assert not (project / ".claude").exists()
    _remove("backend")
    assert tree(project) == before


def test_cursor_target_writes_an_mdc_rule_with_boolean_always_apply(project: Path) -> None:
    before = tree(project)
    _add("frontend", "--target", "cursor")
    text = (project / ".cursor/rules/frontend.mdc").read_text()
    _, front, body = text.split("---\n", 2)
    meta = yaml.safe_load(front)
    assert meta["alwaysApply"] is True
    assert meta["description"].startswith("Web UI work")
    assert "Accessibility by default" in body
    _remove("frontend")
    assert tree(project) == before


def test_copilot_target_keeps_existing_instructions(project: Path) -> None:
    path = project / ".github" / "copilot-instructions.md"
    path.parent.mkdir()
    path.write_bytes(b"Use pnpm, not npm.\n")
    _add("testing")  # the copilot file exists, so copilot is a default target
    text = path.read_text()
    assert text.startswith("Use pnpm, not npm.\n\n<!-- >>> nexus:persona:testing >>> -->")
    assert "Flaky tests are bugs" in text
    _remove("testing")
    assert path.read_bytes() == b"Use pnpm, not npm.\n"


def test_unknown_target_is_a_usage_error(project: Path) -> None:
    result = run_nexus("persona", "add", "testing", "--target", "emacs")
    assert result.exit_code == 2
    assert "unknown target 'emacs'" in result.stderr
