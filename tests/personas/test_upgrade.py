"""`nexus persona upgrade`: an install with an older layout (1: commands and always-on rules;
2: ~/.codex/prompts) moves to the current one in place, and a file the user edited is never
overwritten or deleted."""

from __future__ import annotations

import copy
import json
from pathlib import Path

from nexus_cli.personas import installer
from nexus_cli.personas import lock as lockfile
from nexus_cli.personas.catalog import load
from nexus_cli.personas.installer import Scope
from nexus_cli.personas.plan import Desired, Findings, reconcile
from nexus_cli.personas.settings_json import SettingsWant
from nexus_cli.personas.snapshot import FileState
from nexus_cli.personas.targets import LAYOUT
from tests.conftest import run_nexus
from tests.personas.conftest import tree


def _install_layout_1(scope: Scope, name: str, targets: list[str]) -> None:
    """What Nexus before layout 2 wrote (commands in .claude/commands/, always-on rules,
    a block in copilot-instructions.md), recorded in a lock without a layout."""
    persona = load(name, scope.search())
    text = f"# Persona: {persona.display_name}\n\n\n{persona.instructions.strip()}\n"
    tag = f"Persona {persona.display_name}: added by `nexus persona add {name}`."
    want = Desired()
    if "claude" in targets:
        want.files[f".claude/personas/{name}.md"] = FileState(text.encode(), 0o644)
        for path in persona.commands:
            want.files[f".claude/commands/{name}/{path.name}"] = FileState(path.read_bytes(), 0o644)
        want.blocks["CLAUDE.md"] = f"<!-- {tag} -->\n@.claude/personas/{name}.md"
        perms = persona.permissions
        rules = {k: v for k, v in (("allow", perms.allow), ("deny", perms.deny)) if v}
        want.settings[".claude/settings.json"] = SettingsWant(rules, dict(persona.environment))
    if "agents" in targets:
        want.blocks["AGENTS.md"] = f"<!-- {tag} -->\n{text}"
    if "cursor" in targets:
        front = f'---\ndescription: "{persona.description}"\nglobs:\nalwaysApply: true\n---\n'
        want.files[f".cursor/rules/{name}.mdc"] = FileState((front + text).encode(), 0o644)
    if "copilot" in targets:
        want.blocks[".github/copilot-instructions.md"] = f"<!-- {tag} -->\n{text}"
    for item in persona.files:
        want.files[item.target] = FileState(item.source.read_bytes(), 0o644)
    before = lockfile.read(scope.lock_path)
    after = copy.deepcopy(before)
    snap = scope.snapshot()
    found = Findings()
    reconcile(snap, after, name, want, found)
    assert not found.conflicts
    after["personas"][name] = {"level": None, "targets": targets, "origin": "builtin"}
    installer.apply(installer.Plan(scope, before, after, snap.changes(), found))


def test_upgrade_moves_to_the_new_layout_and_keeps_user_edits(project: Path) -> None:
    scope = installer.project_scope(project)
    before = tree(project)
    _install_layout_1(scope, "software-architect", ["claude", "agents", "cursor", "copilot"])
    assert (project / ".claude/commands/software-architect/write-adr.md").is_file()
    edited_command = project / ".claude/commands/software-architect/performance-audit.md"
    edited_command.write_text("my own audit steps\n")
    edited_rule = project / ".cursor/rules/software-architect.mdc"
    edited_rule.write_text("my own rule\n")

    dry = run_nexus("persona", "upgrade", "--dry-run")
    assert dry.exit_code == 0, dry.stderr
    assert "would create .claude/skills/software-architect-write-adr/SKILL.md" in dry.stdout
    assert (project / ".claude/commands/software-architect/write-adr.md").is_file()

    result = run_nexus("persona", "upgrade")
    assert result.exit_code == 0, result.stderr
    assert "would delete .claude/commands/software-architect/write-adr.md" in result.stdout
    assert "kept .claude/commands/software-architect/performance-audit.md" in result.stderr
    assert "kept .cursor/rules/software-architect.mdc" in result.stderr
    assert "upgraded 1 persona: software-architect" in result.stderr
    assert "moved persona software-architect's block out of .github/copilot-instructions.md" in (
        result.stderr
    )
    assert edited_command.read_text() == "my own audit steps\n"  # never overwritten
    assert edited_rule.read_text() == "my own rule\n"
    assert not (project / ".claude/commands/software-architect/write-adr.md").exists()
    assert (project / ".claude/agents/software-architect.md").is_file()
    assert (project / ".cursor/commands/software-architect-write-adr.md").is_file()
    assert (project / ".github/prompts/software-architect-write-adr.prompt.md").is_file()
    assert not (project / ".github/copilot-instructions.md").exists()  # the block is gone
    assert (project / "CLAUDE.md").read_text().count("@AGENTS.md") == 1
    lock = json.loads(scope.lock_path.read_text())
    assert lock["personas"]["software-architect"]["layout"] == LAYOUT

    again = run_nexus("persona", "upgrade")
    assert again.exit_code == 0 and "nothing to change" in again.stderr

    result = run_nexus("persona", "remove", "software-architect")
    assert result.exit_code == 0, result.stderr
    assert "kept .cursor/rules/software-architect.mdc" in result.stderr
    leftover = {rel for rel in tree(project) if rel not in before}
    assert leftover == {  # only the two edited files, and the folders that hold them
        ".claude/",
        ".claude/commands/",
        ".claude/commands/software-architect/",
        ".claude/commands/software-architect/performance-audit.md",
        ".cursor/",
        ".cursor/rules/",
        ".cursor/rules/software-architect.mdc",
    }


def test_upgrade_of_an_unchanged_install_then_remove_is_byte_identical(project: Path) -> None:
    scope = installer.project_scope(project)
    (project / "CLAUDE.md").write_text("# Team\n")
    (project / "AGENTS.md").write_text("house rules\n")
    before = tree(project)
    _install_layout_1(scope, "data-scientist", ["claude", "agents"])
    assert run_nexus("persona", "upgrade").exit_code == 0
    assert not (project / ".claude/commands").exists()
    assert run_nexus("persona", "remove", "data-scientist").exit_code == 0
    assert tree(project) == before


def test_upgrade_skips_a_persona_that_no_longer_exists(project: Path) -> None:
    scope = installer.project_scope(project)
    _install_layout_1(scope, "testing", ["agents"])
    data = json.loads(scope.lock_path.read_text())
    data["personas"]["gone"] = data["personas"].pop("testing")
    scope.lock_path.write_text(json.dumps(data))
    result = run_nexus("persona", "upgrade")
    assert result.exit_code == 0
    assert "skipped gone: no persona named 'gone'" in result.stderr


def test_upgrade_moves_codex_prompts_to_agent_skills(project: Path, isolated_home: Path) -> None:
    """Layout 2 wrote the commands as ~/.codex/prompts/*.md, which Codex deprecated: layout 3
    writes ~/.agents/skills/ and takes the prompts out."""
    scope = installer.global_scope(project)
    persona = load("product-manager", scope.search())
    want = Desired()
    tag = f"Persona {persona.display_name}: added by `nexus persona add product-manager`."
    want.blocks[".codex/AGENTS.md"] = f"<!-- {tag} -->\n# Persona\n"
    for path in persona.commands:
        rel = f".codex/prompts/product-manager-{path.stem}.md"
        want.files[rel] = FileState(b'---\ndescription: "old"\n---\n\n' + path.read_bytes(), 0o644)
    before = lockfile.read(scope.lock_path)
    after = copy.deepcopy(before)
    snap = scope.snapshot()
    found = Findings()
    reconcile(snap, after, "product-manager", want, found)
    assert not found.conflicts
    after["personas"]["product-manager"] = {
        "level": None,
        "targets": ["agents"],
        "origin": "builtin",
        "layout": 2,
    }
    installer.apply(installer.Plan(scope, before, after, snap.changes(), found))
    assert (isolated_home / ".codex/prompts/product-manager-generate-prd.md").is_file()

    result = run_nexus("persona", "upgrade", "--global")
    assert result.exit_code == 0, result.stderr
    assert not (isolated_home / ".codex/prompts").exists()
    skill = isolated_home / ".agents/skills/product-manager-generate-prd/SKILL.md"
    assert skill.read_text().startswith("---\nname: product-manager-generate-prd\n")
    lock = json.loads(scope.lock_path.read_text())
    assert lock["personas"]["product-manager"]["layout"] == LAYOUT
