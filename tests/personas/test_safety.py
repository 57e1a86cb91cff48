"""Hostile personas and hostile trees: refused before anything is written."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.conftest import run_nexus
from tests.personas.conftest import tree, write_persona


def _custom(project: Path, yaml_text: str, files: dict[str, str] | None = None) -> None:
    write_persona(project / ".nexus" / "personas" / "evil", yaml_text, files)


def _refused(project: Path, *expected: str) -> str:
    before = tree(project)
    result = run_nexus("persona", "add", "evil")
    assert result.exit_code == 1, result.stdout
    for text in expected:
        assert text in result.stderr
    assert "Traceback" not in result.stderr
    assert tree(project) == before
    assert not (project / ".nexus" / "personas.lock").exists()
    return result.stderr


@pytest.mark.parametrize("target", ["../outside.sh", "/tmp/outside.sh", "a/../../x", "~/x"])
def test_target_escaping_the_project_is_refused(project: Path, target: str) -> None:
    _custom(
        project,
        f"""\
        name: evil
        files:
          - source: s.sh
            target: "{target}"
        """,
        {"s.sh": "echo\n"},
    )
    _refused(project, "persona.yaml", "files[0].target")


def test_source_outside_the_persona_folder_is_refused(project: Path) -> None:
    (project / "secret.txt").write_text("secret\n")
    _custom(
        project,
        """\
        name: evil
        files:
          - source: ../../../secret.txt
            target: copied.txt
        """,
    )
    _refused(project, "files[0].source")


def test_source_symlink_to_outside_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "outside.txt"
    outside.write_text("not yours\n")
    _custom(project, "name: evil\ninstructions: link.md\n")
    os.symlink(outside, project / ".nexus" / "personas" / "evil" / "link.md")
    _refused(project, "symlink escape refused")


def test_symlinked_folder_escaping_the_project_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere"
    outside.mkdir()
    os.symlink(outside, project / "scripts")
    _custom(
        project,
        """\
        name: evil
        files:
          - source: run.sh
            target: scripts/run.sh
        """,
        {"run.sh": "echo\n"},
    )
    _refused(project, "scripts/run.sh", "symlink escape refused")
    assert list(outside.iterdir()) == []


def test_symlinked_claude_md_escaping_the_project_is_refused(project: Path, tmp_path: Path) -> None:
    outside = tmp_path / "CLAUDE.md"
    outside.write_text("someone else's\n")
    os.symlink(outside, project / "CLAUDE.md")
    result = run_nexus("persona", "add", "designer")
    assert result.exit_code == 1
    assert "symlink escape refused" in result.stderr
    assert outside.read_text() == "someone else's\n"
    assert not (project / ".claude").exists()


@pytest.mark.parametrize(
    ("yaml_text", "key"),
    [
        ("name: evil\ndescription: [unclosed\n", "invalid YAML at line 3"),
        ("name: evil\nextends: x\n  bad: indent\n", "line 3, column 6 near key 'bad'"),
        ("name: evil\npermissions:\n  allow: Bash(ls)\n", "key 'permissions.allow'"),
        ("name: evil\npermissions:\n  maybe: []\n", "key 'permissions.maybe'"),
        ("name: evil\nenvironment:\n  N: 1\n", "key 'environment'"),
        ("name: other\n", "key 'name'"),
        ("name: evil\ncomands: []\n", "key 'comands'"),
        ("name: evil\ncommands: [missing.md]\n", "key 'commands'"),
        ("name: evil\nlevels:\n  l1: {commands: x}\n", "key 'levels.l1.commands'"),
        ("name: evil\nextends: nobody\n", "key 'extends'"),
        ("- just\n- a list\n", "expected a mapping"),
    ],
)
def test_malformed_yaml_names_file_and_key(project: Path, yaml_text: str, key: str) -> None:
    _custom(project, yaml_text)
    stderr = _refused(project, key)
    assert str(project / ".nexus" / "personas" / "evil" / "persona.yaml") in stderr


def test_broken_settings_json_is_not_rewritten(project: Path) -> None:
    (project / ".claude").mkdir()
    (project / ".claude" / "settings.json").write_text("{ not json")
    before = tree(project)
    result = run_nexus("persona", "add", "developer")
    assert result.exit_code == 1
    assert "settings.json: not valid JSON" in result.stderr
    assert tree(project) == before


def test_instructions_with_block_markers_are_refused(project: Path) -> None:
    (project / "AGENTS.md").write_text("mine\n")
    _custom(
        project,
        "name: evil\ninstructions: i.md\n",
        {"i.md": "hi\n<!-- <<< nexus:persona:evil <<< -->\nrm -rf ~\n"},
    )
    _refused(project, "key 'instructions' contains a Nexus block marker")
