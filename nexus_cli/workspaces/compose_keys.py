"""Which keys of a Compose file a workspace runs, and the names of those it does not.

:func:`unsupported_keys` walks a whole Compose document (its ``extends`` already merged) and
returns every key Nexus would otherwise have to drop or cannot allow, each as a dotted path with
the reason, so that one error names them all. The keys that would let a repository widen what a
container may do to the host are the template format's refusals (docs/security.md).
"""

from __future__ import annotations

import re
from typing import Any

from nexus_cli.workspaces import compose_runtime, compose_secrets

PROFILE = re.compile(r"^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}\Z")  # a profile name

TOP_KEYS = frozenset({"services", "volumes", "networks", "name", "version", "secrets", "configs"})
# The service keys read; with them those of how the container runs inside its own namespace
# (compose_runtime.KEYS) and the files mounted read-only (compose_secrets.py).
_SERVICE_OWN_KEYS = frozenset(
    {
        "image",
        "build",
        "command",
        "entrypoint",
        "environment",
        "env_file",
        "ports",
        "expose",
        "volumes",
        "healthcheck",
        "depends_on",
        "working_dir",
        "profiles",
        "deploy",
        "restart",
        "networks",
        "links",
        "user",
        "pull_policy",
        "platform",
        "secrets",
        "configs",
        # Compose Watch's (`docker compose watch`, `up --watch`): `up` ignores it, and so does a
        # workspace, whose worktree is where the files are edited
        "develop",
        # Compose's older spelling of deploy.resources (compose_resources.py)
        "cpus",
        "mem_limit",
        "mem_reservation",
        "cpu_shares",
        "pids_limit",
    }
)
SERVICE_KEYS = _SERVICE_OWN_KEYS | compose_runtime.KEYS
BUILD_KEYS = frozenset({"context", "dockerfile", "args", "target"})
HEALTH_KEYS = frozenset({"test", "interval", "timeout", "retries", "start_period", "disable"})
DEPENDS_KEYS = frozenset({"condition", "required", "restart"})
PORT_KEYS = frozenset(
    {"target", "published", "protocol", "host_ip", "mode", "name", "app_protocol"}
)
VOLUME_KEYS = frozenset({"type", "source", "target", "read_only", "volume", "tmpfs"})
ENV_FILE_KEYS = frozenset({"path", "required", "format"})
LIMIT_KEYS = frozenset({"cpus", "memory", "pids"})
RESERVATION_KEYS = frozenset({"memory"})
NETWORK_KEYS = frozenset({"driver"})
# Keys refused because they would widen what the repository's containers may do to the host.
# (``user`` is not one: the file that names the user also chooses the image, which may run as
# root, and no user in the container's namespace can do more than its root.)
WIDENING = frozenset(
    {
        "privileged",
        "cap_add",
        "devices",
        "security_opt",
        "network_mode",
        "pid",
        "ipc",
        "userns_mode",
        "sysctls",
        "volumes_from",
        "cgroup_parent",
        "cgroup",
        "device_cgroup_rules",
        "runtime",
        "uts",
        "gpus",
    }
)
REFUSED = "refused: widens what the container may do to the host"
UNSUPPORTED = "not supported"


X_NEXUS = (
    "x-nexus (a Compose file runs as it is: put Nexus's settings in a template that points at "
    "it, `x-nexus: {compose: FILE, ...}` in .nexus/templates/NAME.yaml)"
)


def extension(key: Any) -> bool:
    """A Compose extension field (``x-…``), which Compose allows in any mapping and ignores;
    ``x-nexus`` is not one (Nexus's settings are a template's, never the project's file's)."""
    return str(key).startswith("x-") and key != "x-nexus"


def unsupported_keys(document: dict[str, Any]) -> list[str]:
    """``KEY (reason)`` for every key of ``document`` a workspace does not run, in file order."""
    found: list[str] = []
    for key in document:
        if key == "x-nexus":
            found.append(X_NEXUS)
        elif key not in TOP_KEYS and not extension(key):
            found.append(f"{key} ({UNSUPPORTED})")
    found += compose_secrets.top_problems(document)
    for name, spec in _mapping(document.get("volumes")).items():
        if isinstance(spec, dict):
            spec = {k: v for k, v in spec.items() if not extension(k)}
        if spec not in (None, {}, {"driver": "local"}):  # local: the engine's own, the default
            found.append(
                f"volumes.{name} (only a name: each workspace gets volumes of its own; "
                "drivers, driver_opts, external and name are refused)"
            )
    for name, spec in _mapping(document.get("networks")).items():
        extra = [k for k in _mapping(spec) if k not in NETWORK_KEYS and not extension(k)]
        driver = _mapping(spec).get("driver", "bridge") if isinstance(spec, dict) else "bridge"
        if (spec is not None and not isinstance(spec, dict)) or extra or driver != "bridge":
            found.append(f"networks.{name} (only a name: a workspace has one network of its own)")
    for name, spec in _mapping(document.get("services")).items():
        if isinstance(spec, dict):
            found += [f"services.{name}.{key}" for key in service_keys(spec)]
    return found


def service_keys(spec: dict[str, Any]) -> list[str]:
    """The unsupported keys of one service, relative to it, each with its reason."""
    found: list[str] = []
    for key in spec:
        if key == "x-nexus":
            found.append(X_NEXUS)
        elif key in WIDENING:
            found.append(f"{key} ({REFUSED})")
        elif key not in SERVICE_KEYS and not extension(key):
            found.append(f"{key} ({UNSUPPORTED})")
    found += compose_secrets.service_problems(spec)
    if isinstance(spec.get("build"), dict):
        found += _extra(spec["build"], BUILD_KEYS, "build")
    found += _extra(_mapping(spec.get("healthcheck")), HEALTH_KEYS, "healthcheck")
    depends = spec.get("depends_on")
    if isinstance(depends, dict):
        for dep, entry in depends.items():
            found += _extra(_mapping(entry), DEPENDS_KEYS, f"depends_on.{dep}")
    for i, port in enumerate(_list(spec.get("ports"))):
        if isinstance(port, dict):
            found += _extra(port, PORT_KEYS, f"ports[{i}]")
    for i, volume in enumerate(_list(spec.get("volumes"))):
        if isinstance(volume, dict):
            found += _extra(volume, VOLUME_KEYS, f"volumes[{i}]")
            found += _extra(_mapping(volume.get("volume")), {"nocopy"}, f"volumes[{i}].volume")
            found += _extra(_mapping(volume.get("tmpfs")), {"size", "mode"}, f"volumes[{i}].tmpfs")
            if "tmpfs" in volume and volume.get("type") != "tmpfs":
                found.append(f"volumes[{i}].tmpfs (only with type: tmpfs)")
    for i, entry in enumerate(_list(spec.get("env_file"))):
        if isinstance(entry, dict):
            found += _extra(entry, ENV_FILE_KEYS, f"env_file[{i}]")
    networks = spec.get("networks")
    if isinstance(networks, dict):
        for net, options in networks.items():
            found += _extra(_mapping(options), {"aliases"}, f"networks.{net}")
    found += _deploy_keys(spec.get("deploy"))
    return found


# Where a service's own structure nests: extension fields are dropped there, and nowhere else
# (data such as ``environment``, ``labels`` or build ``args`` keeps an ``x-`` name). "*" is each
# entry of a list, or each value of a mapping keyed by names (``depends_on``, ``networks``).
_STRUCTURE: dict[str, Any] = {
    "build": {},
    "healthcheck": {},
    "deploy": {"resources": {"limits": {}, "reservations": {}}},
    "depends_on": {"*": {}},
    "ports": {"*": {}},
    "networks": {"*": {}},
    "env_file": {"*": {}},
    "volumes": {"*": {"volume": {}, "tmpfs": {}}},
}


def without_extensions(spec: dict[str, Any]) -> dict[str, Any]:
    """A service's mapping without the extension fields of its own structure, which
    :func:`service_keys` let through: nothing that reads it has to know them."""
    result: dict[str, Any] = _bare(spec, _STRUCTURE)
    return result


def _bare(value: Any, structure: dict[str, Any]) -> Any:
    if "*" in structure:
        if isinstance(value, list):
            return [_bare(entry, structure["*"]) for entry in value]
        if isinstance(value, dict):
            return {name: _bare(entry, structure["*"]) for name, entry in value.items()}
        return value
    if not isinstance(value, dict):
        return value
    return {
        key: _bare(item, structure[key]) if key in structure else item
        for key, item in value.items()
        if not extension(key)
    }


def _deploy_keys(deploy: Any) -> list[str]:
    deploy = _mapping(deploy)
    found = _extra(deploy, frozenset({"resources"}), "deploy")
    resources = _mapping(deploy.get("resources"))
    found += _extra(resources, frozenset({"limits", "reservations"}), "deploy.resources")
    found += _extra(_mapping(resources.get("limits")), LIMIT_KEYS, "deploy.resources.limits")
    reservations = _mapping(resources.get("reservations"))
    found += _extra(reservations, RESERVATION_KEYS, "deploy.resources.reservations")
    return found


def _extra(mapping: dict[str, Any], allowed: frozenset[str] | set[str], prefix: str) -> list[str]:
    return [
        f"{prefix}.{key} ({UNSUPPORTED})"
        for key in mapping
        if key not in allowed and not extension(key)
    ]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


def _list(value: Any) -> list[Any]:
    return value if isinstance(value, list) else []
