"""Workspace templates: a documented subset of the Compose file format plus an ``x-nexus`` section.

Templates are looked up in the project's ``.nexus/templates/``, then the user config folder's
``templates/``, then the templates shipped with Nexus; the first match wins. Every problem in a
template becomes a :class:`ConfigError` naming the file, the key and what was expected.
"""

from __future__ import annotations

import dataclasses
import os
import re
from pathlib import Path
from typing import Any

from nexus_cli import fs
from nexus_cli.config_yaml import load_yaml_mapping
from nexus_cli.errors import ConfigError, NexusError, NotFoundError, UsageError
from nexus_cli.paths import user_config_dir
from nexus_cli.project import find_project
from nexus_cli.resources import data_dir
from nexus_cli.suggest import did_you_mean
from nexus_cli.workspaces.compose import load_compose
from nexus_cli.workspaces.template_model import Template
from nexus_cli.workspaces.template_parsing import (
    parse_default_service,
    parse_files,
    parse_hooks,
    parse_host_ports,
    with_services,
)

TOP_KEYS = frozenset({"services", "volumes", "x-nexus", "name", "version"})
NEXUS_KEYS = frozenset(
    {
        "description",
        "variables",
        "files",
        "hooks",
        "default_service",
        "host_ports",
        "compose",
        "profiles",
    }
)
# Set by Nexus for each workspace (never by --var). A container hook's command keeps them as
# written until it runs (:func:`nexus_cli.workspaces.hook_exec.run_hooks`), so that what a
# person approves is one text for every workspace; their values are validated names.
BUILTIN_VARIABLES = ("NEXUS_WORKSPACE", "NEXUS_PROJECT_ID")
VARIABLE = re.compile(r"\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}")


def search_dirs(project_root: Path | None) -> list[tuple[str, Path]]:
    """Where templates come from, highest precedence first."""
    dirs: list[tuple[str, Path]] = []
    if project_root is not None:
        dirs.append(("project", project_root / ".nexus" / "templates"))
    dirs.append(("user", user_config_dir() / "templates"))
    dirs.append(("builtin", data_dir("templates")))
    return dirs


def is_builtin(name: str) -> bool:
    """Whether Nexus ships a template named ``name``."""
    folder = data_dir("templates")
    return any((folder / f"{name}{suffix}").is_file() for suffix in (".yaml", ".yml"))


def find_template_file(name: str, project_root: Path | None) -> tuple[str, Path]:
    for origin, folder in search_dirs(project_root):
        for suffix in (".yaml", ".yml"):
            candidate = folder / f"{name}{suffix}"
            if candidate.is_file():
                return origin, candidate
    names = sorted(available(project_root))
    known = ", ".join(names) or "none"
    raise NotFoundError(
        f"no template named {name!r}",
        hint=did_you_mean(name, names)
        or f"available templates: {known} (see `nexus template list`)",
    )


def available(project_root: Path | None) -> dict[str, tuple[str, Path]]:
    """Template name -> (origin, file), the first found in precedence order winning."""
    found: dict[str, tuple[str, Path]] = {}
    for origin, folder in search_dirs(project_root):
        if not folder.is_dir():
            continue
        for path in sorted(folder.iterdir()):
            if path.suffix in (".yaml", ".yml") and path.is_file():
                found.setdefault(path.stem, (origin, path))
    return found


def load_template(
    name: str,
    project_root: Path | None,
    values: dict[str, str] | None = None,
    *,
    names_only: bool = False,
) -> Template:
    """Find, read, substitute variables in, and validate the template ``name``. Without
    ``values`` (showing or listing it), or with ``names_only``, a Compose file it points at reads
    a variable it may not as unset (:func:`nexus_cli.workspaces.compose.load_compose`)."""
    origin, path = find_template_file(name, project_root)
    return parse_template_file(
        name,
        origin,
        path,
        values or {},
        strict=values is not None,
        project_root=project_root,
        lenient_env=True if names_only else None,
    )


def read_yaml(path: Path) -> dict[str, Any]:
    return load_yaml_mapping(path, what="template")


def resolve_in_worktree(
    worktree: Path, relative: str, *, template: Path, key: str, allow_root: bool = False
) -> Path:
    """``worktree / relative`` after symlinks; a :class:`ConfigError` naming file and key if it
    leaves the worktree (a committed ``seed -> /`` link, for example)."""
    try:
        return fs.resolve_inside(
            worktree, relative, what=f"{template}: {key}", allow_root=allow_root
        )
    except fs.PathEscapeError as exc:
        raise ConfigError(
            exc.message,
            hint="template paths must stay inside the worktree, symbolic links included",
        ) from None


def parse_template_file(
    name: str,
    origin: str,
    path: Path,
    values: dict[str, str],
    *,
    strict: bool,
    project_root: Path | None = None,
    lenient_env: bool | None = None,
) -> Template:
    """The template in ``path``. ``strict``: every variable must have a value (to create);
    otherwise (to show or list) unset ones may stay open, and a Compose file it points at reads
    a variable it may not as unset, as with ``lenient_env`` (default: ``not strict``)."""
    lenient = not strict if lenient_env is None else lenient_env
    _check_inside_project(origin, path, project_root)
    raw = read_yaml(path)
    unknown = set(raw) - TOP_KEYS
    if unknown:
        raise ConfigError(
            f"{path}: {sorted(unknown)[0]}: unsupported top-level key; expected one of "
            f"{', '.join(sorted(TOP_KEYS))}"
        )
    _check_volume_declarations(raw.get("volumes"), path)
    nexus = _mapping(raw.get("x-nexus"), path, "x-nexus")
    bad = set(nexus) - NEXUS_KEYS
    if bad:
        raise ConfigError(
            f"{path}: x-nexus.{sorted(bad)[0]}: unsupported key; expected one of "
            f"{', '.join(sorted(NEXUS_KEYS))}"
        )
    variables = _parse_variables(nexus.get("variables"), path)
    resolved = _resolve_values(variables, values, path, strict=strict)
    data = substitute(raw, resolved, path)
    hooks = nexus.get("hooks")
    nexus = _mapping(data.get("x-nexus"), path, "x-nexus")
    if hooks is not None:  # the workspace's own names are filled in when a hook runs
        kept = {**resolved, **{key: f"${{{key}}}" for key in BUILTIN_VARIABLES}}
        nexus = {**nexus, "hooks": substitute(hooks, kept, path)}
    services_raw = _mapping(data.get("services"), path, "services")
    description = str(nexus.get("description", ""))
    base = Template(
        name,
        path,
        origin,
        description,
        variables=variables,
        host_ports=parse_host_ports(nexus.get("host_ports"), path),
    )
    if nexus.get("compose") is not None:
        return _from_compose(base, nexus, services_raw, project_root, resolved, lenient)
    if not services_raw and all(
        nexus.get(k) is None for k in ("files", "hooks", "default_service")
    ):
        return base  # worktree (and host ports) only
    return with_services(base, nexus, services_raw)


def _check_inside_project(origin: str, path: Path, project_root: Path | None) -> None:
    """A project's template file is repository content: a committed link (the file, or the
    ``.nexus/templates`` folder) that leads out of the project is refused, never read."""
    if origin != "project" or project_root is None:
        return
    folder = Path(project_root) / ".nexus" / "templates"
    if path.parent != folder:
        return  # not one of the project's (the import's trial copy)
    try:
        fs.resolve_inside(project_root, os.path.relpath(path, project_root), what="template")
    except fs.PathEscapeError as exc:
        raise ConfigError(
            exc.message, hint="a project's templates must be files inside it, not links out"
        ) from None


def _from_compose(
    base: Template,
    nexus: dict[str, Any],
    services_raw: dict[str, Any],
    project_root: Path | None,
    values: dict[str, str],
    lenient_env: bool,
) -> Template:
    """``base`` with the services of the project's Compose file ``x-nexus.compose`` (its
    ``x-nexus.profiles`` selected) and the template's own files, hooks and default service."""
    path, compose = base.path, nexus["compose"]
    if services_raw:
        raise ConfigError(
            f"{path}: services: a template with x-nexus.compose takes its services from that file"
        )
    if not isinstance(compose, str) or project_root is None:
        raise ConfigError(f"{path}: x-nexus.compose: expected a path inside the project")
    profiles = nexus.get("profiles") or []
    if not isinstance(profiles, list) or not all(isinstance(p, str) for p in profiles):
        raise ConfigError(f"{path}: x-nexus.profiles: expected a list of profile names")
    loaded = load_compose(
        project_root,
        compose,
        profiles=profiles,
        values=values,
        name=base.name,
        origin=base.origin,
        description=base.description,
        lenient_env=lenient_env,
    )
    services = loaded.services
    return dataclasses.replace(
        base,
        services=services,
        files=parse_files(nexus.get("files"), path),
        hooks=parse_hooks(nexus.get("hooks"), path, services),
        default_service=parse_default_service(nexus.get("default_service"), path, services),
    )


def _check_volume_declarations(value: Any, path: Path) -> None:
    """The top-level ``volumes:`` may only name volumes (``data:`` or ``data: {}``): a driver,
    its options (``driver_opts: {type: none, o: bind, device: /}`` mounts any host folder),
    ``external`` or ``name`` (another project's volume) are refused, never silently dropped."""
    for name, spec in _mapping(value, path, "volumes").items():
        if spec is None or spec == {}:
            continue
        key = f"volumes.{name}"
        if isinstance(spec, dict):
            key = f"{key}.{sorted(str(k) for k in spec)[0]}"
        raise ConfigError(
            f"{path}: {key}: a template declares a volume by name only; drivers, driver_opts, "
            "external and name are not supported (each workspace gets volumes of its own)"
        )


def _mapping(value: Any, path: Path, key: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: {key}: expected a mapping, got {type(value).__name__}")
    return value


def _parse_variables(value: Any, path: Path) -> dict[str, str | None]:
    result: dict[str, str | None] = {}
    for key, spec in _mapping(value, path, "x-nexus.variables").items():
        if not re.match(r"^[A-Za-z_][A-Za-z0-9_]*\Z", str(key)):
            raise ConfigError(f"{path}: x-nexus.variables.{key}: expected an identifier name")
        if isinstance(spec, dict):
            default = spec.get("default")
            result[str(key)] = None if default is None else str(default)
        elif spec is None:
            result[str(key)] = None
        elif isinstance(spec, str | int | float | bool):
            result[str(key)] = str(spec)
        else:
            raise ConfigError(
                f"{path}: x-nexus.variables.{key}: expected a default value or a mapping with 'default'"
            )
    return result


def _resolve_values(
    variables: dict[str, str | None], values: dict[str, str], path: Path, *, strict: bool
) -> dict[str, str]:
    builtin = set(BUILTIN_VARIABLES)
    unknown = sorted(set(values) - set(variables) - builtin)
    if unknown:
        known = ", ".join(sorted(variables)) or "none"
        raise UsageError(
            f"template {path.stem!r} has no variable {unknown[0]!r}", hint=f"its variables: {known}"
        )
    resolved: dict[str, str] = {}
    for key, default in variables.items():
        if key in values:
            resolved[key] = values[key]
        elif default is not None:
            resolved[key] = default
        elif strict:
            raise UsageError(
                f"template {path.stem!r} needs a value for {key!r}", hint=f"pass --var {key}=VALUE"
            )
    for key in builtin:
        if key in values:
            resolved[key] = values[key]
    return resolved


def substitute(value: Any, values: dict[str, str], path: Path) -> Any:
    """Replace ``${NAME}`` and ``${NAME:-default}`` in every string of ``value``."""
    if isinstance(value, str):

        def replace(match: re.Match[str]) -> str:
            key, default = match.group(1), match.group(2)
            if key in values:
                return values[key]
            if default is not None:
                return default
            return match.group(0)

        return VARIABLE.sub(replace, value)
    if isinstance(value, list):
        return [substitute(v, values, path) for v in value]
    if isinstance(value, dict):
        return {k: substitute(v, values, path) for k, v in value.items()}
    return value


def complete_templates(incomplete: str) -> list[str]:
    """Shell completion source for template names (see :mod:`nexus_cli.completion`); here, not
    in :mod:`.records`, so that reading workspace records loads no template parser."""
    try:
        root: Path | None = find_project().root
    except NexusError:
        root = None
    return sorted(n for n in available(root) if n.startswith(incomplete))
