"""The persona catalog: built-in personas, user personas and project personas, validated.

Layers, highest priority first: the project's ``.nexus/personas/<name>/``, the user's
``<config dir>/personas/<name>/``, then the built-ins shipped in ``personas/``. A persona may
``extends`` another one (a custom ``developer`` may extend the built-in ``developer``).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from nexus_cli import fs
from nexus_cli.errors import ConfigError, NexusError, NotFoundError, UsageError
from nexus_cli.paths import user_config_dir
from nexus_cli.personas.model import NAME_RE, PERSONA_FILE, Persona
from nexus_cli.personas.schema import parse_persona
from nexus_cli.project import find_project
from nexus_cli.resources import data_dir
from nexus_cli.suggest import did_you_mean


@dataclass(frozen=True)
class Layer:
    origin: str
    folder: Path


def layers(project_root: Path | None, include_project: bool = True) -> list[Layer]:
    """Where personas are looked up, highest priority first."""
    found: list[Layer] = []
    if project_root is not None and include_project:
        found.append(Layer("project", project_root / ".nexus" / "personas"))
    found.append(Layer("user", user_config_dir() / "personas"))
    found.append(Layer("builtin", data_dir("personas")))
    return found


def shadows_builtin(name: str, search: list[Layer]) -> bool:
    """Whether a built-in persona of ``name`` is among ``search``'s (a project's or your own of
    that name then replaces it)."""
    return any(
        layer.origin == "builtin" and (layer.folder / name / PERSONA_FILE).is_file()
        for layer in search
    )


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
    real = aliases(search).get(name)
    if real is not None:
        return load(real, search)
    known = available(search)
    raise NotFoundError(
        f"no persona named {name!r}",
        hint=did_you_mean(name, [*known, *aliases(search)])
        or "`nexus persona list` shows the available personas",
    )


def aliases(search: list[Layer]) -> dict[str, str]:
    """Other names people use for a persona (``architect`` for ``software-architect``), from the
    ``aliases`` key of each visible persona; a real persona's name always wins over an alias."""
    found: dict[str, str] = {}
    names = available(search)
    for name, layer in names.items():
        spec = parse_persona(layer.folder / name / PERSONA_FILE)
        for alias in spec.aliases:
            if alias not in names:
                found.setdefault(alias, name)
    return found


def load_all(search: list[Layer]) -> list[Persona]:
    return [load(name, search) for name in available(search)]


def _load_from(
    folder: Path, origin: str, search: list[Layer], index: int, chain: tuple[str, ...]
) -> Persona:
    if origin == "project":  # repository content: a committed link out is never read
        root = folder.parents[2]  # <root>/.nexus/personas/NAME
        try:
            fs.resolve_inside(root, (folder / PERSONA_FILE).relative_to(root), what="persona")
        except fs.PathEscapeError as exc:
            raise ConfigError(
                exc.message, hint="a project's personas must be folders inside it, not links out"
            ) from None
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


def complete_names(incomplete: str) -> list[str]:
    """Completion source: persona names visible from the current directory."""
    try:
        root: Path | None = find_project().checkout
    except NexusError:
        root = None
    return [n for n in available(layers(root)) if n.startswith(incomplete)]
