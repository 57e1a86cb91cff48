"""A template's own sections: the services it runs (checked together: names, dependencies) and
its ``x-nexus`` files, hooks, default service and host ports.

Every error names the template file, the key (``x-nexus.hooks.post_create[0].service``) and what
was expected; one service is :mod:`service_parsing`'s.
"""

from __future__ import annotations

import re
from pathlib import PurePosixPath
from typing import Any

from nexus_cli import dot_git
from nexus_cli.errors import ConfigError
from nexus_cli.workspaces.service_model import Hook, ServiceSpec
from nexus_cli.workspaces.service_parsing import fail, parse_command, parse_service
from nexus_cli.workspaces.template_model import Template

HOOK_KINDS = ("post_create", "post_start")
HOST_PORT_NAME = re.compile(r"^[a-z][a-z0-9-]{0,31}\Z")
MAX_HOST_PORTS = 16


def with_services(base: Template, nexus: dict[str, Any], services_raw: dict[str, Any]) -> Template:
    """``base`` with its services (``services_raw``), and the files, hooks and default service of
    its ``x-nexus`` section (``nexus``), parsed and checked."""
    path = base.path
    services = {key: parse_service(str(key), spec, path) for key, spec in services_raw.items()}
    template = Template(
        base.name,
        base.path,
        base.origin,
        base.description,
        variables=base.variables,
        services=services,
        files=parse_files(nexus.get("files"), path),
        hooks=parse_hooks(nexus.get("hooks"), path, services),
        default_service=parse_default_service(nexus.get("default_service"), path, services),
        host_ports=base.host_ports,
    )
    check_dependencies(template)
    template.start_order()
    return template


def parse_files(value: Any, path: Any) -> dict[str, str]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(path, "x-nexus.files", "a mapping of relative path: content")
    result: dict[str, str] = {}
    for rel, content in value.items():
        text = str(rel)
        parts = PurePosixPath(text).parts
        if not parts or text.startswith("/") or ".." in parts or "\\" in text or "\x00" in text:
            raise fail(path, f"x-nexus.files.{rel}", "a relative path inside the worktree")
        if dot_git.inside_git_dir(text):  # .git, .GIT, nested sub/.git: git's own files, never ours
            raise fail(path, f"x-nexus.files.{rel}", "a path outside any .git folder")
        if not isinstance(content, str):
            raise fail(path, f"x-nexus.files.{rel}", "the file's text")
        result[str(rel)] = content
    return result


def parse_hooks(value: Any, path: Any, services: dict[str, ServiceSpec]) -> dict[str, list[Hook]]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise fail(path, "x-nexus.hooks", "a mapping with post_create and/or post_start")
    result: dict[str, list[Hook]] = {}
    for kind, entries in value.items():
        key = f"x-nexus.hooks.{kind}"
        if kind not in HOOK_KINDS:
            raise fail(path, key, f"one of {', '.join(HOOK_KINDS)}")
        if not isinstance(entries, list):
            raise fail(path, key, "a list of {service: NAME, command: ...}")
        hooks: list[Hook] = []
        for i, entry in enumerate(entries):
            if not isinstance(entry, dict) or entry.get("service") not in services:
                raise fail(
                    path, f"{key}[{i}].service", f"one of the services: {', '.join(services)}"
                )
            command = parse_command(entry.get("command"), path, f"{key}[{i}].command")
            if command is None:
                raise fail(path, f"{key}[{i}].command", "a string or a list of strings")
            hooks.append(Hook(service=str(entry["service"]), command=command))
        result[str(kind)] = hooks
    return result


def parse_default_service(value: Any, path: Any, services: dict[str, ServiceSpec]) -> str | None:
    if value is None:
        return None
    if value not in services:
        raise fail(path, "x-nexus.default_service", f"one of the services: {', '.join(services)}")
    return str(value)


def check_dependencies(template: Template) -> None:
    for service in template.services.values():
        for dep in service.depends_on:
            if dep not in template.services:
                raise fail(
                    template.path,
                    f"services.{service.name}.depends_on",
                    f"names of services in this template, not {dep!r}",
                )


def parse_host_ports(value: Any, path: Any) -> tuple[str, ...]:
    """``x-nexus.host_ports`` of a template: a list of distinct short lowercase names."""
    if value is None:
        return ()
    if not isinstance(value, list) or len(value) > MAX_HOST_PORTS:
        raise ConfigError(
            f"{path}: x-nexus.host_ports: expected a list of up to {MAX_HOST_PORTS} names"
        )
    for name in value:
        if not isinstance(name, str) or not HOST_PORT_NAME.match(name):
            raise ConfigError(
                f"{path}: x-nexus.host_ports: {name!r} is not a name "
                "(lowercase letters, digits, -; 32 characters at most)"
            )
    if len(set(value)) != len(value):
        raise ConfigError(f"{path}: x-nexus.host_ports: a name is listed twice")
    return tuple(value)
