"""Claude Code: a subagent and skills in the documented frontmatter; removal is byte-identical."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tests.conftest import run_nexus
from tests.personas.conftest import tree, write_persona
from tests.personas.targets.conftest import assert_golden, check_keys, frontmatter, installed

# https://code.claude.com/docs/en/sub-agents#file-format
AGENT_REQUIRED = {"name": str, "description": str}
AGENT_OPTIONAL = {"tools": str, "disallowedTools": str, "model": str, "permissionMode": str}
# https://code.claude.com/docs/en/skills#frontmatter-reference
SKILL_REQUIRED = {"name": str, "description": str}
SKILL_OPTIONAL = {
    "allowed-tools": str,
    "argument-hint": str,
    "disable-model-invocation": bool,
    "user-invocable": bool,
    "model": str,
}
TOOLS = {"Bash", "Edit", "Glob", "Grep", "Read", "Write", "WebFetch", "WebSearch", "NotebookEdit"}
NAME = re.compile(r"^[a-z0-9-]{1,64}$")


@pytest.mark.parametrize("persona", ["data-scientist", "software-architect"])
def test_golden_files(project: Path, persona: str) -> None:
    assert_golden(f"claude/{persona}", installed(project, persona, "--target", "claude"))


def test_data_scientist_subagent_and_skills_follow_the_documented_frontmatter(
    project: Path,
) -> None:
    before = tree(project)
    files = installed(project, "data-scientist", "--target", "claude")
    meta, body = frontmatter(files[".claude/agents/data-scientist.md"].decode())
    check_keys(meta, AGENT_REQUIRED, AGENT_OPTIONAL)
    assert meta["name"] == "data-scientist"
    tools = [t.strip() for t in meta["tools"].split(",")]
    assert set(tools) <= TOOLS and {"Read", "Bash"} <= set(tools)
    assert "Measure before optimising" in body
    skills = sorted(r for r in files if r.startswith(".claude/skills/"))
    assert skills == [
        f".claude/skills/data-scientist-{c}/SKILL.md"
        for c in ("gpu-optimize", "parallel-explain", "process-impact")
    ]
    for rel in skills:
        meta, body = frontmatter(files[rel].decode())
        check_keys(meta, SKILL_REQUIRED, SKILL_OPTIONAL)
        assert meta["name"] == rel.split("/")[2] and NAME.match(meta["name"])
        assert len(meta["description"]) <= 1024
        assert "$ARGUMENTS" in body
    assert not (project / ".claude" / "commands").exists()
    assert "@.claude/personas/data-scientist.md" in files["CLAUDE.md"].decode()
    settings = json.loads(files[".claude/settings.json"])
    assert "Bash(nvidia-smi:*)" in settings["permissions"]["allow"]
    assert run_nexus("persona", "remove", "data-scientist").exit_code == 0
    assert tree(project) == before


def test_commands_that_create_files_may_write(project: Path) -> None:
    files = installed(project, "developer", "--target", "claude")
    for skill in ("fix-bug", "write-tests"):
        meta, _ = frontmatter(files[f".claude/skills/developer-{skill}/SKILL.md"].decode())
        assert "Write" in [t.strip() for t in meta["allowed-tools"].split(",")]
    agent, _ = frontmatter(files[".claude/agents/developer.md"].decode())
    assert "Write" in agent["tools"] and "Edit" in agent["tools"]


def test_a_bare_deny_removes_the_tool_from_the_subagent(project: Path) -> None:
    write_persona(
        project / ".nexus" / "personas" / "reader",
        """\
        name: reader
        description: Reads only.
        commands: [commands/look.md]
        permissions:
          allow: ["Bash(ls:*)"]
          deny: ["Bash", "Write(/etc/*)"]
        """,
        {"commands/look.md": "---\nallowed-tools: Read, Write(docs/*)\n---\nLook at $ARGUMENTS\n"},
    )
    files = installed(project, "reader", "--target", "claude")
    meta, _ = frontmatter(files[".claude/agents/reader.md"].decode())
    # Bash denied outright; the skill's Write(docs/*) stays the skill's: no unscoped Write
    assert meta["tools"] == "Read, Grep, Glob"


def test_a_skills_scoped_write_does_not_widen_the_subagent(project: Path) -> None:
    files = installed(project, "software-architect", "--target", "claude")
    skill, _ = frontmatter(files[".claude/skills/software-architect-write-adr/SKILL.md"].decode())
    assert skill["allowed-tools"] == "Read, Glob, Write(docs/adr/*)"
    agent, _ = frontmatter(files[".claude/agents/software-architect.md"].decode())
    assert "Write" not in agent["tools"].split(", ")


def test_legacy_commands_flag_keeps_the_old_form_and_is_remembered(project: Path) -> None:
    files = installed(project, "testing", "--target", "claude", "--legacy-commands")
    assert ".claude/commands/testing/flaky-test.md" in files
    assert not any(r.startswith(".claude/skills/") for r in files)
    text = files[".claude/personas/testing.md"].decode()
    assert "`/flaky-test`" in text and "/testing-flaky-test" not in text
    assert run_nexus("persona", "add", "testing").exit_code == 0  # re-add keeps the choice
    assert (project / ".claude/commands/testing/flaky-test.md").is_file()
    assert run_nexus("persona", "add", "testing", "--skills").exit_code == 0
    assert not (project / ".claude/commands").exists()
    assert (project / ".claude/skills/testing-flaky-test/SKILL.md").is_file()


def test_files_beside_a_command_travel_with_its_skill(project: Path) -> None:
    write_persona(
        project / ".nexus" / "personas" / "ops",
        "name: ops\ncommands: [commands/check.md]\n",
        {
            "commands/check.md": "---\ndescription: Check\n---\nRun check.sh\n",
            "commands/check/check.sh": "#!/bin/sh\necho ok\n",
        },
    )
    before = tree(project)
    installed(project, "ops", "--target", "claude")
    script = project / ".claude/skills/ops-check/check.sh"
    assert script.read_text() == "#!/bin/sh\necho ok\n"
    assert script.stat().st_mode & 0o111
    assert run_nexus("persona", "remove", "ops").exit_code == 0
    assert tree(project) == before


def test_with_agents_too_claude_imports_agents_md_once(project: Path) -> None:
    before = tree(project)
    installed(project, "backend", "--target", "claude,agents")
    installed(project, "frontend", "--target", "claude,agents")
    claude = (project / "CLAUDE.md").read_text()
    assert claude.count("@AGENTS.md") == 1
    assert "Persona:" not in claude  # the text itself is only in AGENTS.md
    assert not (project / ".claude" / "personas").exists()
    agents = (project / "AGENTS.md").read_text()
    assert agents.count("# Persona: Backend Engineer") == 1
    assert run_nexus("persona", "remove", "backend").exit_code == 0
    assert (project / "CLAUDE.md").read_text().count("@AGENTS.md") == 1  # frontend needs it
    assert run_nexus("persona", "remove", "frontend").exit_code == 0
    assert tree(project) == before
