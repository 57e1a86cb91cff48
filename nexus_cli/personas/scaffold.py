"""``nexus persona create``: scaffold a custom persona that can extend a built-in one."""

from __future__ import annotations

from pathlib import Path

from nexus_cli import safe_path
from nexus_cli.errors import ConflictError, UsageError
from nexus_cli.personas.catalog import Layer, load
from nexus_cli.personas.model import NAME_RE

PERSONA_YAML = """\
# A custom Nexus persona. Reference: docs/personas.md
name: {name}
display_name: {display}
description: {description}
{extends}# Markdown instructions for the assistant (AGENTS.md inlines them, CLAUDE.md imports them,
# Cursor and Copilot get them as rules loaded when relevant).
instructions: instructions.md
# Commands, one Markdown file each: a Claude Code skill ({name}-checklist), a Cursor command,
# a Copilot prompt file (files in commands/checklist/ travel beside the skill).
commands:
  - commands/checklist.md
# always: true                 # Cursor: apply in every session instead of when relevant
# globs: ["src/**"]            # Cursor globs and Copilot applyTo (default: every file)
# Claude Code permission rules merged into .claude/settings.json (block = deny).
permissions:
  allow: []
  ask: []
  deny: []
# Environment variables merged into the "env" key of .claude/settings.json.
environment: {{}}
"""

INSTRUCTIONS = """\
## How to work in this project as {display}

- Describe here what this role cares about, in the order it matters.
- Name the commands to run before calling work done (tests, linters, builds).
- Say what the assistant must never do without asking.
"""

COMMAND = """\
---
description: Walk through the {display} checklist for the current change
argument-hint: "[what to check]"
allowed-tools: Read, Grep, Glob
---

Review $ARGUMENTS (or the current change when empty) against the {display} persona's
instructions. For each item say whether it holds, with file:line evidence, and list what is
missing first.
"""


def create(
    name: str, base: str | None, dest_root: Path, search: list[Layer], *, root: Path | None = None
) -> Path:
    """Write the scaffold into ``dest_root/name``; return that folder. Never overwrites.

    ``root`` (the project) is where the folders are opened from without following links; by
    default ``dest_root`` itself (made first).
    """
    if not NAME_RE.match(name):
        raise UsageError(f"invalid persona name {name!r}", hint="use lowercase letters, digits, -")
    folder = dest_root / name
    if folder.exists():
        raise ConflictError(f"{folder} already exists; not overwritten")
    display = name.replace("-", " ").title()
    description = f"Custom persona {display}"
    extends = ""
    if base is not None:
        parent = load(base, search)
        description = f"{parent.display_name}, customised"
        extends = (
            f"# Everything from {base!r} is kept; what is below adds to it.\nextends: {base}\n"
        )
    files = {
        "persona.yaml": PERSONA_YAML.format(
            name=name, display=display, description=description, extends=extends
        ),
        "instructions.md": INSTRUCTIONS.format(display=display),
        "commands/checklist.md": COMMAND.format(display=display, name=name),
    }
    if root is None:
        dest_root.mkdir(parents=True, exist_ok=True)
        root = dest_root
    for rel, text in files.items():  # from the root down, never through a link
        safe_path.write_atomic(root, folder / rel, text, makedirs=True)
    return folder
