"""One file of a Compose project: read (inside the project, at most :data:`MAX_BYTES`), and its
services' ``extends`` merged as Compose merges them, with the relative paths of a base in another
folder rebased (:func:`rebase`, which ``include`` uses too: :mod:`compose_include`)."""

from __future__ import annotations

import os
import posixpath
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nexus_cli import fs
from nexus_cli.config_yaml import load_yaml_mapping
from nexus_cli.errors import ConfigError
from nexus_cli.workspaces.compose_environment import WHAT
from nexus_cli.workspaces.compose_interpolation import interpolate

MAX_EXTENDS = 10  # how deep ``extends`` may chain
MAX_BYTES = 4 << 20  # a Compose file (or an ``extends`` or included file) larger is refused
# Files one project may be read from, each with one environment: ``extends`` and ``include`` can
# fan out (a file including another ten times, which includes another ten times, ...), and a
# repository's files must not keep a command busy without end.
MAX_FILES = 100
# Lists that an ``extends`` adds up (base first); other values of the extending service win.
MERGED_LISTS = ("ports", "expose", "volumes", "env_file", "profiles")


def load_file(path: Path) -> dict[str, Any]:
    """The file's mapping; one larger than :data:`MAX_BYTES` is refused before it is read."""
    if not path.is_file() or path.stat().st_size > MAX_BYTES:
        raise ConfigError(
            f"{path}: expected a {WHAT} (a plain file of at most {MAX_BYTES:,} bytes)"
        )
    return load_yaml_mapping(path, what=WHAT)


class Files:
    """The files one Compose project is read from, each read and interpolated once per
    environment; more than :data:`MAX_FILES` of them is an error. What :meth:`read` returns is
    shared: callers build new mappings instead of changing it."""

    def __init__(self, project_root: Path) -> None:
        self.project_root = project_root
        self._read: dict[tuple[Path, int], tuple[Mapping[str, str], dict[str, Any]]] = {}

    def read(self, path: Path, env: Mapping[str, str]) -> dict[str, Any]:
        """The file ``path`` (inside the project) with its ``${VAR}`` read from ``env``."""
        key = (path, id(env))  # the environment is kept with the file, so its id stays its own
        if key not in self._read:
            if len(self._read) >= MAX_FILES:
                raise ConfigError(
                    f"{path}: a Compose project of more than {MAX_FILES} files "
                    "(extends and include that fan out?)"
                )
            self._read[key] = (env, interpolate(load_file(path), env, path))
        return self._read[key][1]

    def inside(self, work_dir: str, rel: str, where: str, what: str) -> Path:
        """``rel`` (relative to the project folder ``work_dir``) inside the project after
        symbolic links; ``what`` names such paths for the hint (``extends files``)."""
        joined = posixpath.normpath(posixpath.join(work_dir, rel))
        try:
            return fs.resolve_inside(self.project_root, joined, what=where)
        except fs.PathEscapeError as exc:
            raise ConfigError(exc.message, hint=f"{what} must be inside the project") from None


def relative_folder(project_root: Path, folder: Path) -> str:
    """``folder`` relative to the project root, in POSIX form ("" for the root)."""
    rel = os.path.relpath(folder, os.path.realpath(project_root))
    return "" if rel == "." else Path(rel).as_posix()


def relative_dir(project_root: Path, path: Path) -> str:
    """The folder of ``path`` relative to the project root (:func:`relative_folder`)."""
    return relative_folder(project_root, path.parent)


def extended(
    key: str,
    services: dict[str, Any],
    path: Path,
    files: Files,
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
        base_path = files.inside(
            compose_dir, str(extends["file"]), f"{where}.file", "extends files"
        )
        base_dir = relative_dir(files.project_root, base_path)
        found = files.read(base_path, env).get("services")
        base_services = found if isinstance(found, dict) else {}
    elif base_name == key:
        raise ConfigError(f"{where}: a service cannot extend itself")
    if base_name not in base_services:
        raise ConfigError(f"{where}: no service {base_name!r} in {base_path}")
    base = extended(base_name, base_services, base_path, files, base_dir, env, depth + 1)
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
        return moved(rel, from_dir, to_dir)

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


def moved(rel: str, from_dir: str, to_dir: str) -> str:
    """``rel`` (relative to ``from_dir``) relative to ``to_dir``; both project-relative. An
    absolute path stays as it is, for the checks that refuse it."""
    if rel.startswith("/"):
        return rel
    joined = posixpath.normpath(posixpath.join(from_dir, rel))
    return posixpath.relpath(joined, to_dir or ".")
