"""The Compose keys that only say how a container runs inside its own namespace.

``labels``, ``hostname``, ``domainname``, ``init``, ``tmpfs``, ``shm_size``, ``stop_signal``,
``stop_grace_period``, ``container_name``, network ``aliases``, ``tty``, ``stdin_open``,
``ulimits`` (but those that raise a priority), ``logging`` (to the engine's own files) and how
it resolves names (``extra_hosts``, ``dns``, ``dns_search``, ``dns_opt``: :mod:`compose_names`)
change nothing the container may do to the host, and ``cap_drop`` and ``read_only`` narrow it,
so a project's file may set them (the keys that would widen it are refused:
:data:`compose_keys.WIDENING`).

What they may not do is pass for Nexus. Labels under Nexus's own prefix (``dev.nexus.``, which
marks what a workspace owns and deletes) or Compose's are refused. A grace period is bounded, so
that ``down`` and ``delete`` never wait longer than :data:`MAX_GRACE_S` for one container. A
``container_name`` does not name the container (two workspaces of one file would collide on the
engine): it becomes a second name of the service on the workspace's own network, which is what
other services use it for; so do the aliases of the networks it joins (a workspace has one).
"""

from __future__ import annotations

import math
import re
from collections.abc import Sequence
from typing import Any

from nexus_cli.terminal import has_controls
from nexus_cli.workspaces import compose_names, compose_tmpfs
from nexus_cli.workspaces.service_model import Runtime, ServiceSpec
from nexus_cli.workspaces.service_parsing import (
    fail,
    key_values,
    parse_duration,
    parse_flag,
    parse_size,
    scalar_text,
)

# The service keys :func:`parse` reads (with ``networks``' aliases, listed with the file's other
# keys in compose_keys).
KEYS = frozenset(
    {
        "labels",
        "hostname",
        "domainname",
        "init",
        "tmpfs",
        "shm_size",
        "container_name",
        "logging",
        "cap_drop",
        "read_only",
        "tty",
        "stdin_open",
        "ulimits",
        "stop_signal",
        "stop_grace_period",
    }
    | compose_names.KEYS
)
RESERVED_LABELS = ("dev.nexus.", "com.docker.compose.")
LABEL_KEY = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._/-]{0,254}\Z")
MAX_LABEL_VALUE = 4096  # characters
HOSTNAME = re.compile(r"^(?!-)[A-Za-z0-9-]{1,63}(?<!-)(\.(?!-)[A-Za-z0-9-]{1,63}(?<!-))*\Z")
SIGNAL = re.compile(r"^(SIG[A-Z0-9+-]{2,12}|[0-9]{1,2})\Z")
CONTAINER_NAME = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}\Z")  # Docker's, and a DNS name
MAX_GRACE_S = 300  # what down/delete may wait for one container to stop on its own
# Logging drivers that keep the logs in the engine's own files, where `workspace logs` reads
# them; the others send them to the host's syslog or journal or over the network (refused).
LOG_DRIVERS = ("json-file", "local")
# The options those drivers take that only shape their own files: rotation, and which labels
# and variables of the container (by name) and which tag each entry carries.
LOG_VALUE = re.compile(r"^[A-Za-z0-9.]{1,16}\Z")
LOG_NAMES = re.compile(r"^[A-Za-z0-9_.,=/-]{1,256}\Z")
LOG_TAG = re.compile(r"^[A-Za-z0-9_.{}/:| -]{1,128}\Z")
LOG_OPTIONS = {
    "max-size": LOG_VALUE,
    "max-file": LOG_VALUE,
    "compress": LOG_VALUE,
    "labels": LOG_NAMES,
    "env": LOG_NAMES,
    "tag": LOG_TAG,
}
MAX_ALIASES = 32  # network aliases of one service
# The resource limits a file may set (setrlimit's, as the engine names them), and those it may
# not: with them a process raises its own scheduling priority without a capability.
ULIMITS = frozenset(
    {"core", "cpu", "data", "fsize", "locks", "memlock", "msgqueue", "nofile", "nproc", "rss"}
    | {"sigpending", "stack"}
)
ULIMITS_WIDENING = frozenset({"nice", "rtprio", "rttime"})
CAPABILITY = re.compile(r"^(?:CAP_)?([A-Z][A-Z_]{1,31})\Z")  # a name to drop, or ALL


def parse(spec: dict[str, Any], path: Any, key: str, linked_as: Sequence[str] = ()) -> Runtime:
    """The :class:`Runtime` of the Compose service ``spec`` (at ``key`` of the file ``path``);
    ``linked_as``: the aliases other services' ``links`` give it."""
    return Runtime(
        labels=_labels(spec.get("labels"), path, f"{key}.labels"),
        hostname=_hostname(spec.get("hostname"), path, f"{key}.hostname"),
        domainname=_hostname(spec.get("domainname"), path, f"{key}.domainname"),
        init=parse_flag(spec.get("init", True), path, f"{key}.init"),
        tmpfs=compose_tmpfs.parse(spec, path, key),
        stop_signal=_signal(spec.get("stop_signal"), path, f"{key}.stop_signal"),
        stop_grace_s=_grace(spec.get("stop_grace_period"), path, f"{key}.stop_grace_period"),
        shm_size=_shm(spec.get("shm_size"), path, f"{key}.shm_size"),
        alias=_alias(spec.get("container_name"), path, f"{key}.container_name"),
        aliases=tuple(
            dict.fromkeys(
                [*_network_aliases(spec.get("networks"), path, f"{key}.networks"), *linked_as]
            )
        ),
        logging=_logging(spec.get("logging"), path, f"{key}.logging"),
        cap_drop=_cap_drop(spec.get("cap_drop"), path, f"{key}.cap_drop"),
        read_only=parse_flag(spec.get("read_only", False), path, f"{key}.read_only"),
        tty=parse_flag(spec.get("tty", False), path, f"{key}.tty"),
        stdin_open=parse_flag(spec.get("stdin_open", False), path, f"{key}.stdin_open"),
        ulimits=_ulimits(spec.get("ulimits"), path, f"{key}.ulimits"),
        extra_hosts=compose_names.extra_hosts(spec.get("extra_hosts"), path, f"{key}.extra_hosts"),
        dns=compose_names.dns_servers(spec.get("dns"), path, f"{key}.dns"),
        dns_search=compose_names.search_domains(spec.get("dns_search"), path, f"{key}.dns_search"),
        dns_opt=compose_names.resolver_options(spec.get("dns_opt"), path, f"{key}.dns_opt"),
    )


def check_aliases(services: dict[str, ServiceSpec], path: Any) -> None:
    """Each ``container_name`` names one service on the workspace's network: not two, and not
    another service (whose name already is one). A network alias may name several services (the
    engine answers with each, as Compose's do), but not another service or its container_name."""
    owner: dict[str, str] = {}
    for name, service in services.items():
        alias = service.runtime.alias
        if not alias:
            continue
        key = f"services.{name}.container_name"
        if alias in services and alias != name:
            raise fail(path, key, f"a name no other service has ({alias!r} is a service)")
        if alias in owner:
            raise fail(path, key, f"a name of its own ({alias!r} is also {owner[alias]!r}'s)")
        owner[alias] = name
    for name, service in services.items():
        for alias in service.runtime.aliases:
            taken = alias if alias in services else owner.get(alias)
            if taken is not None and taken != name:
                raise fail(
                    path,
                    f"services.{name}.networks",
                    f"aliases no other service is named by ({alias!r} is {taken!r}'s name)",
                )


def create_settings(runtime: Runtime) -> dict[str, Any]:
    """The engine's create parameters for ``runtime``. Its labels are the caller's to merge with
    Nexus's own, as is the grace period: the Docker SDK's create does not pass a stop timeout, so
    Nexus keeps it in a label of its own and waits it out itself
    (:func:`docker_services.stop_containers`); a ``docker stop`` by hand waits the engine's 10 s."""
    settings: dict[str, Any] = {"init": runtime.init}
    if runtime.hostname:
        settings["hostname"] = runtime.hostname
    if runtime.domainname:
        settings["domainname"] = runtime.domainname
    if runtime.tmpfs:
        settings["tmpfs"] = dict(runtime.tmpfs)
    if runtime.stop_signal:
        settings["stop_signal"] = runtime.stop_signal
    if runtime.shm_size is not None:
        settings["shm_size"] = runtime.shm_size
    if runtime.cap_drop:
        settings["cap_drop"] = list(runtime.cap_drop)
    if runtime.read_only:
        settings["read_only"] = True
    if runtime.tty:
        settings["tty"] = True
    if runtime.stdin_open:
        settings["stdin_open"] = True
    if runtime.ulimits:
        settings["ulimits"] = [
            {"name": name, "soft": soft, "hard": hard} for name, soft, hard in runtime.ulimits
        ]
    if runtime.extra_hosts:  # the engine's spelling: NAME:ADDRESS, IPv6 without brackets
        settings["extra_hosts"] = [f"{name}:{address}" for name, address in runtime.extra_hosts]
    if runtime.dns:
        settings["dns"] = list(runtime.dns)
    if runtime.dns_search:
        settings["dns_search"] = list(runtime.dns_search)
    if runtime.dns_opt:
        settings["dns_opt"] = list(runtime.dns_opt)
    if runtime.logging is not None:
        driver, options = runtime.logging
        settings["log_config"] = {"type": driver, "config": dict(options)}
    return settings


def _labels(value: Any, path: Any, key: str) -> dict[str, str]:
    """``labels`` as a mapping or a list of ``KEY=VALUE`` (a key without a value is an empty
    label, as Compose reads it)."""
    result: dict[str, str] = {}
    for name, text in key_values(value, path, key, "KEY"):
        shown = f"{key}.{name}"
        if not LABEL_KEY.match(name):
            raise fail(path, shown, "a label key of letters, digits, '.', '_', '/' or '-'")
        if name.startswith(RESERVED_LABELS):
            raise fail(path, shown, "a label outside dev.nexus.* and com.docker.compose.*")
        if isinstance(text, dict | list):
            raise fail(path, shown, "a text, number or boolean value")
        result[name] = "" if text is None else scalar_text(text)
        if len(result[name]) > MAX_LABEL_VALUE or has_controls(result[name]):
            raise fail(path, shown, f"a value of at most {MAX_LABEL_VALUE} characters, no controls")
    return result


def _hostname(value: Any, path: Any, key: str) -> str:
    if value is None:
        return ""
    if not isinstance(value, str) or len(value) > 253 or not HOSTNAME.match(value):
        raise fail(path, key, "a host name of letters, digits and '-' (dots between labels)")
    return value


def _signal(value: Any, path: Any, key: str) -> str:
    if value is None:
        return ""
    text = str(value).strip().upper() if isinstance(value, str | int) else ""
    if text and text[0].isalpha() and not text.startswith("SIG"):
        text = f"SIG{text}"
    if isinstance(value, bool) or not SIGNAL.match(text):
        raise fail(path, key, "a signal such as SIGINT, SIGQUIT or 15")
    return text


def _grace(value: Any, path: Any, key: str) -> int | None:
    """Whole seconds (rounded up: the engine takes whole seconds), at most MAX_GRACE_S."""
    if value is None:
        return None
    seconds = parse_duration(value, path, key)
    if seconds > MAX_GRACE_S:
        raise fail(path, key, f"a duration of at most {MAX_GRACE_S // 60}m")
    return math.ceil(seconds)


def _shm(value: Any, path: Any, key: str) -> int | None:
    """``/dev/shm``'s size in bytes (the engine's default is 64m); memory the container's own
    limit counts, so it widens nothing."""
    if value is None:
        return None
    size = parse_size(value, path, key)
    if size <= 0:
        raise fail(path, key, "a size above 0, such as 256m")
    return size


def _alias(value: Any, path: Any, key: str) -> str:
    """The file's ``container_name``, kept as a name on the workspace's network: two workspaces
    of one file each have a container of that name in their own network, never one on the
    engine (the container itself is ``nexus-<project>-<workspace>-<service>``)."""
    if value is None:
        return ""
    if not isinstance(value, str) or not CONTAINER_NAME.match(value):
        raise fail(path, key, "a name of letters, digits, '_', '.' or '-' (at most 63)")
    return value


def _network_aliases(value: Any, path: Any, key: str) -> tuple[str, ...]:
    """The ``aliases`` of each network the service joins: more names of it on the workspace's
    one network (a file's networks are all that one: compose_keys)."""
    found: list[str] = []
    for network, options in value.items() if isinstance(value, dict) else ():
        aliases = options.get("aliases", []) if isinstance(options, dict) else []
        where = f"{key}.{network}.aliases"
        if not isinstance(aliases, list) or len(aliases) > MAX_ALIASES:
            raise fail(path, where, f"a list of at most {MAX_ALIASES} names")
        for alias in aliases:
            if not isinstance(alias, str) or not CONTAINER_NAME.match(alias):
                raise fail(path, where, "names of letters, digits, '_', '.' or '-' (at most 63)")
            found.append(alias)
    return tuple(dict.fromkeys(found))


def _logging(value: Any, path: Any, key: str) -> tuple[str, dict[str, str]] | None:
    """``logging``: a driver that keeps the logs in the engine's files (:data:`LOG_DRIVERS`)
    with its rotation options (``max-size``, ``max-file``, ``compress``), or None (the engine's
    default). Rotation only bounds what the logs take on disk."""
    if value is None:
        return None
    if not isinstance(value, dict) or set(value) - {"driver", "options"}:
        raise fail(path, key, "a mapping of driver and options")
    driver = value.get("driver", "json-file")
    if driver not in LOG_DRIVERS:
        raise fail(
            path,
            f"{key}.driver",
            f"{' or '.join(LOG_DRIVERS)} (other drivers send the logs out of the engine: "
            "to the host's syslog or journal, or over the network)",
        )
    options = value.get("options") or {}
    if not isinstance(options, dict):
        raise fail(path, f"{key}.options", "a mapping")
    result: dict[str, str] = {}
    for name, option in options.items():
        text = scalar_text(option)
        shape = LOG_OPTIONS.get(str(name))
        if shape is None or isinstance(option, dict | list) or not shape.match(text):
            raise fail(
                path, f"{key}.options.{name}", f"one of {', '.join(LOG_OPTIONS)}: a plain value"
            )
        result[str(name)] = text
    return driver, result


def _ulimits(value: Any, path: Any, key: str) -> tuple[tuple[str, int, int], ...]:
    """``ulimits``: NAME: LIMIT or NAME: {soft, hard} (-1: unlimited), for the limits that bound
    what the container's processes may hold (:data:`ULIMITS`: files, memory, processes, sizes).
    The ones that let a process raise its own scheduling priority above the host's (``nice``,
    ``rtprio``, ``rttime``: without a capability, up to the limit) are refused."""
    if value is None:
        return ()
    if not isinstance(value, dict):
        raise fail(path, key, "a mapping of NAME: LIMIT or NAME: {soft, hard}")
    found: list[tuple[str, int, int]] = []
    for name, limit in value.items():
        where = f"{key}.{name}"
        if name in ULIMITS_WIDENING:
            raise fail(
                path,
                where,
                "a limit other than nice, rtprio or rttime (they let a "
                "process raise its own priority over the host's)",
            )
        if name not in ULIMITS:
            raise fail(path, where, f"one of {', '.join(sorted(ULIMITS))}")
        pair = limit if isinstance(limit, dict) and set(limit) <= {"soft", "hard"} else None
        soft: Any = limit if pair is None else pair.get("soft")
        hard: Any = limit if pair is None else pair.get("hard")
        if not (_limit_value(soft) and _limit_value(hard)):
            raise fail(path, where, "a whole number from -1 (unlimited) up, or {soft, hard}")
        low, high = int(soft), int(hard)
        if high != -1 and (low == -1 or low > high):
            raise fail(path, where, "a soft limit no higher than the hard one")
        found.append((str(name), low, high))
    return tuple(found)


def _limit_value(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool) and -1 <= value < 2**63


def _cap_drop(value: Any, path: Any, key: str) -> tuple[str, ...]:
    """``cap_drop``: capabilities the container gives up (``ALL``, ``NET_RAW``, ``CAP_CHOWN``):
    less than the engine's default set, never more (``cap_add`` is refused)."""
    if value is None:
        return ()
    if not isinstance(value, list):
        raise fail(path, key, "a list of capability names")
    names: list[str] = []
    for i, item in enumerate(value):
        match = CAPABILITY.match(item) if isinstance(item, str) else None
        if match is None:
            raise fail(path, f"{key}[{i}]", "a capability name such as ALL or NET_RAW")
        names.append(match.group(1))
    return tuple(dict.fromkeys(names))
