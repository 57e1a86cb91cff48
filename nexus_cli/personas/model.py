"""What a persona is: its name rules, the keys of ``persona.yaml`` and the validated persona.

:mod:`nexus_cli.personas.schema` builds a :class:`Persona` from one file and
:mod:`nexus_cli.personas.catalog` finds them in their layers and resolves ``extends``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.personas.safety import PathEscapeError, resolve_inside

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PERSONA_FILE = "persona.yaml"
KNOWN_KEYS = frozenset(
    {
        "name",
        "aliases",
        "display_name",
        "description",
        "extends",
        "instructions",
        "commands",
        "files",
        "permissions",
        "environment",
        "levels",
        "default_level",
        "always",
        "globs",
    }
)
PERMISSION_KEYS = ("allow", "ask", "deny")


@dataclass(frozen=True)
class Permissions:
    allow: tuple[str, ...] = ()
    ask: tuple[str, ...] = ()
    deny: tuple[str, ...] = ()

    def union(self, other: Permissions) -> Permissions:
        def merged(a: tuple[str, ...], b: tuple[str, ...]) -> tuple[str, ...]:
            return tuple(dict.fromkeys((*a, *b)))

        return Permissions(
            merged(self.allow, other.allow),
            merged(self.ask, other.ask),
            merged(self.deny, other.deny),
        )


@dataclass(frozen=True)
class InstallFile:
    """A file of the persona copied into the project (``scripts/gpu_monitor.sh``)."""

    source: Path
    target: str


@dataclass(frozen=True)
class Level:
    name: str
    description: str
    instructions: str
    commands: tuple[Path, ...]
    permissions: Permissions


@dataclass(frozen=True)
class Persona:
    name: str
    display_name: str
    description: str
    origin: str  # "builtin", "user" or "project"
    folder: Path
    extends: str | None
    instructions: str
    commands: tuple[Path, ...]
    files: tuple[InstallFile, ...]
    permissions: Permissions
    environment: dict[str, str] = field(default_factory=dict)
    levels: dict[str, Level] = field(default_factory=dict)
    default_level: str | None = None
    always: bool = False  # Cursor: alwaysApply instead of an agent-requested rule
    globs: tuple[str, ...] = ()  # Cursor globs, Copilot applyTo

    @property
    def is_builtin(self) -> bool:
        return self.origin == "builtin"

    def pick_level(self, level: str | None) -> Level | None:
        """The level to install: the one asked for, else the default; None without levels."""
        if not self.levels:
            if level is not None:
                raise UsageError(f"persona {self.name!r} has no skill levels")
            return None
        chosen = level or self.default_level or next(iter(self.levels))
        if chosen not in self.levels:
            raise UsageError(
                f"persona {self.name!r} has no level {chosen!r}",
                hint=f"choose one of: {', '.join(self.levels)}",
            )
        return self.levels[chosen]


def persona_path(folder: Path, rel: Any, key: str) -> Path:
    """A file named by a persona, which must stay inside the persona's folder."""
    where = f"{folder / PERSONA_FILE}: key {key!r}"
    if not isinstance(rel, str):
        raise ConfigError(f"{where} must be a relative file path")
    try:
        path = resolve_inside(folder, rel, where)
    except PathEscapeError as exc:
        raise PathEscapeError(
            exc.message, hint="persona files must stay inside its folder"
        ) from None
    if not path.is_file():
        raise ConfigError(f"{where} names {rel!r}, which is not a file in {folder}")
    return path
