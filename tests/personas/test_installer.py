"""Plan-then-apply on real files: the Done-when scenario, idempotence, conflicts, ownership."""

from __future__ import annotations

import json
import os
from pathlib import Path

import pytest

from nexus_cli.errors import ConflictError, StateError
from nexus_cli.personas import installer
from nexus_cli.personas.catalog import load
from nexus_cli.personas.installer import Scope
from tests.conftest import run_nexus
from tests.personas.conftest import tree, write_persona

CLAUDE = b"# Team rules\n\nUse tabs.\n"
SETTINGS = (
    b'{\n    "model": "opus",\n    "permissions": {\n        "allow": ["Bash(make:*)"]\n    }\n}'
)
AGENTS = b"# Agents\n\nno trailing newline"


def _user_files(root: Path) -> None:
    (root / "CLAUDE.md").write_bytes(CLAUDE)
    (root / ".claude").mkdir()
    (root / ".claude" / "settings.json").write_bytes(SETTINGS)
    (root / "AGENTS.md").write_bytes(AGENTS)


def _add(scope: Scope, name: str, level: str | None = None) -> installer.Plan:
    plan = installer.plan_add(scope, load(name, scope.search()), level)
    installer.apply(plan)
    return plan


def test_done_when_scenario_restores_three_files_byte_for_byte(project: Path) -> None:
    _user_files(project)
    before = tree(project)
    for args in (
        ["add", "data-scientist"],
        ["add", "developer", "--level", "l2"],
        ["remove", "data-scientist"],
        ["remove", "developer"],
    ):
        result = run_nexus("persona", *args)
        assert result.exit_code == 0, result.stderr
    assert (project / "CLAUDE.md").read_bytes() == CLAUDE
    assert (project / ".claude" / "settings.json").read_bytes() == SETTINGS
    assert (project / "AGENTS.md").read_bytes() == AGENTS
    assert tree(project) == before
    assert not (project / ".nexus" / "personas.lock").exists()


def test_while_installed_the_user_content_is_kept_and_entries_are_merged(scope: Scope) -> None:
    _user_files(scope.root)
    _add(scope, "data-scientist")
    _add(scope, "developer", "l2")
    claude = (scope.root / "CLAUDE.md").read_text()
    assert claude.startswith(CLAUDE.decode())
    assert claude.count("@AGENTS.md") == 1  # one shared import for both personas
    agents = (scope.root / "AGENTS.md").read_text()
    assert "Persona: Data Scientist" in agents and "Persona: Software Developer" in agents
    settings = json.loads((scope.root / ".claude" / "settings.json").read_text())
    assert list(settings) == ["model", "permissions", "env"]  # user's order kept
    assert settings["permissions"]["allow"][0] == "Bash(make:*)"
    assert "Bash(kill -9:*)" in settings["permissions"]["deny"]  # `block` maps to deny
    assert settings["env"] == {"PYTHONUNBUFFERED": "1"}
    assert '\n    "model"' in (scope.root / ".claude" / "settings.json").read_text()  # indent kept
    assert "L2" in (scope.root / ".claude" / "agents" / "developer.md").read_text()
    assert (scope.root / ".claude" / "skills" / "developer-profile" / "SKILL.md").is_file()
    agents = (scope.root / "AGENTS.md").read_text()
    assert agents.startswith(AGENTS.decode() + "\n<!-- >>> nexus:persona:data-scientist")


def test_add_twice_is_byte_identical(scope: Scope) -> None:
    _user_files(scope.root)
    _add(scope, "data-scientist")
    lock = scope.lock_path.read_bytes()
    first = tree(scope.root)
    again = installer.plan_add(scope, load("data-scientist", scope.search()))
    assert again.changes == [] and again.conflicts == []
    installer.apply(again)
    assert tree(scope.root) == first
    assert scope.lock_path.read_bytes() == lock


def test_scripts_keep_their_executable_bit(scope: Scope) -> None:
    _add(scope, "data-scientist")
    for name in ("gpu_monitor.sh", "analyze_process_impact.sh"):
        path = scope.root / "scripts" / name
        assert os.access(path, os.X_OK), name
    assert not os.access(scope.root / ".claude" / "personas" / "data-scientist.md", os.X_OK)


def test_shared_permission_stays_until_no_persona_needs_it(scope: Scope) -> None:
    shared = "Bash(python -m pytest:*)"  # in both data-scientist and developer
    _add(scope, "data-scientist")
    _add(scope, "developer")
    installer.apply(installer.plan_remove(scope, ["data-scientist"]))
    settings = json.loads((scope.root / ".claude" / "settings.json").read_text())
    assert shared in settings["permissions"]["allow"]
    assert "Bash(nvidia-smi:*)" not in settings["permissions"]["allow"]
    installer.apply(installer.plan_remove(scope, ["developer"]))
    assert not (scope.root / ".claude").exists()


def test_users_own_rule_is_never_removed(scope: Scope) -> None:
    (scope.root / ".claude").mkdir()
    path = scope.root / ".claude" / "settings.json"
    path.write_text('{"permissions": {"allow": ["Bash(nvidia-smi:*)"]}}\n')
    _add(scope, "data-scientist")
    installer.apply(installer.plan_remove(scope, ["data-scientist"]))
    assert path.read_text() == '{"permissions": {"allow": ["Bash(nvidia-smi:*)"]}}\n'


def test_existing_user_file_is_a_conflict_and_nothing_is_written(scope: Scope) -> None:
    _user_files(scope.root)
    (scope.root / "scripts").mkdir()
    (scope.root / "scripts" / "gpu_monitor.sh").write_text("my own script\n")
    (scope.root / ".claude" / "skills" / "data-scientist-gpu-optimize").mkdir(parents=True)
    (scope.root / ".claude" / "skills" / "data-scientist-gpu-optimize" / "SKILL.md").write_text("x")
    before = tree(scope.root)
    plan = installer.plan_add(scope, load("data-scientist", scope.search()))
    assert len(plan.conflicts) == 2
    with pytest.raises(ConflictError) as info:
        installer.apply(plan)
    assert "scripts/gpu_monitor.sh" in info.value.message
    assert "data-scientist-gpu-optimize/SKILL.md" in info.value.message
    assert tree(scope.root) == before
    assert not scope.lock_path.exists()


def test_cli_reports_every_conflict_and_exits_1(project: Path) -> None:
    (project / "scripts").mkdir()
    (project / "scripts" / "gpu_monitor.sh").write_text("mine\n")
    (project / "scripts" / "analyze_process_impact.sh").write_text("mine too\n")
    result = run_nexus("persona", "add", "data-scientist")
    assert result.exit_code == 1
    assert "2 conflicts, nothing was changed" in result.stderr
    assert "scripts/analyze_process_impact.sh" in result.stderr
    assert not (project / "CLAUDE.md").exists()


def test_edited_file_is_kept_by_remove_and_reported(scope: Scope) -> None:
    _add(scope, "data-scientist")
    edited = scope.root / "scripts" / "gpu_monitor.sh"
    edited.write_text("#!/bin/sh\necho my version\n")
    plan = installer.plan_remove(scope, ["data-scientist"])
    installer.apply(plan)
    assert edited.read_text() == "#!/bin/sh\necho my version\n"
    assert any("scripts/gpu_monitor.sh" in note for note in plan.notes)
    assert not (scope.root / "scripts" / "analyze_process_impact.sh").exists()
    assert not scope.lock_path.exists()


def test_edited_file_blocks_a_reinstall_instead_of_being_overwritten(scope: Scope) -> None:
    _add(scope, "data-scientist")
    (scope.root / "scripts" / "gpu_monitor.sh").write_text("changed\n")
    plan = installer.plan_add(scope, load("data-scientist", scope.search()), None)
    assert plan.conflicts == [
        "scripts/gpu_monitor.sh: edited since it was installed; not overwritten"
    ]


def test_text_the_user_adds_around_blocks_survives_remove(scope: Scope) -> None:
    _user_files(scope.root)
    _add(scope, "data-scientist")
    claude = scope.root / "CLAUDE.md"
    claude.write_text("Top line\n" + claude.read_text() + "Bottom line\n")
    installer.apply(installer.plan_remove(scope, ["data-scientist"]))
    assert claude.read_text() == "Top line\n" + CLAUDE.decode() + "Bottom line\n"


def test_user_edit_of_settings_while_installed_is_kept(scope: Scope) -> None:
    _user_files(scope.root)
    _add(scope, "data-scientist")
    path = scope.root / ".claude" / "settings.json"
    data = json.loads(path.read_text())
    data["theme"] = "dark"
    path.write_text(json.dumps(data, indent=4) + "\n")
    installer.apply(installer.plan_remove(scope, ["data-scientist"]))
    assert json.loads(path.read_text()) == {**json.loads(SETTINGS), "theme": "dark"}


def test_env_value_conflict_is_refused(scope: Scope) -> None:
    (scope.root / ".claude").mkdir()
    (scope.root / ".claude" / "settings.json").write_text('{"env": {"PYTHONUNBUFFERED": "0"}}')
    plan = installer.plan_add(scope, load("data-scientist", scope.search()))
    assert plan.conflicts == [".claude/settings.json: env PYTHONUNBUFFERED is already set to '0'"]


def test_level_change_replaces_level_files(scope: Scope) -> None:
    _add(scope, "developer", "expert")
    assert (scope.root / ".claude" / "skills" / "developer-profile" / "SKILL.md").is_file()
    _add(scope, "developer", "beginner")
    assert not (scope.root / ".claude" / "skills" / "developer-profile").exists()
    assert "beginner" in (scope.root / ".claude" / "agents" / "developer.md").read_text()
    assert installer.active(scope)["developer"]["level"] == "beginner"


def test_switch_removes_the_others_in_one_step(scope: Scope) -> None:
    _user_files(scope.root)
    before = tree(scope.root)
    _add(scope, "data-scientist")
    _add(scope, "developer")
    plan = installer.plan_switch(scope, load("designer", scope.search()))
    installer.apply(plan)
    assert sorted(plan.removed) == ["data-scientist", "developer"]
    assert list(installer.active(scope)) == ["designer"]
    assert not (scope.root / "scripts").exists()
    installer.apply(installer.plan_remove(scope, ["designer"]))
    assert tree(scope.root) == before


def test_nexus_created_files_and_folders_disappear_on_remove(scope: Scope) -> None:
    before = tree(scope.root)
    _add(scope, "software-architect")
    assert (scope.root / "CLAUDE.md").exists() and (scope.root / "AGENTS.md").exists()
    installer.apply(installer.plan_remove(scope, ["software-architect"]))
    assert tree(scope.root) == before


def test_folder_the_user_filled_is_kept(scope: Scope) -> None:
    _add(scope, "data-scientist")
    (scope.root / "scripts" / "mine.sh").write_text("echo\n")
    installer.apply(installer.plan_remove(scope, ["data-scientist"]))
    assert sorted(os.listdir(scope.root / "scripts")) == ["mine.sh"]


def test_custom_persona_extends_builtin(scope: Scope) -> None:
    write_persona(
        scope.root / ".nexus" / "personas" / "developer",
        """\
        name: developer
        display_name: Our Developer
        extends: developer
        instructions: extra.md
        permissions:
          allow: ["Bash(make test:*)"]
        """,
        {"extra.md": "Run `make test` before committing.\n"},
    )
    persona = load("developer", scope.search())
    assert persona.origin == "project"
    assert "l2" in persona.levels  # inherited
    installer.apply(installer.plan_add(scope, persona, "l1"))
    text = (scope.root / ".claude" / "agents" / "developer.md").read_text()
    assert "Tests first" in text and "make test" in text
    assert "Our Developer" in (scope.root / "AGENTS.md").read_text()
    settings = json.loads((scope.root / ".claude" / "settings.json").read_text())
    assert {"Bash(make test:*)", "Bash(git diff:*)"} <= set(settings["permissions"]["allow"])


def test_corrupt_lock_is_a_clear_error_and_nothing_is_written(project: Path) -> None:
    (project / ".nexus" / "personas.lock").write_text("{ broken")
    before = tree(project)
    result = run_nexus("persona", "add", "designer")
    assert result.exit_code == 1
    assert "personas.lock: the persona lock is not valid JSON" in result.stderr
    assert "hint: restore it from git" in result.stderr
    assert tree(project) == before


def test_files_the_user_deleted_are_not_recreated_by_remove(scope: Scope) -> None:
    _user_files(scope.root)
    _add(scope, "data-scientist")
    (scope.root / "CLAUDE.md").unlink()
    (scope.root / ".claude" / "settings.json").unlink()
    (scope.root / "scripts" / "gpu_monitor.sh").unlink()
    installer.apply(installer.plan_remove(scope, ["data-scientist"]))
    assert not (scope.root / "CLAUDE.md").exists()
    assert not (scope.root / ".claude" / "settings.json").exists()
    assert (scope.root / "AGENTS.md").read_bytes() == AGENTS
    assert not scope.lock_path.exists()


def test_a_shebang_script_is_executable_even_if_shipped_without_the_bit(scope: Scope) -> None:
    write_persona(
        scope.root / ".nexus" / "personas" / "tool",
        "name: tool\nfiles:\n  - {source: run.sh, target: bin/run.sh}\n"
        "  - {source: notes.txt, target: bin/notes.txt}\n",
        {"run.sh": "#!/bin/sh\necho hi\n", "notes.txt": "plain\n"},
    )
    installer.apply(installer.plan_add(scope, load("tool", scope.search())))
    assert os.access(scope.root / "bin" / "run.sh", os.X_OK)
    assert not os.access(scope.root / "bin" / "notes.txt", os.X_OK)


def test_an_apply_that_stops_half_way_can_still_be_undone(scope: Scope) -> None:
    _user_files(scope.root)
    before = tree(scope.root)
    plan = installer.plan_add(scope, load("data-scientist", scope.search()))
    (scope.root / "scripts").write_text("appeared after planning\n")  # a real race
    with pytest.raises(StateError, match="stopped while writing scripts/"):
        installer.apply(plan)
    assert "data-scientist" in (scope.root / "AGENTS.md").read_text()  # applied partly
    (scope.root / "scripts").unlink()
    installer.apply(installer.plan_remove(scope, ["data-scientist"]))
    assert tree(scope.root) == before
    assert not scope.lock_path.exists()


def test_an_interrupted_switch_keeps_both_personas_recorded(scope: Scope) -> None:
    _user_files(scope.root)
    before = tree(scope.root)
    _add(scope, "developer")
    plan = installer.plan_switch(scope, load("data-scientist", scope.search()))
    (scope.root / "scripts").write_text("in the way\n")
    with pytest.raises(StateError):
        installer.apply(plan)
    assert set(installer.active(scope)) == {"developer", "data-scientist"}
    (scope.root / "scripts").unlink()
    installer.apply(installer.plan_remove(scope, ["developer", "data-scientist"]))
    assert tree(scope.root) == before
