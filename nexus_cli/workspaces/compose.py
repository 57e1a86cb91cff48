"""A project's own Compose file, run as a workspace template.

``nexus workspace create NAME --compose compose.yaml`` (or a template with
``x-nexus.compose: compose.yaml``) reads the project's Compose file and translates it into the
template model (:class:`template_model.Template`): the same runner then starts it with Nexus's
port allocation, one network and volumes per workspace, and the trust rules of the template
format. No ``docker compose`` is needed or used.

The file is repository content, so untrusted: it is found inside the project after symlinks,
read through :mod:`nexus_cli.config_yaml`, and every key Nexus does not run is named in one
error (file and keys) instead of being dropped. ``extends`` files and ``env_file`` paths must
resolve inside the project too. :mod:`compose_keys` says which keys are supported,
:mod:`compose_service` translates one service.
"""

from __future__ import annotations

import dataclasses
import os
import posixpath
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

from nexus_cli import fs
from nexus_cli.config_yaml import load_yaml_mapping
from nexus_cli.errors import ConfigError, UsageError
from nexus_cli.workspaces import compose_runtime
from nexus_cli.workspaces.compose_context import Context
from nexus_cli.workspaces.compose_depends import link_aliases
from nexus_cli.workspaces.compose_interpolation import interpolate
from nexus_cli.workspaces.compose_keys import PROFILE, unsupported_keys, without_extensions
from nexus_cli.workspaces.compose_service import read_env_file, translate
from nexus_cli.workspaces.service_parsing import check_dependencies
from nexus_cli.workspaces.template_model import Template

WHAT = "Compose file"
MAX_EXTENDS = 10  # how deep ``extends`` may chain
MAX_BYTES = 4 << 20  # a Compose file (or an ``extends`` file) larger than this is refused
# Lists that an ``extends`` adds up (base first); other values of the extending service win.
MERGED_LISTS = ("ports", "expose", "volumes", "env_file", "profiles")


def load_compose(
    project_root: Path,
    relative: str,
    *,
    profiles: Sequence[str] = (),
    values: Mapping[str, str] | None = None,
    name: str = "compose",
    origin: str = "project",
    description: str = "",
    lenient_env: bool = False,
) -> Template:
    """The Compose file ``relative`` (to ``project_root``) as a template with its services.

    ``profiles`` selects the services with a ``profiles:`` list (services without one always
    run); ``values`` (``NEXUS_WORKSPACE``/``NEXUS_PROJECT_ID`` when a workspace is known) win
    over the user's environment in ``${VAR}``. ``lenient_env`` is for callers that need only
    the services' names (`exec`, `down`, `template show`): a variable the file may not read
    (:class:`HostEnvironment`) reads as unset there instead of failing.
    """
    path = compose_path(project_root, relative)
    compose_dir = _relative_dir(project_root, path)
    beside = HostEnvironment(values or {}, path.parent / ".env", lenient=lenient_env)
    project_values = dot_env(project_root, compose_dir, path, beside)
    env = HostEnvironment(values or {}, path, project_values, lenient=lenient_env)
    raw = interpolate(_load(path), env, path)
    services_raw = raw.get("services")
    if not isinstance(services_raw, dict) or not services_raw:
        raise ConfigError(f"{path}: services: expected a mapping with at least one service")
    services = {
        str(key): _extended(str(key), services_raw, path, project_root, compose_dir, env, 0)
        for key in services_raw
    }
    problems = unsupported_keys({**raw, "services": services})
    if problems:
        raise ConfigError(
            f"{path}: not supported: {', '.join(problems)}",
            hint="remove these keys or use a Nexus template (docs/workspaces.md, "
            "'Your own Compose file', lists what is supported)",
        )
    services = {key: without_extensions(spec) for key, spec in services.items()}
    active = _select(services, profiles, path)
    files = {kind: raw[kind] for kind in ("secrets", "configs") if isinstance(raw.get(kind), dict)}
    context = Context(path, project_root, compose_dir, env, set(active), set(services), files)
    context = dataclasses.replace(context, link_aliases=link_aliases(active, context))
    specs = {key: translate(key, spec, context) for key, spec in active.items()}
    compose_runtime.check_aliases(specs, path)
    template = Template(name, path, origin, description, services=specs)
    check_dependencies(template)
    template.start_order()
    return template


# The user's environment variables a Compose file may read, by name, comma-separated: a file in a
# repository is not the user's, and `image: registry.example/x:${GITHUB_TOKEN}` would send the
# token with the pull (docs/workspaces.md, "Your own Compose file").
PASS_ENV = "NEXUS_COMPOSE_ENV"


class HostEnvironment(Mapping[str, str]):
    """What ``${VAR}`` and ``environment: [NAME]`` read, first found first: Nexus's own values
    (the workspace's name and project id), the user's environment variables named in
    ``NEXUS_COMPOSE_ENV``, then the project's ``.env`` beside the file. Reading any other
    variable that is set in the user's environment is a :class:`ConfigError` naming it; one that
    is not set reads as unset, as in Compose (empty, or the ``${VAR:-default}``)."""

    def __init__(
        self,
        values: Mapping[str, str],
        path: Path,
        project: Mapping[str, str] | None = None,
        *,
        lenient: bool = False,
    ) -> None:
        self._values, self._project, self._path = dict(values), dict(project or {}), path
        self._lenient = lenient  # a variable it may not read reads as unset, without an error
        listed = os.environ.get(PASS_ENV, "").split(",")
        self._allowed = {name.strip() for name in listed if name.strip()}

    def __getitem__(self, key: str) -> str:
        if key in self._values:
            return self._values[key]
        if key in self._allowed and key in os.environ:
            return os.environ[key]
        if key in self._project:
            return self._project[key]
        if key not in os.environ or self._lenient:
            raise KeyError(key)
        raise ConfigError(
            f"{self._path}: reads ${key} from your environment; a {WHAT} reads only the "
            "variables you name",
            hint=f"if it may, name it: {PASS_ENV}={key} (several: comma-separated)",
        )

    def __iter__(self) -> Iterator[str]:
        allowed = [name for name in sorted(self._allowed) if name in os.environ]
        return iter(dict.fromkeys([*self._values, *allowed, *self._project]))

    def __len__(self) -> int:
        return sum(1 for _ in self)


def dot_env(
    project_root: Path, compose_dir: str, path: Path, lookup: Mapping[str, str] | None = None
) -> dict[str, str]:
    """The ``.env`` file beside the Compose file, which Compose reads for ``${VAR}``: the
    project's own values (inside the project after symbolic links, or refused), so unlike your
    environment's they need no naming; a variable named in ``NEXUS_COMPOSE_ENV`` and set in your
    environment wins over it, as your environment wins in Compose. Its values are interpolated
    from its earlier lines, then ``lookup`` (:func:`read_env_file`)."""
    try:
        found = fs.resolve_inside(
            project_root, posixpath.join(compose_dir, ".env"), what=f"{path.parent / '.env'}"
        )
    except fs.PathEscapeError as exc:
        raise ConfigError(exc.message, hint="Compose paths must stay inside the project") from None
    return read_env_file(found, lookup) if found.is_file() else {}


def compose_path(project_root: Path, relative: str) -> Path:
    """The Compose file inside the project (symlinks resolved); a clear error otherwise."""
    try:
        path = fs.resolve_inside(project_root, relative, what=f"{WHAT} {relative!r}")
    except fs.PathEscapeError as exc:
        raise UsageError(exc.message, hint="give a path inside the project") from None
    if not path.is_file():
        raise UsageError(f"{WHAT} {relative!r} not found in {project_root}")
    return path


def _load(path: Path) -> dict[str, Any]:
    """The file's mapping; one larger than :data:`MAX_BYTES` is refused before it is read."""
    if not path.is_file() or path.stat().st_size > MAX_BYTES:
        raise ConfigError(
            f"{path}: expected a {WHAT} (a plain file of at most {MAX_BYTES:,} bytes)"
        )
    return load_yaml_mapping(path, what=WHAT)


def _relative_dir(project_root: Path, path: Path) -> str:
    """The folder of ``path`` relative to the project root, in POSIX form ("" for the root)."""
    rel = os.path.relpath(path.parent, os.path.realpath(project_root))
    return "" if rel == "." else Path(rel).as_posix()


def _select(
    services: dict[str, dict[str, Any]], profiles: Sequence[str], path: Path
) -> dict[str, dict[str, Any]]:
    """The services that run: those without ``profiles`` and those in a selected profile."""
    for profile in profiles:
        if not PROFILE.match(profile):
            raise UsageError(f"{profile!r} is not a profile name")
    known = {str(p) for spec in services.values() for p in spec.get("profiles") or []}
    for profile in profiles:
        if profile not in known:
            raise UsageError(
                f"{path}: no service has the profile {profile!r}",
                hint=f"profiles in this file: {', '.join(sorted(known)) or 'none'}",
            )
    active = {
        key: spec
        for key, spec in services.items()
        if not spec.get("profiles") or set(map(str, spec["profiles"])) & set(profiles)
    }
    if not active:  # as `docker compose up` ("no service selected")
        raise UsageError(
            f"{path}: no service selected: every service has a profile",
            hint=f"choose one with --profile ({', '.join(sorted(known))})",
        )
    return active


def _extended(
    key: str,
    services: dict[str, Any],
    path: Path,
    project_root: Path,
    compose_dir: str,
    env: Mapping[str, str],
    depth: int,
) -> dict[str, Any]:
    """Service ``key`` with what its ``extends`` names merged under it (Compose's rules:
    mappings merge, the lists in :data:`MERGED_LISTS` add up, other values are replaced;
    ``depends_on`` is not inherited). Paths of a base in another folder are rebased."""
    spec = services.get(key)
    if not isinstance(spec, dict):
        raise ConfigError(f"{path}: services.{key}: expected a mapping")
    extends = spec.get("extends")
    if extends is None:
        return spec
    where = f"{path}: services.{key}.extends"
    if depth >= MAX_EXTENDS:
        raise ConfigError(f"{where}: more than {MAX_EXTENDS} levels (a cycle?)")
    if isinstance(extends, str):
        extends = {"service": extends}
    if not isinstance(extends, dict) or set(extends) - {"service", "file"}:
        raise ConfigError(f"{where}: expected a service name or {{service, file}}")
    base_name = str(extends.get("service", ""))
    base_path, base_dir, base_services = path, compose_dir, services
    if extends.get("file") is not None:
        rel = posixpath.normpath(posixpath.join(compose_dir, str(extends["file"])))
        try:
            base_path = fs.resolve_inside(project_root, rel, what=f"{where}.file")
        except fs.PathEscapeError as exc:
            raise ConfigError(
                exc.message, hint="extends files must be inside the project"
            ) from None
        base_dir = _relative_dir(project_root, base_path)
        other = interpolate(_load(base_path), env, base_path)
        base_services = other.get("services") if isinstance(other.get("services"), dict) else {}
    elif base_name == key:
        raise ConfigError(f"{where}: a service cannot extend itself")
    if base_name not in base_services:
        raise ConfigError(f"{where}: no service {base_name!r} in {base_path}")
    base = _extended(base_name, base_services, base_path, project_root, base_dir, env, depth + 1)
    base = rebase(base, base_dir, compose_dir)
    base.pop("depends_on", None)
    own = {k: v for k, v in spec.items() if k != "extends"}
    return merge(base, own)


def merge(base: dict[str, Any], own: dict[str, Any]) -> dict[str, Any]:
    """``own`` over ``base`` the way Compose merges an extended service."""
    result = dict(base)
    for key, value in own.items():
        old = result.get(key)
        if key == "environment":
            result[key] = {**_env_mapping(old), **_env_mapping(value)}
        elif key in MERGED_LISTS and isinstance(old, list) and isinstance(value, list):
            result[key] = old + [v for v in value if v not in old]
        elif isinstance(old, dict) and isinstance(value, dict):
            result[key] = merge(old, value)
        else:
            result[key] = value
    return result


def _env_mapping(value: Any) -> dict[str, Any]:
    if isinstance(value, dict):
        return dict(value)
    if isinstance(value, list):
        pairs = [str(item).partition("=") for item in value]
        return {k: (v if sep else None) for k, sep, v in pairs}
    return {}


def rebase(spec: dict[str, Any], from_dir: str, to_dir: str) -> dict[str, Any]:
    """``spec`` (a service of a file in ``from_dir``) with its relative paths (build context,
    env files, ``./`` bind sources) made relative to ``to_dir``. Both are project-relative."""
    if from_dir == to_dir:
        return dict(spec)

    def move(rel: str) -> str:
        joined = posixpath.normpath(posixpath.join(from_dir, rel))
        return posixpath.relpath(joined, to_dir or ".")

    result = dict(spec)
    build = result.get("build")
    if isinstance(build, str):
        result["build"] = move(build)
    elif isinstance(build, dict):
        result["build"] = {**build, "context": move(str(build.get("context", ".")))}
    env_file = result.get("env_file")
    if isinstance(env_file, str):
        result["env_file"] = move(env_file)
    elif isinstance(env_file, list):
        result["env_file"] = [
            {**e, "path": move(str(e.get("path")))} if isinstance(e, dict) else move(str(e))
            for e in env_file
        ]
    volumes = result.get("volumes")
    if isinstance(volumes, list):
        result["volumes"] = [_move_volume(v, move) for v in volumes]
    return result


def _move_volume(volume: Any, move: Any) -> Any:
    if isinstance(volume, str) and volume.startswith("."):
        source, sep, rest = volume.partition(":")
        return f"./{move(source)}{sep}{rest}"
    if isinstance(volume, dict) and str(volume.get("source", "")).startswith("."):
        return {**volume, "source": f"./{move(str(volume['source']))}"}
    return volume
