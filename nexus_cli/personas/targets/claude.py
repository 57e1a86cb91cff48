"""Claude Code: a subagent, skills, always-on instructions, permissions and env.

* ``.claude/agents/<persona>.md`` - the persona as a subagent (``name``, ``description``,
  ``tools`` derived from its permissions and commands);
* ``.claude/skills/<persona>-<command>/SKILL.md`` - each command as a skill (``name``,
  ``description``, ``argument-hint``, ``allowed-tools``), with ``commands/<command>/`` files
  beside it; ``.claude/commands/<persona>/*.md`` instead with ``--legacy-commands``;
* always-on instructions: ``.claude/personas/<persona>.md`` imported from ``CLAUDE.md``, or -
  when the ``agents`` target is installed too - one shared ``@AGENTS.md`` import, so the text
  exists once;
* ``permissions.allow/ask/deny`` and ``env`` in ``.claude/settings.json``.

Docs: https://code.claude.com/docs/en/sub-agents, https://code.claude.com/docs/en/skills,
https://code.claude.com/docs/en/settings, https://code.claude.com/docs/en/memory
"""

from __future__ import annotations

from nexus_cli.personas.plan import Desired
from nexus_cli.personas.settings_json import SettingsWant
from nexus_cli.personas.snapshot import FileState
from nexus_cli.personas.targets.base import (
    Capabilities,
    Context,
    emit_skills,
    frontmatter,
    instructions,
    render_command,
    skill_name,
    split_tools,
    text_file,
    tool_names,
    yaml_str,
)

NAME = "claude"
CAPABILITIES = Capabilities(
    always_on=True, on_demand=True, commands=True, skills=True, subagents=True, permissions=True
)
BASE_TOOLS = ("Read", "Grep", "Glob")
AGENTS_IMPORT = "agents-import"


def capabilities(is_global: bool) -> Capabilities:
    return CAPABILITIES


def invocations(ctx: Context) -> dict[str, str]:
    if ctx.legacy_commands:
        return {c.name: f"/{c.name}" for c in ctx.commands}
    return {c.name: f"/{skill_name(ctx, c.name)}" for c in ctx.commands}


def emit(ctx: Context, want: Desired) -> None:
    name = ctx.name
    text = instructions(ctx, invocations(ctx))
    want.files[f".claude/agents/{name}.md"] = text_file(subagent(ctx))
    if ctx.legacy_commands:
        for command in ctx.commands:
            # as written - the legacy format is the source's - unless edited for --global
            data = command.source.read_bytes()
            if command.edited:
                data = render_command(command).encode("utf-8")
            want.files[f".claude/commands/{name}/{command.name}.md"] = FileState(data, 0o644)
    else:
        emit_skills(ctx, want, ".claude/skills")
    memory = ".claude/CLAUDE.md" if ctx.is_global else "CLAUDE.md"
    if "agents" in ctx.targets:
        agents = "@~/.codex/AGENTS.md" if ctx.is_global else "@AGENTS.md"
        note = "<!-- Persona instructions live in AGENTS.md (nexus persona); imported once. -->"
        want.shared_blocks.setdefault(memory, {})[AGENTS_IMPORT] = f"{note}\n{agents}"
        # what only Claude has (the skills) is listed in the subagent and skill descriptions
    else:
        want.files[f".claude/personas/{name}.md"] = text_file(text)
        where = "~/.claude" if ctx.is_global else ".claude"
        want.blocks[memory] = f"<!-- {ctx.tag} -->\n@{where}/personas/{name}.md"
    perms = ctx.permissions
    rules = {
        k: v for k, v in (("allow", perms.allow), ("ask", perms.ask), ("deny", perms.deny)) if v
    }
    if rules or ctx.persona.environment:
        want.settings[".claude/settings.json"] = SettingsWant(rules, dict(ctx.persona.environment))


def subagent_tools(ctx: Context) -> list[str]:
    """Read-only tools, plus every tool the persona's own rules allow or ask for and every tool a
    skill allows unscoped (``Edit``), minus the tools it denies outright (a bare ``Bash`` in
    ``deny``). A skill's scoped rule stays the skill's: ``Write(docs/adr/*)`` in one skill gives
    the subagent no ``Write``, which a subagent's ``tools`` list could only grant unscoped."""
    perms = ctx.permissions
    wanted = set(BASE_TOOLS) | tool_names(perms.allow) | tool_names(perms.ask)
    for command in ctx.commands:
        wanted |= {t for t in split_tools(command.allowed_tools or "") if "(" not in t}
    denied = {rule.strip() for rule in perms.deny if "(" not in rule}
    ordered = [*BASE_TOOLS, *sorted(wanted - set(BASE_TOOLS))]
    return [t for t in ordered if t not in denied]


def subagent(ctx: Context) -> str:
    front = frontmatter(
        [
            ("name", ctx.name),
            ("description", yaml_str(ctx.summary)),
            ("tools", ", ".join(subagent_tools(ctx))),
        ]
    )
    return front + "\n" + instructions(ctx, {})  # a subagent does not run the user's skills
