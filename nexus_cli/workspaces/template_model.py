"""The parsed form of a workspace template (what :mod:`templates` produces).

Its services and hooks are :mod:`service_model` classes, loaded only by templates that have some:
the ``bare`` template's create makes one class here instead of six (~1.5 ms each), and that one
is a :class:`~nexus_cli.plain.Plain` class rather than a frozen dataclass (~4 ms with the
``dataclasses`` import).
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli.errors import ConfigError
from nexus_cli.plain import Plain

if TYPE_CHECKING:
    from nexus_cli.workspaces.service_model import Hook, ServiceSpec


class Template(Plain):
    def __init__(
        self,
        name: str,
        path: Path,
        origin: str,  # "project", "user" or "builtin"
        description: str = "",
        services: dict[str, ServiceSpec] | None = None,
        variables: dict[str, str | None] | None = None,
        files: dict[str, str] | None = None,
        hooks: dict[str, list[Hook]] | None = None,
        default_service: str | None = None,
    ) -> None:
        self.name = name
        self.path = path
        self.origin = origin
        self.description = description
        self.services: dict[str, ServiceSpec] = services or {}
        self.variables: dict[str, str | None] = variables or {}
        self.files: dict[str, str] = files or {}
        self.hooks: dict[str, list[Hook]] = hooks or {}
        self.default_service = default_service

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
        """The fields in order, services and hooks as dicts (what ``dataclasses.asdict`` gave)."""
        import dataclasses

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
        }
