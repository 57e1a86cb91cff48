"""The parsed form of a workspace template (what :mod:`templates` produces).

Its services and hooks are :mod:`service_model` classes, loaded only by templates that have some.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli.errors import ConfigError

if TYPE_CHECKING:
    from nexus_cli.workspaces.service_model import Hook, ServiceSpec


@dataclass(frozen=True, slots=True)
class Template:
    name: str
    path: Path
    origin: str  # "project", "user" or "builtin"
    description: str = ""
    services: dict[str, ServiceSpec] = field(default_factory=dict)
    variables: dict[str, str | None] = field(default_factory=dict)
    files: dict[str, str] = field(default_factory=dict)
    hooks: dict[str, list[Hook]] = field(default_factory=dict)
    default_service: str | None = None
    host_ports: tuple[
        str, ...
    ] = ()  # names of ports for processes on the host (x-nexus.host_ports)

    def start_order(self) -> list[ServiceSpec]:
        """Services ordered so that each comes after the services it depends on."""
        ordered: list[str] = []
        visiting: set[str] = set()

        def visit(name: str) -> None:
            if name in ordered:
                return
            if name in visiting:
                raise ConfigError(f"{self.path}: services.{name}.depends_on: dependency cycle")
            visiting.add(name)
            for dep in self.services[name].depends_on:
                visit(dep)
            visiting.discard(name)
            ordered.append(name)

        for name in self.services:
            visit(name)
        return [self.services[n] for n in ordered]

    def to_dict(self) -> dict[str, Any]:
        """The fields in order, the path as text, services and hooks as dicts."""
        return {
            "name": self.name,
            "path": str(self.path),
            "origin": self.origin,
            "description": self.description,
            "services": {k: dataclasses.asdict(v) for k, v in self.services.items()},
            "variables": dict(self.variables),
            "files": dict(self.files),
            "hooks": {k: [dataclasses.asdict(h) for h in v] for k, v in self.hooks.items()},
            "default_service": self.default_service,
            "host_ports": list(self.host_ports),
        }
