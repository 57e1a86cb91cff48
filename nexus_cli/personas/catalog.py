"""The persona catalog: built-in personas, user personas and project personas, validated.

Layers, highest priority first: the project's ``.nexus/personas/<name>/``, the user's
``<config dir>/personas/<name>/``, then the built-ins shipped in ``personas/``. A persona may
``extends`` another one (a custom ``developer`` may extend the built-in ``developer``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli.errors import ConfigError, NotFoundError, UsageError
from nexus_cli.personas.safety import PathEscapeError, resolve_inside

NAME_RE = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
PERSONA_FILE = "persona.yaml"
KNOWN_KEYS = frozenset(
    {
        "name",
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


@dataclass(frozen=True)
class Layer:
    origin: str
    folder: Path


def layers(project_root: Path | None, include_project: bool = True) -> list[Layer]:
    """Where personas are looked up, highest priority first."""
    from nexus_cli.paths import user_config_dir
    from nexus_cli.resources import data_dir

    found: list[Layer] = []
    if project_root is not None and include_project:
        found.append(Layer("project", project_root / ".nexus" / "personas"))
    found.append(Layer("user", user_config_dir() / "personas"))
    found.append(Layer("builtin", data_dir("personas")))
    return found


def available(search: list[Layer]) -> dict[str, Layer]:
    """Every persona name visible through ``search``, with the layer that wins."""
    names: dict[str, Layer] = {}
    for layer in search:
        if not layer.folder.is_dir():
            continue
        for child in sorted(layer.folder.iterdir()):
            if (child / PERSONA_FILE).is_file() and NAME_RE.match(child.name):
                names.setdefault(child.name, layer)
    return dict(sorted(names.items()))


def load(name: str, search: list[Layer]) -> Persona:
    """Load persona ``name`` from the first layer that has it, resolving ``extends``."""
    if not NAME_RE.match(name):
        raise UsageError(f"invalid persona name {name!r}", hint="use lowercase letters, digits, -")
    for index, layer in enumerate(search):
        folder = layer.folder / name
        if (folder / PERSONA_FILE).is_file():
            return _load_from(folder, layer.origin, search, index, chain=(name,))
    raise NotFoundError(
        f"no persona named {name!r}", hint="`nexus persona list` shows the available personas"
    )


def load_all(search: list[Layer]) -> list[Persona]:
    return [load(name, search) for name in available(search)]


def _load_from(
    folder: Path, origin: str, search: list[Layer], index: int, chain: tuple[str, ...]
) -> Persona:
    from nexus_cli.personas.schema import parse_persona

    spec = parse_persona(folder / PERSONA_FILE)
    own = spec.build(folder, origin)
    if spec.extends is None:
        return own
    if spec.extends in chain and spec.extends != folder.name:
        raise ConfigError(f"{folder / PERSONA_FILE}: key 'extends' forms a cycle: {chain}")
    # `extends: developer` in a custom `developer` means the next layer's developer.
    start = index + 1 if spec.extends == folder.name else 0
    base = _find_base(spec.extends, search, start, folder, chain)
    return _merge(base, own)


def _find_base(
    name: str, search: list[Layer], start: int, folder: Path, chain: tuple[str, ...]
) -> Persona:
    for index in range(start, len(search)):
        candidate = search[index].folder / name
        if (candidate / PERSONA_FILE).is_file():
            return _load_from(candidate, search[index].origin, search, index, (*chain, name))
    raise ConfigError(f"{folder / PERSONA_FILE}: key 'extends' names unknown persona {name!r}")


def _merge(base: Persona, own: Persona) -> Persona:
    commands = {p.name: p for p in base.commands} | {p.name: p for p in own.commands}
    files = {f.target: f for f in base.files} | {f.target: f for f in own.files}
    instructions = "\n".join(t for t in (base.instructions, own.instructions) if t.strip())
    return Persona(
        name=own.name,
        display_name=own.display_name,
        description=own.description or base.description,
        origin=own.origin,
        folder=own.folder,
        extends=base.name,
        instructions=instructions,
        commands=tuple(commands.values()),
        files=tuple(files.values()),
        permissions=base.permissions.union(own.permissions),
        environment={**base.environment, **own.environment},
        levels={**base.levels, **own.levels},
        default_level=own.default_level or base.default_level,
        always=own.always or base.always,
        globs=own.globs or base.globs,
    )


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


def complete_names(incomplete: str) -> list[str]:
    """Completion source: persona names visible from the current directory."""
    from nexus_cli.errors import NexusError
    from nexus_cli.project import find_project

    try:
        root: Path | None = find_project().root
    except NexusError:
        root = None
    return [n for n in available(layers(root)) if n.startswith(incomplete)]
