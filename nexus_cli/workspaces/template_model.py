"""The parsed form of a workspace template (what :mod:`templates` produces)."""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from nexus_cli.errors import ConfigError


@dataclass(frozen=True)
class PortSpec:
    container_port: int
    preferred_host_port: int
    protocol: str = "tcp"


@dataclass(frozen=True)
class VolumeSpec:
    source: str
    target: str
    named: bool
    read_only: bool = False


@dataclass(frozen=True)
class HealthSpec:
    test: list[str]
    interval_s: float = 2.0
    timeout_s: float = 5.0
    retries: int = 3
    start_period_s: float = 0.0


@dataclass(frozen=True)
class ServiceSpec:
    name: str
    image: str
    command: list[str] | str | None = None
    environment: dict[str, str] = field(default_factory=dict)
    ports: list[PortSpec] = field(default_factory=list)
    volumes: list[VolumeSpec] = field(default_factory=list)
    healthcheck: HealthSpec | None = None
    depends_on: list[str] = field(default_factory=list)
    working_dir: str = "/workspace"


@dataclass(frozen=True)
class Hook:
    service: str
    command: list[str] | str


@dataclass(frozen=True)
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
        import dataclasses

        data = dataclasses.asdict(self)
        data["path"] = str(self.path)
        return data
