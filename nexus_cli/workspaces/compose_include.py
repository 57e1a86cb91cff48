"""A Compose file with what its ``include`` brings: the top-level ``include`` of Compose 2.20.

Each entry names one file (``- other/compose.yaml`` or ``- path: FILE``, with an optional
``project_directory`` and ``env_file``), read as Compose reads it (``ApplyInclude`` in
compose-spec/compose-go loader/include.go): as a project of its own, whose relative paths start
at its project directory (by default the included file's folder) and whose ``${VAR}`` read its
own ``.env`` (or its ``env_file``s) after the including file's values, which win. Its services,
volumes, networks, secrets and configs are then added to the including file's; one of the same
name that differs is an error (an equal one is kept once). An included file may include others;
a cycle is refused.

Every path (the file, its project directory, its env files) is repository content: it must
resolve inside the project after symbolic links, as ``extends`` files must. A list of override
files in ``path`` is refused with a clear error rather than merged otherwise than Compose does.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli.errors import ConfigError
from nexus_cli.workspaces.compose_environment import HostEnvironment, dot_env
from nexus_cli.workspaces.compose_extends import (
    Files,
    extended,
    moved,
    rebase,
    relative_dir,
    relative_folder,
)
from nexus_cli.workspaces.compose_keys import unsupported_keys
from nexus_cli.workspaces.compose_service import read_env_file

ENTRY_KEYS = frozenset({"path", "project_directory", "env_file"})
RESOURCES = ("services", "volumes", "networks", "secrets", "configs")
MAX_DEPTH = 10  # files including files
INCLUDED = "included files"  # what their paths are called in a hint
UNSUPPORTED_HINT = (
    "remove these keys or use a Nexus template (docs/workspaces.md, 'Your own Compose file', "
    "lists what is supported)"
)


@dataclass
class Reading:
    """One Compose project being read: what its files are read with, and what was found."""

    project_root: Path
    values: Mapping[str, str]  # Nexus's own ${VAR} values (the workspace's name, project id)
    lenient: bool  # a variable the file may not read reads as unset (:class:`HostEnvironment`)
    files: Files = field(init=False)  # what was read, and how many
    # each service -> the environment its own file reads: what a name in its ``environment``
    # without a value, and its ``env_file``s, read (an included file's, its own ``.env`` too)
    envs: dict[str, Mapping[str, str]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.files = Files(self.project_root)

    def environment(self, path: Path, project: Mapping[str, str]) -> HostEnvironment:
        return HostEnvironment(self.values, path, project, lenient=self.lenient)


def document(
    path: Path,
    work_dir: str,
    project_values: Mapping[str, str],
    reading: Reading,
    chain: tuple[Path, ...] = (),
) -> dict[str, Any]:
    """The Compose file ``path`` interpolated, its services' ``extends`` merged and what it
    includes added. Its relative paths start at ``work_dir`` (project-relative); ``chain`` is
    the files that include it, outermost first."""
    env = reading.environment(path, project_values)
    raw = reading.files.read(path, env)
    services = raw.get("services")
    if services is None and "include" in raw:
        services = {}
    if not isinstance(services, dict):
        raise ConfigError(f"{path}: services: expected a mapping of services")
    found = {
        str(key): extended(str(key), services, path, reading.files, work_dir, env, 0)
        for key in services
    }
    for key in found:
        reading.envs.setdefault(key, env)
    own = {**raw, "services": found}
    return _with_included(own, path, work_dir, project_values, reading, chain)


def _with_included(
    own: dict[str, Any],
    path: Path,
    work_dir: str,
    project_values: Mapping[str, str],
    reading: Reading,
    chain: tuple[Path, ...],
) -> dict[str, Any]:
    entries = own.get("include")
    result = {key: value for key, value in own.items() if key != "include"}
    if entries is None:
        return result
    if not isinstance(entries, list):
        raise ConfigError(f"{path}: include: expected a list of files")
    for i, entry in enumerate(entries):
        where = f"{path}: include[{i}]"
        source, imported = _included(
            entry, where, work_dir, project_values, reading, (*chain, path)
        )
        for kind in RESOURCES:
            into = dict(result.get(kind) or {})
            for name, spec in (imported.get(kind) or {}).items():
                if name in into and into[name] != spec:
                    raise ConfigError(
                        f"{where}: {kind}.{name} of {source} differs from the one defined "
                        "before it",
                        hint="give one of them another name (Compose refuses it too)",
                    )
                into[name] = spec
            if into or kind in result:
                result[kind] = into
    return result


def _included(
    entry: Any,
    where: str,
    work_dir: str,
    project_values: Mapping[str, str],
    reading: Reading,
    chain: tuple[Path, ...],
) -> tuple[Path, dict[str, Any]]:
    """The file one ``include`` entry names, and its resources with paths relative to
    ``work_dir`` (the including project's directory)."""
    root, files = reading.project_root, reading.files
    if isinstance(entry, str):
        entry = {"path": entry}
    if not isinstance(entry, dict) or not set(entry) <= ENTRY_KEYS:
        raise ConfigError(f"{where}: expected a file, or {{path, project_directory, env_file}}")
    paths = entry.get("path")
    if isinstance(paths, list) and len(paths) == 1:
        paths = paths[0]
    if isinstance(paths, list):
        raise ConfigError(
            f"{where}.path: expected one file (a list of override files is not supported)",
            hint="merge the overrides into the included file, or include each file on its own",
        )
    if not isinstance(paths, str) or not paths:
        raise ConfigError(f"{where}.path: expected a Compose file in the project")
    file = files.inside(work_dir, paths, f"{where}.path", INCLUDED)
    if not file.is_file():
        raise ConfigError(f"{where}.path: {paths!r} is not a file in the project")
    if file in chain:
        cycle = " -> ".join(str(p) for p in (*chain[chain.index(file) :], file))
        raise ConfigError(f"{where}: an include cycle: {cycle}")
    if len(chain) > MAX_DEPTH:
        raise ConfigError(f"{where}: more than {MAX_DEPTH} levels of include")
    own_dir = relative_dir(root, file)
    if entry.get("project_directory") is not None:
        folder = files.inside(
            work_dir, str(entry["project_directory"]), f"{where}.project_directory", INCLUDED
        )
        if not folder.is_dir():
            raise ConfigError(f"{where}.project_directory: expected a folder in the project")
        own_dir = relative_folder(root, folder)
    lookup = reading.environment(file, project_values)
    own_values = _env_files(entry.get("env_file"), where, work_dir, own_dir, file, reading, lookup)
    # the including file's values win over the included file's own (compose-go's Mapping.Merge)
    values = {**own_values, **project_values}
    included = document(file, own_dir, values, reading, chain)
    problems = unsupported_keys(included)
    if problems:
        raise ConfigError(f"{file}: not supported: {', '.join(problems)}", hint=UNSUPPORTED_HINT)
    for kind in RESOURCES:
        if not isinstance(included.get(kind) or {}, dict):
            raise ConfigError(f"{file}: {kind}: expected a mapping of names")
    result = dict(included)
    result["services"] = {
        name: rebase(spec, own_dir, work_dir) for name, spec in included["services"].items()
    }
    for kind in ("secrets", "configs"):
        if included.get(kind):
            result[kind] = _files_rebased(included[kind], own_dir, work_dir)
    return file, result


def _env_files(
    value: Any,
    where: str,
    work_dir: str,
    own_dir: str,
    file: Path,
    reading: Reading,
    lookup: Mapping[str, str],
) -> dict[str, str]:
    """The included project's own ``${VAR}`` values: its ``env_file``s (relative to the
    including project's directory, each required), else the ``.env`` in its directory."""
    if value is None:
        return dot_env(reading.project_root, own_dir, file, lookup)
    names = [value] if isinstance(value, str) else value
    if not isinstance(names, list) or not all(isinstance(n, str) and n for n in names):
        raise ConfigError(f"{where}.env_file: expected a file or a list of files")
    result: dict[str, str] = {}
    for name in names:
        found = reading.files.inside(work_dir, name, f"{where}.env_file", INCLUDED)
        if not found.is_file():
            raise ConfigError(f"{where}.env_file: {name!r} is not a file in the project")
        result.update(read_env_file(found, lookup))
    return result


def _files_rebased(declared: Any, from_dir: str, to_dir: str) -> Any:
    """Top-level ``secrets``/``configs`` with their ``file`` relative to ``to_dir``."""
    if not isinstance(declared, dict):
        return declared
    result: dict[str, Any] = {}
    for name, spec in declared.items():
        if isinstance(spec, dict) and isinstance(spec.get("file"), str):
            spec = {**spec, "file": moved(spec["file"], from_dir, to_dir)}
        result[name] = spec
    return result
