"""Reading one ``persona.yaml``: every malformed key is a ConfigError naming the file and key."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli.config_yaml import parse_yaml
from nexus_cli.errors import ConfigError
from nexus_cli.personas.model import (
    KNOWN_KEYS,
    NAME_RE,
    PERMISSION_KEYS,
    InstallFile,
    Level,
    Permissions,
    Persona,
    persona_path,
)
from nexus_cli.personas.safety import check_relative


@dataclass(frozen=True)
class PersonaSpec:
    """The validated content of a persona.yaml, before files are looked up."""

    path: Path
    data: dict[str, Any]

    @property
    def extends(self) -> str | None:
        value = self.data.get("extends")
        return value if isinstance(value, str) else None

    @property
    def aliases(self) -> tuple[str, ...]:
        return tuple(self.data.get("aliases") or ())

    def build(self, folder: Path, origin: str) -> Persona:
        data = self.data
        name = data["name"]
        levels = {
            key: _level(folder, key, value) for key, value in (data.get("levels") or {}).items()
        }
        default_level = data.get("default_level")
        if default_level is not None and default_level not in levels:
            raise ConfigError(f"{self.path}: key 'default_level' names unknown level")
        return Persona(
            name=name,
            display_name=data.get("display_name") or name,
            description=data.get("description") or "",
            origin=origin,
            folder=folder,
            extends=self.extends,
            instructions=_instructions(folder, data.get("instructions"), "instructions"),
            commands=_commands(folder, data.get("commands"), "commands"),
            files=_files(folder, data.get("files")),
            permissions=_permissions(self.path, data.get("permissions"), "permissions"),
            environment=data.get("environment") or {},
            levels=levels,
            default_level=default_level,
            always=bool(data.get("always", False)),
            globs=tuple(data.get("globs") or ()),
        )


def parse_persona(path: Path) -> PersonaSpec:
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read: {exc}") from None
    data = parse_yaml(text, path, what="persona file")
    if not isinstance(data, dict):
        raise ConfigError(f"{path}: expected a mapping at the top level")
    _validate(path, data)
    return PersonaSpec(path, data)


def _fail(path: Path, key: str, why: str) -> ConfigError:
    return ConfigError(f"{path}: key {key!r} {why}")


def _validate(path: Path, data: dict[str, Any]) -> None:
    unknown = sorted(set(map(str, data)) - KNOWN_KEYS)
    if unknown:
        raise _fail(
            path, unknown[0], f"is not a persona key (known: {', '.join(sorted(KNOWN_KEYS))})"
        )
    name = data.get("name")
    if not isinstance(name, str) or not NAME_RE.match(name):
        raise _fail(path, "name", "must be a lowercase name (letters, digits, -)")
    if name != path.parent.name:
        raise _fail(path, "name", f"is {name!r} but the folder is {path.parent.name!r}")
    for key in ("display_name", "description", "extends", "instructions", "default_level"):
        if data.get(key) is not None and not isinstance(data[key], str):
            raise _fail(path, key, "must be a string")
    _check_list(path, data.get("aliases"), "aliases")
    for alias in data.get("aliases") or []:
        if not NAME_RE.match(alias) or alias == name:
            raise _fail(path, "aliases", f"has {alias!r}: an alias is another lowercase name")
    _check_list(path, data.get("commands"), "commands")
    if data.get("always") is not None and not isinstance(data["always"], bool):
        raise _fail(path, "always", "must be true or false")
    _check_list(path, data.get("globs"), "globs")
    for glob in data.get("globs") or []:
        if not glob or any(c in glob for c in ',"\n\r\x00') or glob.startswith("/"):
            raise _fail(
                path, "globs", f"has an unusable pattern {glob!r} (relative, no commas or quotes)"
            )
    env = data.get("environment")
    if env is not None and not (
        isinstance(env, dict)
        and all(isinstance(k, str) and isinstance(v, str) for k, v in env.items())
    ):
        raise _fail(path, "environment", "must map names to strings (quote numbers)")
    files = data.get("files")
    if files is not None and not isinstance(files, list):
        raise _fail(path, "files", "must be a list of {source, target}")
    for i, item in enumerate(files or []):
        if not isinstance(item, dict) or not isinstance(item.get("source"), str):
            raise _fail(path, f"files[{i}].source", "must be a relative file path")
        target = item.get("target", item["source"])
        if not isinstance(target, str):
            raise _fail(path, f"files[{i}].target", "must be a relative path")
        check_relative(target, f"{path}: key 'files[{i}].target'")
    _check_permissions(path, data.get("permissions"), "permissions")
    levels = data.get("levels")
    if levels is not None and not isinstance(levels, dict):
        raise _fail(path, "levels", "must map level names to settings")
    for level, value in (levels or {}).items():
        if not isinstance(value, dict):
            raise _fail(path, f"levels.{level}", "must be a mapping")
        _check_list(path, value.get("commands"), f"levels.{level}.commands")
        _check_permissions(path, value.get("permissions"), f"levels.{level}.permissions")
        for key in ("description", "instructions"):
            if value.get(key) is not None and not isinstance(value[key], str):
                raise _fail(path, f"levels.{level}.{key}", "must be a string")


def _check_list(path: Path, value: Any, key: str) -> None:
    if value is not None and not (
        isinstance(value, list) and all(isinstance(v, str) for v in value)
    ):
        raise _fail(path, key, "must be a list of strings")


def _check_permissions(path: Path, value: Any, key: str) -> None:
    if value is None:
        return
    if not isinstance(value, dict):
        raise _fail(path, key, "must be a mapping with allow/ask/deny (or block)")
    for sub, rules in value.items():
        if sub not in (*PERMISSION_KEYS, "block"):
            raise _fail(path, f"{key}.{sub}", "is not one of allow, ask, deny, block")
        _check_list(path, rules, f"{key}.{sub}")


def _permissions(path: Path, value: Any, key: str) -> Permissions:
    if not value:
        return Permissions()
    deny = [*(value.get("deny") or []), *(value.get("block") or [])]
    return Permissions(
        tuple(dict.fromkeys(value.get("allow") or [])),
        tuple(dict.fromkeys(value.get("ask") or [])),
        tuple(dict.fromkeys(deny)),
    )


def _instructions(folder: Path, rel: Any, key: str) -> str:
    if rel is None:
        return ""
    return persona_path(folder, rel, key).read_text(encoding="utf-8")


def _commands(folder: Path, value: Any, key: str) -> tuple[Path, ...]:
    paths = tuple(persona_path(folder, rel, key) for rel in value or [])
    for p in paths:
        if p.suffix != ".md":
            raise ConfigError(f"{folder / 'persona.yaml'}: key {key!r}: {p.name} is not a .md file")
    return paths


def _files(folder: Path, value: Any) -> tuple[InstallFile, ...]:
    out = []
    for i, item in enumerate(value or []):
        source = persona_path(folder, item["source"], f"files[{i}].source")
        target = check_relative(item.get("target", item["source"]), f"files[{i}].target")
        out.append(InstallFile(source, target))
    return tuple(out)


def _level(folder: Path, name: str, value: dict[str, Any]) -> Level:
    key = f"levels.{name}"
    return Level(
        name=name,
        description=value.get("description") or "",
        instructions=_instructions(folder, value.get("instructions"), f"{key}.instructions"),
        commands=_commands(folder, value.get("commands"), f"{key}.commands"),
        permissions=_permissions(folder, value.get("permissions"), f"{key}.permissions"),
    )
