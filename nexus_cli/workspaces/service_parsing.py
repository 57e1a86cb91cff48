"""Validation of a template's ``services`` entries, and the value readers the Compose modules
share (durations, sizes, flags, commands, ``KEY=VALUE`` lists, scalars as text).

Every error names the template file, the key (``services.db.ports[0]``) and what was expected.
The template's own ``x-nexus`` sections are :mod:`template_parsing`'s.
"""

from __future__ import annotations

import posixpath
import re
from pathlib import PurePosixPath
from typing import Any

from nexus_cli import validate
from nexus_cli.errors import ConfigError
from nexus_cli.terminal import escape
from nexus_cli.workspaces.service_model import (
    BuildSpec,
    HealthSpec,
    PortSpec,
    ServiceSpec,
    VolumeSpec,
)

SERVICE_KEYS = (
    "image",
    "build",
    "command",
    "environment",
    "ports",
    "volumes",
    "healthcheck",
    "depends_on",
    "working_dir",
    "user",
)
HEALTH_KEYS = ("test", "interval", "timeout", "retries", "start_period")
VOLUME_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]*\Z")
PORT = re.compile(r"^(?:(\d{1,5}):)?(\d{1,5})(?:/(tcp|udp))?\Z")
DURATION = re.compile(r"(\d+(?:\.\d+)?)(ms|s|m|h)")
USER = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,31}(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,31})?\Z")
MAX_DURATION_S = 24 * 3600  # a healthcheck's interval, timeout or start period
SIZE = re.compile(r"^(\d{1,12}(?:\.\d{1,6})?)\s*([bkmg]?)b?\Z", re.IGNORECASE)
SIZE_UNITS = {"": 1, "b": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30}


def fail(path: Any, key: str, expected: str) -> ConfigError:
    """``PATH: KEY: expected …`` on one line: a key holds the file's own names (escaped)."""
    return ConfigError(f"{path}: {escape(key, newlines=False)}: expected {expected}")


def parse_duration(value: Any, path: Any, key: str) -> float:
    """Seconds from a number or a Compose duration such as ``500ms``, ``2s`` or ``1m30s``."""
    if isinstance(value, int | float) and not isinstance(value, bool):
        if not 0 <= value <= MAX_DURATION_S:  # also refuses NaN
            raise fail(path, key, f"a duration between 0 and {MAX_DURATION_S // 3600}h")
        return float(value)
    text = str(value).strip()
    units = {"ms": 0.001, "s": 1.0, "m": 60.0, "h": 3600.0}
    parts = DURATION.findall(text)
    if not parts or "".join(n + u for n, u in parts) != text:
        raise fail(path, key, "a duration such as 500ms, 2s or 1m30s")
    seconds = sum(float(n) * units[u] for n, u in parts)
    if seconds > MAX_DURATION_S:
        raise fail(path, key, f"a duration between 0 and {MAX_DURATION_S // 3600}h")
    return seconds


def parse_service(name: str, spec: Any, path: Any) -> ServiceSpec:
    key = f"services.{name}"
    if not validate.is_valid(validate.service_name, name):
        raise fail(path, key, "a service name of lowercase letters, digits, '_' or '-'")
    if not isinstance(spec, dict):
        raise fail(path, key, "a mapping with at least 'image'")
    unknown = sorted(set(spec) - set(SERVICE_KEYS))
    if unknown:
        raise fail(
            path, f"{key}.{unknown[0]}", f"one of the supported keys: {', '.join(SERVICE_KEYS)}"
        )
    build = parse_build(spec.get("build"), path, f"{key}.build")
    image = built_from(build) if build is not None else spec.get("image")
    if not isinstance(image, str) or not image.strip():
        raise fail(path, f"{key}.image", "an image name such as postgres:16, or build:")
    working_dir = spec.get("working_dir", "/workspace")
    if not isinstance(working_dir, str) or not working_dir.startswith("/"):
        raise fail(path, f"{key}.working_dir", "an absolute path inside the container")
    return ServiceSpec(
        name=name,
        image=image.strip(),
        command=parse_command(spec.get("command"), path, f"{key}.command"),
        environment=parse_environment(spec.get("environment"), path, f"{key}.environment"),
        ports=published_once(
            [
                (parse_port(p, path, where), where)
                for i, p in enumerate(_list(spec, "ports", path, key))
                for where in [f"{key}.ports[{i}]"]
            ],
            path,
        ),
        volumes=[
            parse_volume(v, path, f"{key}.volumes[{i}]")
            for i, v in enumerate(_list(spec, "volumes", path, key))
        ],
        healthcheck=parse_health(spec.get("healthcheck"), path, f"{key}.healthcheck"),
        depends_on=_parse_depends(spec.get("depends_on"), path, f"{key}.depends_on"),
        working_dir=working_dir,
        build=build,
        user=parse_user(spec.get("user"), path, f"{key}.user"),
    )


BUILD_KEYS = ("context", "dockerfile", "args", "target")


def parse_build(value: Any, path: Any, key: str) -> BuildSpec | None:
    """``build:`` of a template: a worktree-relative context (and a Dockerfile relative to it),
    built per workspace from the worktree (:mod:`image_build`, which resolves both inside it)."""
    if value is None:
        return None
    spec = {"context": value} if isinstance(value, str) else value
    if not isinstance(spec, dict):
        raise fail(path, key, "a context path or a mapping with context")
    unknown = sorted(str(k) for k in spec if k not in BUILD_KEYS)
    if unknown:
        raise fail(path, f"{key}.{unknown[0]}", f"one of {', '.join(BUILD_KEYS)}")
    context = posixpath.normpath(str(spec.get("context", ".")))
    dockerfile = posixpath.normpath(str(spec.get("dockerfile", "Dockerfile")))
    joined = posixpath.normpath(posixpath.join(context, dockerfile))
    for text, where in ((context, "context"), (joined, "dockerfile")):
        if text.startswith("/") or text == ".." or text.startswith("../") or "://" in text:
            raise fail(path, f"{key}.{where}", "a path inside the worktree")
    args = spec.get("args") or {}
    if isinstance(args, list):
        args = dict(str(a).partition("=")[::2] for a in args)
    if not isinstance(args, dict):
        raise fail(path, f"{key}.args", "a mapping or a list of NAME=VALUE")
    target = spec.get("target")
    return BuildSpec(
        context=context,
        dockerfile=dockerfile,
        args={str(k): "" if v is None else scalar_text(v) for k, v in args.items()},
        target=None if target is None else str(target),
    )


def built_from(build: BuildSpec) -> str:
    """What a built service shows as its image (the tag is the workspace's: image_build)."""
    return f"(built from ./{build.context})" if build.context != "." else "(built from .)"


def _list(spec: dict[str, Any], field: str, path: Any, key: str) -> list[Any]:
    value = spec.get(field)
    if value is None:
        return []
    if not isinstance(value, list):
        raise fail(path, f"{key}.{field}", "a list")
    return value


def parse_flag(value: Any, path: Any, key: str) -> bool:
    if not isinstance(value, bool):
        raise fail(path, key, "true or false")
    return value


def parse_size(value: Any, path: Any, key: str) -> int:
    """Bytes from a number or a Compose size such as ``512m``, ``1g`` or ``64mb``."""
    match = SIZE.match(str(value).strip())
    if match is None or isinstance(value, bool):
        raise fail(path, key, "a size such as 512m or 1g")
    return int(float(match.group(1)) * SIZE_UNITS[match.group(2).lower()])


def parse_command(value: Any, path: Any, key: str) -> list[str] | str | None:
    if value is None:
        return None
    if isinstance(value, str):
        return value
    if isinstance(value, list) and all(isinstance(v, str | int | float) for v in value):
        return [scalar_text(v) for v in value]
    raise fail(path, key, "a string or a list of strings")


def scalar_text(value: Any) -> str:
    """A Compose scalar as the text a container gets, as Compose (Go) writes it: booleans as
    ``true``/``false``, a whole float without its fraction (``1e3`` is ``1000``)."""
    if isinstance(value, bool):
        return str(value).lower()
    if isinstance(value, float) and value.is_integer() and abs(value) < 1e21:
        return str(int(value))
    return str(value)


def key_values(value: Any, path: Any, key: str, name: str) -> list[tuple[str, Any]]:
    """A Compose mapping of ``NAME: VALUE`` or list of ``NAME=VALUE`` as (name, value) pairs in
    the file's order; a list entry without ``=`` has the value None (``environment``: take the
    user's; ``labels``: empty). ``name`` says what a name is, for the error."""
    if value is None:
        return []
    if isinstance(value, dict):
        return [(str(k), v) for k, v in value.items()]
    if isinstance(value, list):
        pairs = (str(item).partition("=") for item in value)
        return [(k, v if sep else None) for k, sep, v in pairs]
    raise fail(path, key, f"a mapping of {name}: VALUE or a list of {name}=VALUE")


def parse_environment(value: Any, path: Any, key: str) -> dict[str, str]:
    if value is None:
        return {}
    if isinstance(value, dict):
        return {str(k): "" if v is None else scalar_text(v) for k, v in value.items()}
    if isinstance(value, list):
        result: dict[str, str] = {}
        for i, item in enumerate(value):
            if not isinstance(item, str) or "=" not in item:
                raise fail(path, f"{key}[{i}]", "NAME=VALUE")
            k, _, v = item.partition("=")
            result[k] = v
        return result
    raise fail(path, key, "a mapping of NAME: VALUE or a list of NAME=VALUE")


PORT_KEYS = ("target", "published", "protocol")


def parse_port(value: Any, path: Any, key: str) -> PortSpec:
    """``CONTAINER`` or ``HOST:CONTAINER[/proto]`` or ``{target, published, protocol}``. The host
    interface is never the template's to choose (``IP:HOST:CONTAINER`` or ``host_ip`` are
    refused): it is 127.0.0.1 unless you widen it (:mod:`nexus_cli.workspaces.exposure`)."""
    if isinstance(value, dict):
        unknown = sorted(str(k) for k in value if k not in PORT_KEYS)
        if unknown:
            raise fail(
                path,
                f"{key}.{unknown[0]}",
                f"only {', '.join(PORT_KEYS)} (the host interface is yours to choose: "
                "--bind-all or workspaces.bind_address in your own config)",
            )
        target, published = value.get("target"), value.get("published", value.get("target"))
        protocol = str(value.get("protocol", "tcp"))
        text = f"{published}:{target}/{protocol}"
    else:
        text = str(value)
    match = PORT.match(text)
    if match is None:
        raise fail(path, key, "CONTAINER_PORT or HOST_PORT:CONTAINER_PORT (e.g. 5432 or 8080:80)")
    host, container, protocol = match.group(1), int(match.group(2)), match.group(3) or "tcp"
    preferred = int(host) if host else container
    for port in (container, preferred):
        if not 1 <= port <= 65535:
            raise fail(path, key, "port numbers between 1 and 65535")
    return PortSpec(container_port=container, preferred_host_port=preferred, protocol=protocol)


def parse_user(value: Any, path: Any, key: str) -> str:
    """``user``: a name or id, with an optional group (``1000``, ``node``, ``1000:1000``); ""
    when absent (the image's own). Not a key that widens anything: whoever names the user also
    chooses the image, which may run as root, and no user in the container can do more."""
    if value is None:
        return ""
    if isinstance(value, int) and not isinstance(value, bool) and value >= 0:
        value = str(value)
    if not isinstance(value, str) or not USER.match(value):
        raise fail(path, key, "USER or USER:GROUP, names or numeric ids (e.g. 1000:1000)")
    return value


def published_once(ports: list[tuple[PortSpec, str]], path: Any) -> list[PortSpec]:
    """The ports of ``(port, the key of its entry)`` pairs when each container port (and
    protocol) is in them once: a workspace publishes a container port on one host port, so a
    second mapping of it is refused, never dropped. (One entry of a Compose port range gives
    several ports, all with that entry's key.)"""
    seen: dict[tuple[int, str], str] = {}
    for port, where in ports:
        first = seen.setdefault((port.container_port, port.protocol), where)
        if first != where:
            raise ConfigError(
                f"{path}: {where}: container port {port.container_port}/{port.protocol} is "
                f"already published by {first}; a workspace publishes it once"
            )
    return [port for port, _ in ports]


# A volume's mode: read-only or read-write, for a named volume nocopy (a new volume is not
# filled from the image's files at its path), and the consistency hints Docker Desktop's file
# sharing reads, which an engine on Linux ignores (`..:/workspaces:cached` in dev containers).
VOLUME_OPTIONS = frozenset({"ro", "rw", "nocopy", "cached", "delegated", "consistent"})


def parse_volume(value: Any, path: Any, key: str) -> VolumeSpec:
    if not isinstance(value, str) or value.count(":") not in (1, 2):
        raise fail(path, key, "NAME:/container/path or ./relative:/container/path[:ro]")
    source, target, *mode = value.split(":")
    if not target.startswith("/"):
        raise fail(path, key, "an absolute container path after ':'")
    options = mode[0].split(",") if mode else []
    if not set(options) <= VOLUME_OPTIONS or len(set(options) & {"ro", "rw"}) > 1:
        raise fail(path, key, "ro or rw, nocopy for a volume, or cached, as the mode (e.g. ':ro')")
    read_only = "ro" in options
    if source.startswith("./") or source == ".":
        rel = PurePosixPath(source)
        if ".." in rel.parts:
            raise fail(path, key, "a bind source inside the worktree (no '..')")
        if "nocopy" in options:
            raise fail(path, key, "nocopy only for a named volume (a bind copies nothing)")
        return VolumeSpec(source=str(rel), target=target, named=False, read_only=read_only)
    if not VOLUME_NAME.match(source):
        raise fail(path, key, "a volume name (letters, digits, '_', '.', '-') or ./relative path")
    return VolumeSpec(
        source=source,
        target=target,
        named=True,
        read_only=read_only,
        no_copy="nocopy" in options,
    )


def parse_health(value: Any, path: Any, key: str) -> HealthSpec | None:
    if value is None:
        return None
    if not isinstance(value, dict) or "test" not in value:
        raise fail(path, key, "a mapping with 'test'")
    unknown = sorted(set(value) - set(HEALTH_KEYS))
    if unknown:
        raise fail(path, f"{key}.{unknown[0]}", f"one of {', '.join(HEALTH_KEYS)}")
    test = value["test"]
    if isinstance(test, str):
        test_list = ["CMD-SHELL", test]
    elif (
        isinstance(test, list)
        and len(test) >= 2
        and test[0] in ("CMD", "CMD-SHELL")
        and all(isinstance(t, str) for t in test)
    ):
        test_list = [str(t) for t in test]
    else:
        raise fail(path, f"{key}.test", "a shell string or [CMD, ...] / [CMD-SHELL, '...']")
    retries = value.get("retries", 3)
    if not isinstance(retries, int) or isinstance(retries, bool) or not 1 <= retries <= 10_000:
        raise fail(path, f"{key}.retries", "a whole number from 1 to 10000")
    return HealthSpec(
        test=test_list,
        interval_s=parse_duration(value.get("interval", "2s"), path, f"{key}.interval"),
        timeout_s=parse_duration(value.get("timeout", "5s"), path, f"{key}.timeout"),
        retries=retries,
        start_period_s=parse_duration(value.get("start_period", 0), path, f"{key}.start_period"),
    )


def _parse_depends(value: Any, path: Any, key: str) -> list[str]:
    if value is None:
        return []
    if isinstance(value, dict):
        return [str(k) for k in value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    raise fail(path, key, "a list of service names")
