"""What every target shares: the install context, commands read from Markdown, rendering helpers.

A target (one module per assistant) declares its :class:`Capabilities` - what that assistant can
express - and writes each persona part it can express into a :class:`Desired`. A part a target
cannot express is left out, and the instructions written for it never mention it.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field, replace
from pathlib import Path

from nexus_cli.config_yaml import parse_yaml
from nexus_cli.errors import ConfigError
from nexus_cli.personas.model import NAME_RE, Level, Permissions, Persona, persona_path
from nexus_cli.personas.plan import Desired
from nexus_cli.personas.snapshot import FileState

# The layout version recorded in the lock (`persona upgrade` moves older installs): 1 = commands
# and always-on rules everywhere; 2 = Claude skills, on-demand rules; 3 = Agent Skills for Codex
# in .agents/skills (no ~/.codex/prompts), Copilot applyTo and Cursor globs only where a persona
# names its files, skill-scoped tools kept off the subagent.
LAYOUT = 3


@dataclass(frozen=True)
class Capabilities:
    """The persona parts an assistant can express (in this scope)."""

    always_on: bool = False  # instructions read in every session
    on_demand: bool = False  # instructions loaded when relevant (by description or path)
    commands: bool = False  # user-invoked prompts (/name)
    skills: bool = False  # model- or user-invoked skills with their own folder
    subagents: bool = False
    permissions: bool = False  # allow/ask/deny rules and env
    hooks: bool = False


@dataclass(frozen=True)
class Command:
    """One persona command, read from ``commands/<name>.md`` (frontmatter + body)."""

    name: str
    description: str
    argument_hint: str | None
    allowed_tools: str | None
    body: str
    source: Path
    edited: bool = False  # changed from the source (global: rules for project files dropped)

    def tool_names(self) -> set[str]:
        """``Read, Bash(git log:*), Write(docs/*)`` -> {Read, Bash, Write}."""
        return tool_names(split_tools(self.allowed_tools or ""))

    @property
    def writes(self) -> bool:
        return bool(self.tool_names() & {"Edit", "Write", "Bash", "MultiEdit", "NotebookEdit"})

    def support_files(self) -> list[tuple[str, Path]]:
        """Files in ``commands/<name>/`` (scripts, templates) that travel beside a skill."""
        folder = self.source.with_suffix("")
        if not folder.is_dir():
            return []
        found = []
        for path in sorted(p for p in folder.rglob("*") if p.is_file() or p.is_symlink()):
            rel = path.relative_to(folder).as_posix()
            found.append((rel, persona_path(folder, rel, f"commands/{self.name}/")))
        return found


def split_tools(text: str) -> list[str]:
    """Split a tool list on commas outside parentheses."""
    tools, depth, current = [], 0, ""
    for char in text:
        depth += char == "("
        depth -= char == ")"
        if char == "," and depth == 0:
            tools.append(current.strip())
            current = ""
        else:
            current += char
    tools.append(current.strip())
    return [t for t in tools if t]


def tool_names(rules: list[str] | tuple[str, ...]) -> set[str]:
    return {rule.split("(", 1)[0].strip() for rule in rules if rule.strip()}


def read_command(path: Path) -> Command:
    name = path.stem
    if not NAME_RE.match(name):
        raise ConfigError(
            f"{path}: command file names must be lowercase names (letters, digits, -)"
        )
    text = path.read_text(encoding="utf-8")
    meta: object = {}
    body = text
    if text.startswith("---\n"):
        front, sep, rest = text[4:].partition("\n---\n")
        if sep:
            meta = parse_yaml(front, path, what="frontmatter") or {}
            body = rest.lstrip("\n")
    if not isinstance(meta, dict):
        raise ConfigError(f"{path}: frontmatter must be a mapping")
    for key in ("description", "argument-hint", "allowed-tools"):
        if meta.get(key) is not None and not isinstance(meta[key], str):
            raise ConfigError(f"{path}: frontmatter key {key!r} must be a string")
    return Command(
        name=name,
        description=one_line(meta.get("description")) or f"The {name} command",
        argument_hint=one_line(meta.get("argument-hint")) or None,
        allowed_tools=one_line(meta.get("allowed-tools")) or None,
        body=body,
        source=path,
    )


def one_line(text: str | None) -> str:
    """Whitespace (newlines included) collapsed: these values go into one-line fields."""
    return " ".join((text or "").split())


@dataclass
class Context:
    """One persona being installed: what every target needs to render it."""

    persona: Persona
    level: Level | None
    targets: list[str]
    is_global: bool
    legacy_commands: bool = False
    commands: list[Command] = field(default_factory=list)

    @classmethod
    def make(
        cls,
        persona: Persona,
        level: Level | None,
        targets: list[str],
        is_global: bool,
        legacy_commands: bool = False,
    ) -> Context:
        paths = {p.name: p for p in persona.commands}
        if level is not None:
            paths.update({p.name: p for p in level.commands})
        commands = [read_command(p) for p in paths.values()]
        if is_global:
            missing = tuple(item.target for item in persona.files)
            commands = [without_project_files(c, persona.name, missing) for c in commands]
        return cls(persona, level, targets, is_global, legacy_commands, commands)

    @property
    def missing_files(self) -> tuple[str, ...]:
        """The persona's project files (``scripts/...``) not installed here: all of them with
        ``--global``, where rules and instructions must not count on them."""
        return tuple(item.target for item in self.persona.files) if self.is_global else ()

    @property
    def name(self) -> str:
        return self.persona.name

    @property
    def permissions(self) -> Permissions:
        """The persona's rules (and its level's), less those naming a project file that is not
        installed: ``Bash(scripts/x.sh:*)`` in ``~/.claude`` would approve any repository's
        ``scripts/x.sh``."""
        p = self.persona.permissions
        p = p.union(self.level.permissions) if self.level else p
        missing = self.missing_files
        if not missing:
            return p

        def keep(rules: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(r for r in rules if not mentions(r, missing))

        return Permissions(keep(p.allow), keep(p.ask), keep(p.deny))

    @property
    def tag(self) -> str:
        n = self.name
        return (
            f"Persona {self.persona.display_name}: added by `nexus persona add {n}`; "
            f"`nexus persona remove {n}` takes it out."
        )

    @property
    def summary(self) -> str:
        """A precise one-line description: what the persona is for, so an agent can pick it."""
        display = one_line(self.persona.display_name)
        what = one_line(self.persona.description).rstrip(".") or display
        return f"{display} persona: {what}. Use when a task in this project calls for this role."


def instructions(ctx: Context, invocations: dict[str, str]) -> str:
    """The persona's instructions for one target; ``invocations`` maps the commands that target
    received to what a user types (``/data-scientist-gpu-optimize``). Mentions of the others go."""
    persona = ctx.persona
    parts = [f"# Persona: {persona.display_name}", persona.instructions.strip()]
    if ctx.level is not None and ctx.level.instructions.strip():
        parts.append(ctx.level.instructions.strip())
    text = "\n\n".join(p for p in parts if p)
    note = project_files_note(text, ctx.name, ctx.missing_files)
    if note:
        text += "\n\n" + note
    by_name = {c.name: c for c in ctx.commands}
    text = adapt_mentions(text, by_name, invocations)
    listed = [c for c in ctx.commands if c.name in invocations]
    if listed:
        lines = [f"- `{invocations[c.name]}` - {c.description}" for c in listed]
        text += "\n\n## Commands\n" + adapt_mentions("\n".join(lines), by_name, invocations)
    return text + "\n"


def mentions(text: str, paths: tuple[str, ...]) -> list[str]:
    """The ``paths`` that ``text`` names as a path (``scripts/x.sh``, ``./scripts/x.sh``)."""
    return [p for p in paths if re.search(rf"(?<![\w/.-])(?:\./)?{re.escape(p)}(?![\w/.-])", text)]


def project_files_note(text: str, persona: str, missing: tuple[str, ...]) -> str:
    """A note for text that names project files which are not installed (``--global``)."""
    named = mentions(text, missing)
    if not named:
        return ""
    files = ", ".join(f"`{p}`" for p in named)
    return (
        f"Note: {files} {'is' if len(named) == 1 else 'are'} available only when the persona is "
        f"added to a project (`nexus persona add {persona}` in that project); it is not "
        "installed with `--global`. In a project without it, do not run a file of that name: "
        "do that step by other means, or ask the user."
    )


def without_project_files(command: Command, persona: str, missing: tuple[str, ...]) -> Command:
    """``command`` with its ``allowed-tools`` rules for ``missing`` files dropped and a note
    saying where those files exist."""
    tools = split_tools(command.allowed_tools or "")
    kept = [t for t in tools if not mentions(t, missing)]
    note = project_files_note(command.body, persona, missing)
    if kept == tools and not note:
        return command
    body = command.body.rstrip("\n") + "\n\n" + note + "\n" if note else command.body
    return replace(command, allowed_tools=", ".join(kept) or None, body=body, edited=True)


def render_command(command: Command) -> str:
    """A command file in the source format (frontmatter + body), from its parsed parts."""
    pairs = [("description", yaml_str(command.description))]
    if command.argument_hint:
        pairs.append(("argument-hint", yaml_str(command.argument_hint)))
    if command.allowed_tools:
        pairs.append(("allowed-tools", yaml_str(command.allowed_tools)))
    return frontmatter(pairs) + "\n" + command.body


def adapt_mentions(text: str, commands: dict[str, Command], invocations: dict[str, str]) -> str:
    """Rewrite ``/name`` mentions of the persona's commands for one target: to what the user
    types there, or - when the target did not get the command - out of the text."""
    if not commands:
        return text
    names = "|".join(re.escape(n) for n in sorted(commands, key=len, reverse=True))
    token = rf"`?(?<![\w/.-])/({names})(?![\w/-])`?"
    missing = [n for n in commands if n not in invocations]
    if missing:
        gone = "|".join(re.escape(n) for n in missing)
        text = re.sub(rf"(?m)^[ \t]*[-*][ \t]+`?/({gone})(?![\w/-])`?.*\n?", "", text)
        text = re.sub(rf"[ \t]*\(`?/({gone})(?![\w/-])`?\)", "", text)

    def replace(match: re.Match[str]) -> str:
        name = match.group(1)
        if name in invocations:
            return f"`{invocations[name]}`"
        return f"the {name} task"

    return re.sub(token, replace, text)


def yaml_str(value: str) -> str:
    """A YAML double-quoted scalar (JSON strings are valid YAML)."""
    return json.dumps(value, ensure_ascii=False)


def frontmatter(pairs: list[tuple[str, str]]) -> str:
    """``---`` + ``key: value`` lines (values already rendered) + ``---``."""
    return "---\n" + "".join(f"{k}: {v}".rstrip() + "\n" for k, v in pairs) + "---\n"


SKILL_NAME_MAX = 64
SKILL_DESCRIPTION_MAX = 1024


def skill_name(ctx: Context, command: str) -> str:
    """``<persona>-<command>``, checked against the Agent Skills rules for ``name`` (1-64 of
    a-z, 0-9 and ``-``, no leading, trailing or doubled ``-``; the folder has the same name):
    https://agentskills.io/specification (read 2026-12-06)."""
    name = f"{ctx.name}-{command}"
    if len(name) > SKILL_NAME_MAX or "--" in name or not re.fullmatch(r"[a-z0-9-]+", name):
        raise ConfigError(
            f"{ctx.persona.folder / 'persona.yaml'}: skill name {name!r} (persona-command) must "
            f"be at most {SKILL_NAME_MAX} lowercase letters, digits and single hyphens"
        )
    return name


def skill(ctx: Context, command: Command) -> str:
    """One command as an Agent Skill's ``SKILL.md``: ``name`` and ``description`` (the standard's
    two required fields; the description cut to its 1,024 characters), ``argument-hint`` and
    ``allowed-tools`` where the command has them, then the command's text."""
    description = f"{command.description} ({ctx.persona.display_name} persona)"
    if len(description) > SKILL_DESCRIPTION_MAX:
        description = description[: SKILL_DESCRIPTION_MAX - 1] + "…"
    pairs = [("name", skill_name(ctx, command.name)), ("description", yaml_str(description))]
    if command.argument_hint:
        pairs.append(("argument-hint", yaml_str(command.argument_hint)))
    if command.allowed_tools:
        pairs.append(("allowed-tools", yaml_str(command.allowed_tools)))
    return frontmatter(pairs) + "\n" + command.body


def emit_skills(ctx: Context, want: Desired, root: str) -> None:
    """Every command as a skill folder under ``root`` (``.claude/skills``, ``.agents/skills``):
    ``<root>/<persona>-<command>/SKILL.md`` with the ``commands/<command>/`` files beside it.
    The one renderer of skills, whichever assistant reads them."""
    for command in ctx.commands:
        folder = f"{root}/{skill_name(ctx, command.name)}"
        want.files[f"{folder}/SKILL.md"] = text_file(skill(ctx, command))
        for rel, source in command.support_files():
            want.files[f"{folder}/{rel}"] = script_state(source)


def text_file(text: str) -> FileState:
    return FileState(text.encode("utf-8"), 0o644)


def script_state(source: Path) -> FileState:
    """A file copied as is; scripts (executable, or starting with ``#!``) stay executable."""
    data = source.read_bytes()
    executable = source.stat().st_mode & 0o111 or data.startswith(b"#!")
    return FileState(data, 0o755 if executable else 0o644)
