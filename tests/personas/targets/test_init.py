"""Choosing targets: defaults follow what the project uses; unknown names are refused."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from nexus_cli.personas.catalog import layers, load
from nexus_cli.personas.targets import GLOBAL_TARGETS, LAYOUT, TARGETS, capabilities, desired
from tests.conftest import run_nexus
from tests.personas.conftest import tree


def _add(*args: str) -> None:
    result = run_nexus("persona", "add", *args)
    assert result.exit_code == 0, result.stderr


def _remove(name: str) -> None:
    result = run_nexus("persona", "remove", name)
    assert result.exit_code == 0, result.stderr


def test_agents_target_inlines_the_instructions(project: Path) -> None:
    before = tree(project)
    _add("backend", "--target", "agents")
    agents = (project / "AGENTS.md").read_text()
    assert "# Persona: Backend Engineer" in agents
    assert "expand → migrate → contract" in agents
    assert not (project / ".claude").exists()
    _remove("backend")
    assert tree(project) == before


def test_unknown_target_is_a_usage_error(project: Path) -> None:
    result = run_nexus("persona", "add", "testing", "--target", "emacs")
    assert result.exit_code == 2
    assert "unknown target 'emacs'" in result.stderr


def test_default_targets_follow_what_the_project_uses(project: Path) -> None:
    (project / ".cursor").mkdir()
    (project / ".github" / "instructions").mkdir(parents=True)
    _add("backend")
    record = json.loads((project / ".nexus" / "personas.lock").read_text())["personas"]["backend"]
    assert record["targets"] == ["claude", "agents", "cursor", "copilot"]
    assert record["layout"] == LAYOUT


KINDS = {
    ".claude/skills/": "skills",
    ".claude/commands/": "commands",
    ".cursor/commands/": "commands",
    ".github/prompts/": "commands",
    ".agents/skills/": "skills",
    ".gemini/commands/": "commands",
    ".claude/agents/": "subagents",
    ".opencode/commands/": "commands",
    ".opencode/skills/": "skills",
    ".opencode/agents/": "subagents",
    ".config/opencode/commands/": "commands",
    ".config/opencode/skills/": "skills",
    ".config/opencode/agents/": "subagents",
}


@pytest.mark.parametrize(
    ("target", "is_global"),
    [(t, False) for t in TARGETS] + [(t, True) for t in GLOBAL_TARGETS],
)
def test_a_target_writes_only_what_it_declares_it_can_express(target: str, is_global: bool) -> None:
    persona = load("developer", layers(None, include_project=False))
    caps = capabilities(target, is_global)
    want, _ = desired(persona, persona.pick_level("l2"), [target], is_global)
    written = {
        kind for prefix, kind in KINDS.items() for rel in want.files if rel.startswith(prefix)
    }
    if want.settings:
        written.add("permissions")
    declared = {k for k in ("commands", "skills", "subagents", "permissions") if getattr(caps, k)}
    if target == "claude":
        declared.discard("commands")  # skills by default; commands only with --legacy-commands
    assert written == declared
    assert not caps.hooks
