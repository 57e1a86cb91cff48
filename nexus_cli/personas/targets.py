"""What each coding assistant gets from a persona, following that assistant's conventions.

* ``claude``: ``.claude/commands/<persona>/*.md``, the instructions in
  ``.claude/personas/<persona>.md`` imported with ``@`` from a managed block in ``CLAUDE.md``,
  and permissions/env merged into ``.claude/settings.json``.
* ``agents``: the instructions inline in a managed block in ``AGENTS.md``.
* ``cursor``: ``.cursor/rules/<persona>.mdc`` with ``alwaysApply: true``.
* ``copilot``: a managed block in ``.github/copilot-instructions.md``.

With ``--global`` the user-level equivalents are used, relative to the home folder.
"""

from __future__ import annotations

import json
from pathlib import Path

from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.personas.catalog import Level, Persona
from nexus_cli.personas.plan import Desired
from nexus_cli.personas.settings_json import SettingsWant
from nexus_cli.personas.snapshot import FileState

TARGETS = ("claude", "agents", "cursor", "copilot")
GLOBAL_TARGETS = ("claude", "agents")


def parse_targets(value: str | None, is_global: bool) -> list[str] | None:
    if value is None:
        return None
    chosen = [t.strip() for t in value.split(",") if t.strip()]
    allowed = GLOBAL_TARGETS if is_global else TARGETS
    for target in chosen:
        if target not in allowed:
            extra = " (cursor and copilot have no user-level file)" if is_global else ""
            raise UsageError(f"unknown target {target!r}; choose from {', '.join(allowed)}{extra}")
    if not chosen:
        raise UsageError("--target needs at least one of " + ", ".join(allowed))
    return list(dict.fromkeys(chosen))


def default_targets(root: Path, is_global: bool) -> list[str]:
    """claude and agents; cursor and copilot too when the project already uses them."""
    targets = ["claude", "agents"]
    if not is_global:
        if (root / ".cursor").is_dir():
            targets.append("cursor")
        if (root / ".github" / "copilot-instructions.md").is_file():
            targets.append("copilot")
    return targets


def instructions_text(persona: Persona, level: Level | None) -> str:
    parts = [f"# Persona: {persona.display_name}\n", persona.instructions.strip()]
    if level is not None and level.instructions.strip():
        parts.append(level.instructions.strip())
    return "\n\n".join(p for p in parts if p) + "\n"


def _file(source: Path) -> FileState:
    """A persona file; scripts (executable, or starting with ``#!``) are installed executable,
    even when a package manager dropped the bit from the shipped copy."""
    data = source.read_bytes()
    executable = source.stat().st_mode & 0o111 or data.startswith(b"#!")
    return FileState(data, 0o755 if executable else 0o644)


def desired(
    persona: Persona, level: Level | None, targets: list[str], is_global: bool
) -> tuple[Desired, list[str]]:
    """The files, blocks and settings ``persona`` should have, and notes on what was skipped."""
    want = Desired()
    notes: list[str] = []
    text = instructions_text(persona, level)
    name = persona.name
    tag = f"Persona {persona.display_name}: added by `nexus persona add {name}`; `nexus persona remove {name}` takes it out."
    if "claude" in targets:
        _claude(want, persona, level, text, tag, is_global)
    if "agents" in targets:
        rel = ".codex/AGENTS.md" if is_global else "AGENTS.md"
        want.blocks[rel] = f"<!-- {tag} -->\n{text}"
    if "cursor" in targets:
        description = json.dumps(persona.description or persona.display_name)
        front = f"---\ndescription: {description}\nglobs:\nalwaysApply: true\n---\n"
        want.files[f".cursor/rules/{name}.mdc"] = FileState((front + text).encode(), 0o644)
    if "copilot" in targets:
        want.blocks[".github/copilot-instructions.md"] = f"<!-- {tag} -->\n{text}"
    _refuse_markers(persona, want)
    if is_global and persona.files:
        notes.append(
            f"{len(persona.files)} project file(s) not installed with --global (scripts belong to a project)"
        )
    elif not is_global:
        for item in persona.files:
            want.files[item.target] = _file(item.source)
    return want, notes


def _refuse_markers(persona: Persona, want: Desired) -> None:
    """Block content must not contain block markers: it would make the block unremovable."""
    for content in want.blocks.values():
        if ">>> nexus:" in content or "<<< nexus:" in content:
            raise ConfigError(
                f"{persona.folder / 'persona.yaml'}: key 'instructions' contains a Nexus block "
                "marker ('>>> nexus:' or '<<< nexus:'); refused"
            )


def _claude(
    want: Desired, persona: Persona, level: Level | None, text: str, tag: str, is_global: bool
) -> None:
    name = persona.name
    want.files[f".claude/personas/{name}.md"] = FileState(text.encode(), 0o644)
    commands = {p.name: p for p in persona.commands}
    if level is not None:
        commands.update({p.name: p for p in level.commands})
    for file_name, source in commands.items():
        want.files[f".claude/commands/{name}/{file_name}"] = FileState(source.read_bytes(), 0o644)
    if is_global:
        want.blocks[".claude/CLAUDE.md"] = f"<!-- {tag} -->\n@~/.claude/personas/{name}.md"
    else:
        want.blocks["CLAUDE.md"] = f"<!-- {tag} -->\n@.claude/personas/{name}.md"
    perms = persona.permissions.union(level.permissions) if level else persona.permissions
    rules = {
        k: v for k, v in (("allow", perms.allow), ("ask", perms.ask), ("deny", perms.deny)) if v
    }
    if rules or persona.environment:
        want.settings[".claude/settings.json"] = SettingsWant(rules, dict(persona.environment))
