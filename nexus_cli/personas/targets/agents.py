"""AGENTS.md and Codex: always-on instructions, written once, and the commands as Agent Skills.

* the instructions inline in a managed block in ``AGENTS.md`` (``--global``:
  ``~/.codex/AGENTS.md``);
* each command as an Agent Skill in ``.agents/skills/<persona>-<command>/SKILL.md`` (``--global``:
  ``~/.agents/skills``), where Codex looks for skills from the folder it runs in up to the
  repository root, and for the user. Codex loads a skill when the task matches its description,
  or when the user mentions it (``$name``, ``/skills``). GitHub Copilot and Cursor read
  ``.agents/skills`` too. Skills replace the custom prompts in ``~/.codex/prompts`` that Codex
  deprecated; an upgrade takes those out.

The shared text names no command: Claude Code imports it too when both targets are installed.

Docs (read 2026-12-06): https://agents.md, https://developers.openai.com/codex/guides/agents-md,
https://developers.openai.com/codex/skills, https://agentskills.io/specification,
https://code.visualstudio.com/docs/agents/reference/agent-skills-reference (Codex: project
``.agents/skills/``, personal ``~/.agents/skills/``), https://cursor.com/docs/context/skills
"""

from __future__ import annotations

from nexus_cli.personas.plan import Desired
from nexus_cli.personas.targets.base import (
    Capabilities,
    Context,
    emit_skills,
    instructions,
)

NAME = "agents"
SKILLS = ".agents/skills"  # under the project, or the home folder with --global


def capabilities(is_global: bool) -> Capabilities:
    return Capabilities(always_on=True, on_demand=True, skills=True)


def invocations(ctx: Context) -> dict[str, str]:
    """Commands the AGENTS.md text may name: none (see the module docstring)."""
    return {}


def emit(ctx: Context, want: Desired) -> None:
    rel = ".codex/AGENTS.md" if ctx.is_global else "AGENTS.md"
    want.blocks[rel] = f"<!-- {ctx.tag} -->\n{instructions(ctx, invocations(ctx))}"
    emit_skills(ctx, want, SKILLS)
