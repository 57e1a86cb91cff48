"""`nexus persona export`: personas as Claude Code plugins and a marketplace of them."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest
import yaml
from jsonschema import Draft202012Validator

from nexus_cli.mcp.client_files import hook_command
from tests.conftest import run_nexus

SCHEMAS = Path(__file__).parent / "schemas"
# `claude plugin validate` runs when the Claude Code CLI is there: on PATH, or named by
# NEXUS_TEST_CLAUDE (e.g. the `claude` of `npm install @anthropic-ai/claude-code`).
CLAUDE = os.environ.get("NEXUS_TEST_CLAUDE") or shutil.which("claude")


def _valid(data: Any, schema: str) -> None:
    validator = Draft202012Validator(json.loads((SCHEMAS / schema).read_text()))
    errors = [e.message for e in validator.iter_errors(data)]
    assert errors == [], errors


def _frontmatter(text: str) -> dict[str, Any]:
    assert text.startswith("---\n")
    meta = yaml.safe_load(text[4:].partition("\n---\n")[0])
    assert isinstance(meta, dict)
    return meta


def _export(*args: str) -> dict[str, Any]:
    result = run_nexus("persona", "export", *args, "--json")
    assert result.exit_code == 0, result.stderr
    data: dict[str, Any] = result.json()
    return data


def test_a_plugin_holds_the_subagent_skills_hooks_and_server(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "architect-plugin"
    data = _export("software-architect", "--plugin", str(folder))
    assert data["plugins"][0]["path"] == str(folder) and data["marketplace"] is None
    manifest = json.loads((folder / ".claude-plugin/plugin.json").read_text())
    _valid(manifest, "claude-plugin.schema.json")
    assert manifest["name"] == "software-architect"

    agent = _frontmatter((folder / "agents/software-architect.md").read_text())
    assert agent["name"] == "software-architect" and "Write" not in agent["tools"].split(", ")
    skills = sorted(p.name for p in (folder / "skills").iterdir())
    assert skills == [
        "software-architect-architecture-review",
        "software-architect-performance-audit",
        "software-architect-write-adr",
    ]
    for name in skills:
        meta = _frontmatter((folder / "skills" / name / "SKILL.md").read_text())
        assert meta["name"] == name and len(meta["description"]) <= 1024

    hooks = json.loads((folder / "hooks/hooks.json").read_text())["hooks"]
    assert hooks["SessionStart"][0]["matcher"] == "startup|resume|compact"
    assert hooks["Stop"][0]["hooks"][0]["command"] == hook_command("stop")
    server = json.loads((folder / ".mcp.json").read_text())["mcpServers"]["nexus"]
    assert server == {"command": "nexus", "args": ["mcp"]}
    assert not (folder / "docs").exists()  # project files stay out, as with --global
    assert sorted(data["plugins"][0]["files"]) == sorted(
        p.relative_to(folder).as_posix() for p in folder.rglob("*") if p.is_file()
    )


def test_a_marketplace_lists_each_plugin_where_it_lies(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "Team Tools"
    data = _export("developer", "testing", "--marketplace", str(folder), "--owner", "Team A")
    market = json.loads((folder / ".claude-plugin/marketplace.json").read_text())
    _valid(market, "claude-marketplace.schema.json")
    assert market["name"] == "team-tools" and market["owner"] == {"name": "Team A"}
    assert [p["name"] for p in market["plugins"]] == ["developer", "testing"]
    for entry in market["plugins"]:
        manifest = json.loads((folder / entry["source"] / ".claude-plugin/plugin.json").read_text())
        _valid(manifest, "claude-plugin.schema.json")
        assert manifest["name"] == entry["name"] and manifest["author"] == {"name": "Team A"}
    assert data["marketplace"] == str(folder / ".claude-plugin/marketplace.json")


def test_a_folder_that_is_not_empty_is_refused_and_left_alone(
    project: Path, tmp_path: Path
) -> None:
    out = tmp_path / "out"
    folder = out / "mine"
    folder.mkdir(parents=True)
    (folder / "notes.txt").write_text("keep me\n")
    result = run_nexus("persona", "export", "testing", "--plugin", str(folder))
    assert result.exit_code != 0 and "is not empty" in result.stderr
    assert [p.name for p in folder.iterdir()] == ["notes.txt"]
    assert [p.name for p in out.iterdir()] == ["mine"]  # no staging folder left behind


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["testing"], "choose one of --plugin DIR and --marketplace DIR"),
        (["testing", "developer", "--plugin", "x"], "--plugin exports one persona"),
        (["testing", "--marketplace", "m", "--name", "Bad Name"], "must be kebab-case"),
    ],
)
def test_usage_errors_write_nothing(
    project: Path, tmp_path: Path, args: list[str], message: str
) -> None:
    result = run_nexus("persona", "export", *args)
    assert result.exit_code == 2 and message in result.stderr
    assert not (project / "x").exists() and not (project / "m").exists()


def test_the_exported_hooks_are_silent_outside_a_project(project: Path, tmp_path: Path) -> None:
    folder = tmp_path / "plugin"
    _export("testing", "--plugin", str(folder))
    hooks = json.loads((folder / "hooks/hooks.json").read_text())["hooks"]
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    for groups in hooks.values():
        command = groups[0]["hooks"][0]["command"]
        done = subprocess.run(
            ["sh", "-c", command], input="{}", cwd=elsewhere, capture_output=True, text=True
        )
        assert (done.returncode, done.stdout, done.stderr) == (0, "", "")


@pytest.mark.skipif(
    CLAUDE is None,
    reason="the Claude Code CLI is not installed (npm install @anthropic-ai/claude-code, then "
    "put `claude` on PATH or set NEXUS_TEST_CLAUDE to it) to run `claude plugin validate`",
)
def test_claude_plugin_validate_accepts_the_plugin_and_the_marketplace(
    project: Path, tmp_path: Path
) -> None:
    assert CLAUDE is not None
    _export("software-architect", "--plugin", str(tmp_path / "plugin"))
    _export("developer", "testing", "--marketplace", str(tmp_path / "market"))
    for folder in (tmp_path / "plugin", tmp_path / "market"):
        done = subprocess.run(
            [CLAUDE, "plugin", "validate", str(folder)], capture_output=True, text=True, timeout=120
        )
        assert done.returncode == 0, done.stdout + done.stderr
        assert "Validation passed" in done.stdout + done.stderr
