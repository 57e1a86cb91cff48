"""One service of a project's Compose file as a :class:`ServiceSpec` (see :mod:`compose`).

Paths in the file are relative to its folder; they become relative to the worktree (the project
root) here and must stay inside it. Ports keep a loopback host address at most (the host
interface is the user's to widen, never the file's); bind mounts must be ``./`` paths inside the
project; ``env_file`` files are read from the project, after symlinks.
"""

from __future__ import annotations

import hashlib
import posixpath
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nexus_cli import fs, validate
from nexus_cli.errors import ConfigError
from nexus_cli.terminal import has_controls
from nexus_cli.workspaces import (
    compose_depends,
    compose_ports,
    compose_resources,
    compose_runtime,
    compose_secrets,
    compose_tmpfs,
)
from nexus_cli.workspaces.compose_context import Context
from nexus_cli.workspaces.compose_interpolation import expand, layered
from nexus_cli.workspaces.service_model import BuildSpec, ServiceSpec, VolumeSpec
from nexus_cli.workspaces.service_parsing import (
    built_from,
    fail,
    key_values,
    parse_build,
    parse_command,
    parse_health,
    parse_user,
    parse_volume,
    published_once,
    scalar_text,
)

RESTART = re.compile(r"^(no|always|unless-stopped|on-failure(:\d{1,4})?)\Z")
PLATFORM = re.compile(r"^[a-z0-9]{1,16}/[a-z0-9_]{1,16}(/[a-z0-9]{1,8})?\Z")  # linux/arm64/v8
PULL_POLICIES = ("missing", "always", "never", "build")
ENV_NAME = re.compile(r"^[A-Za-z_][A-Za-z0-9_.-]*\Z")
MAX_ENV_FILE = 1 << 20  # bytes


def translate(name: str, spec: dict[str, Any], ctx: Context) -> ServiceSpec:
    key = f"services.{name}"
    if not validate.is_valid(validate.service_name, name):
        raise fail(ctx.path, key, "a service name of lowercase letters, digits, '_' or '-'")
    build = _build(spec.get("build"), ctx, f"{key}.build")
    image = spec.get("image")
    if build is not None:
        image = built_from(build)
    elif not isinstance(image, str) or not image.strip():
        raise fail(ctx.path, f"{key}.image", "an image name, or build:")
    working_dir = spec.get("working_dir", "")
    if not isinstance(working_dir, str) or (working_dir and not working_dir.startswith("/")):
        raise fail(ctx.path, f"{key}.working_dir", "an absolute path inside the container")
    health = spec.get("healthcheck")
    if isinstance(health, dict) and not isinstance(health.get("disable", False), bool):
        raise fail(ctx.path, f"{key}.healthcheck.disable", "true or false")
    health_off = isinstance(health, dict) and (
        health.get("disable") is True or health.get("test") in (["NONE"], "NONE")
    )
    if health_off:
        health = None
    elif isinstance(health, dict):
        health = {k: v for k, v in health.items() if k != "disable"} or None  # the image's own
    resources = compose_resources.parse(spec, ctx, key)
    links = {
        linked: compose_depends.CONDITIONS[0]
        for linked, _ in compose_depends.links(spec.get("links"), ctx, f"{key}.links")
    }
    conditions = {
        **links,
        **compose_depends.depends(spec.get("depends_on"), ctx, f"{key}.depends_on"),
    }
    restart = str(spec.get("restart", "") or "")
    if restart and not RESTART.match(restart):
        raise fail(ctx.path, f"{key}.restart", "no, always, unless-stopped or on-failure[:N]")
    _check_networks(spec.get("networks"), ctx, f"{key}.networks")
    _list(spec.get("expose"), ctx, f"{key}.expose")  # one network per workspace: all reachable
    env_files = _env_files(spec.get("env_file"), ctx, f"{key}.env_file")
    listed = _environment(spec.get("environment"), ctx, f"{key}.environment")
    return ServiceSpec(
        name=name,
        image=image.strip(),
        command=parse_command(spec.get("command"), ctx.path, f"{key}.command"),
        entrypoint=parse_command(spec.get("entrypoint"), ctx.path, f"{key}.entrypoint"),
        environment={
            name: value
            for name, value in {**env_files, **listed}.items()
            if value is not None  # unset below
        },
        unset_environment=tuple(name for name, value in listed.items() if value is None),
        ports=published_once(
            [
                (port, where)
                for i, entry in enumerate(_list(spec.get("ports"), ctx, f"{key}.ports"))
                for where in [f"{key}.ports[{i}]"]
                for port in compose_ports.ports(entry, ctx, where)
            ],
            ctx.path,
        ),
        volumes=[
            *(
                _volume(v, ctx, f"{key}.volumes[{i}]")
                for i, v in enumerate(_list(spec.get("volumes"), ctx, f"{key}.volumes"))
                if not compose_tmpfs.is_volume(v)  # the container's tmpfs (its runtime)
            ),
            *(
                _volume(v, ctx, at)
                for v, at in compose_secrets.binds(spec, ctx.files, ctx.path, key)
            ),
        ],
        healthcheck=parse_health(health, ctx.path, f"{key}.healthcheck"),
        healthcheck_off=health_off,
        depends_on=list(conditions),
        working_dir=working_dir,
        build=build,
        depends_conditions=conditions,
        restarts_with=compose_depends.restarts_with(
            spec.get("depends_on"), conditions, ctx, f"{key}.depends_on"
        ),
        nano_cpus=resources.nano_cpus,
        mem_limit=resources.mem_limit,
        mem_reservation=resources.mem_reservation,
        cpu_shares=resources.cpu_shares,
        pids_limit=resources.pids_limit,
        restart="" if restart == "no" else restart,
        user=parse_user(spec.get("user"), ctx.path, f"{key}.user"),
        pull_policy=_pull_policy(spec.get("pull_policy"), build is not None, ctx, key),
        platform=_platform(spec.get("platform"), ctx, f"{key}.platform"),
        runtime=compose_runtime.parse(spec, ctx.path, key, ctx.link_aliases.get(name, ())),
    )


def _pull_policy(value: Any, built: bool, ctx: Context, key: str) -> str:
    """``pull_policy``: missing (``if_not_present``), always, never, or build (a ``build:``
    service's image built at every start). Compose's timed ones (``daily``, ``every_12h``) are
    refused: Nexus keeps no record of when it pulled."""
    policy = "missing" if value in (None, "if_not_present") else value
    if not isinstance(policy, str) or policy not in PULL_POLICIES:
        raise fail(ctx.path, f"{key}.pull_policy", "missing, always, never or build")
    if policy == "build" and not built:
        raise fail(ctx.path, f"{key}.pull_policy", "build only with a build: section")
    return str(policy)


def _platform(value: Any, ctx: Context, key: str) -> str:
    """``platform``: ``OS/ARCH[/VARIANT]`` (``linux/amd64``, ``linux/arm64/v8``)."""
    if value is None:
        return ""
    if not isinstance(value, str) or not PLATFORM.match(value):
        raise fail(ctx.path, key, "OS/ARCH[/VARIANT], such as linux/amd64")
    return value


def _list(value: Any, ctx: Context, key: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(ctx.path, key, "a list")
    return value


def _build(value: Any, ctx: Context, key: str) -> BuildSpec | None:
    """``build:`` with its context made project-relative (and checked inside the project after
    symlinks, as its Dockerfile); the image is built per workspace from the worktree."""
    if value is None:
        return None
    spec = {"context": value} if isinstance(value, str) else value
    if not isinstance(spec, dict):
        raise fail(ctx.path, key, "a context path or a mapping with context")
    context = str(spec.get("context", "."))
    if "://" in context or context.startswith("git@"):
        raise fail(ctx.path, f"{key}.context", "a local folder inside the project (no URL)")
    rel = ctx.inside(context, f"{key}.context")
    build = parse_build({**spec, "context": rel}, ctx.path, key)
    assert build is not None
    _resolve(ctx, rel, f"{key}.context", allow_root=True)
    _resolve(ctx, posixpath.join(rel, build.dockerfile), f"{key}.dockerfile")
    return build


def _resolve(ctx: Context, rel: str, key: str, *, allow_root: bool = False) -> Path:
    try:
        return fs.resolve_inside(
            ctx.project_root, rel, what=f"{ctx.path}: {key}", allow_root=allow_root
        )
    except fs.PathEscapeError as exc:
        raise ConfigError(exc.message, hint="Compose paths must stay inside the project") from None


def _environment(value: Any, ctx: Context, key: str) -> dict[str, str | None]:
    """``environment`` as a mapping or list; a name without a value takes the user's own
    environment's value, or is None when that is unset: Compose then passes the bare name, and
    the engine unsets the variable in the container (over an ``env_file``'s and the image's)."""
    result: dict[str, str | None] = {}
    for name, text in key_values(value, ctx.path, key, "NAME"):
        if not name or "=" in name or has_controls(name) or "\n" in name:
            raise fail(ctx.path, f"{key}.{name}", "variable names without '=' or controls")
        if text is None:
            result[name] = ctx.env.get(name)
        else:
            result[name] = scalar_text(text)
    return result


def _env_files(value: Any, ctx: Context, key: str) -> dict[str, str]:
    entries = [value] if isinstance(value, str) else _list(value, ctx, key)
    result: dict[str, str] = {}
    for i, entry in enumerate(entries):
        rel, required, raw = entry, True, False
        if isinstance(entry, dict):
            rel, required = entry.get("path"), entry.get("required", True) is not False
            if entry.get("format") not in (None, "raw"):
                raise fail(ctx.path, f"{key}[{i}].format", "raw (values kept as written)")
            raw = entry.get("format") == "raw"
        if not isinstance(rel, str):
            raise fail(ctx.path, f"{key}[{i}]", "a path or {path, required, format}")
        path = _resolve(ctx, ctx.inside(rel, f"{key}[{i}]"), f"{key}[{i}]")
        if not path.is_file():
            if required:
                raise ConfigError(f"{ctx.path}: {key}[{i}]: {rel} not found")
            continue
        # as Compose reads them: the earlier files' values, then the file's own variables
        result.update(read_env_file(path, None if raw else layered(result, ctx.env)))
    return result


def read_env_file(path: Path, lookup: Mapping[str, str] | None = None) -> dict[str, str]:
    """``KEY=VALUE`` lines (``#`` comments, blank lines, ``export``, quotes) of an env file.
    With ``lookup``, a value unquoted or in double quotes is interpolated as Compose does
    (``URL=postgres://${DB_USER}@db``): from the file's earlier lines, then ``lookup``; one in
    single quotes is kept as written."""
    if path.stat().st_size > MAX_ENV_FILE:
        raise ConfigError(f"{path}: env file larger than {MAX_ENV_FILE:,} bytes")
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ConfigError(f"{path}: cannot read the env file: {exc}") from None
    result: dict[str, str] = {}
    for number, line in enumerate(text.splitlines(), 1):
        line = line.strip()
        if not line or line.startswith("#"):
            continue
        name, sep, raw = line.removeprefix("export ").partition("=")
        name = name.strip()
        if not sep or not ENV_NAME.match(name):
            raise ConfigError(f"{path}:{number}: expected NAME=VALUE")
        raw = raw.strip()
        literal = len(raw) >= 2 and raw[0] == raw[-1] == "'"
        if len(raw) >= 2 and raw[0] == raw[-1] and raw[0] in "'\"":
            value = raw[1:-1]
            if raw[0] == '"':
                value = value.replace("\\n", "\n").replace('\\"', '"')
        else:
            value = re.split(r"\s+#", raw, maxsplit=1)[0]
        if lookup is not None and not literal:
            value = expand(value, layered(result, lookup), Path(f"{path}:{number}"))
        result[name] = value
    return result


def _volume(value: Any, ctx: Context, key: str) -> VolumeSpec:
    if isinstance(value, str) and ":" not in value and value.startswith("/"):
        value = {"type": "volume", "target": value}
    if isinstance(value, dict):
        kind, source = value.get("type", "volume"), str(value.get("source", ""))
        if kind == "volume" and not source and isinstance(value.get("target"), str):
            source = anonymous_volume(key, value["target"])
        if kind not in ("volume", "bind") or not source or "target" not in value:
            raise fail(ctx.path, key, "type volume or bind with a source and a target")
        options = ["ro"] if value.get("read_only") else []
        options += ["nocopy"] if _no_copy(value.get("volume"), ctx, f"{key}.volume") else []
        mode = f":{','.join(options)}" if options else ""
        if kind == "bind" and not source.startswith((".", "/", "~")):
            source = f"./{source}"  # a relative bind source, never a volume of that name
        value = f"{source}:{value['target']}{mode}"
    if not isinstance(value, str) or ":" not in value:
        raise fail(ctx.path, key, "NAME:/path, ./relative:/path or a /path in the container")
    source, _, rest = value.partition(":")
    if source.startswith(("/", "~")):
        raise fail(
            ctx.path, key, "a named volume or a ./path inside the project (host paths are refused)"
        )
    if source.startswith("."):
        source = ctx.inside(source, key)
        _resolve(ctx, source, key, allow_root=True)  # a committed link out is refused here too
        source = "./" + source
    return parse_volume(f"{source}:{rest}", ctx.path, key)


def anonymous_volume(key: str, target: str) -> str:
    """The volume that stands for an anonymous one (``- /app/node_modules``): named after its
    service and path, so each workspace has its own, kept across ``down`` and ``up`` as Compose
    keeps a container's anonymous volumes, and removed with the workspace."""
    service = key.split(".")[1] if key.startswith("services.") else "service"
    digest = hashlib.sha256(target.encode()).hexdigest()[:10]
    return f"anon-{service}-{digest}"


def _no_copy(value: Any, ctx: Context, key: str) -> bool:
    """A long-form volume's ``volume: {nocopy: BOOL}``."""
    if value is None:
        return False
    nocopy = value.get("nocopy", False) if isinstance(value, dict) else None
    if not isinstance(nocopy, bool):
        raise fail(ctx.path, key, "a mapping with nocopy: true or false")
    return nocopy


def _check_networks(value: Any, ctx: Context, key: str) -> None:
    if value is not None and not isinstance(value, list | dict):
        raise fail(ctx.path, key, "a list or mapping of network names")
