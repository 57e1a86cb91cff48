"""The parsed form of a workspace template (what :mod:`templates` produces).

Its services and hooks are :mod:`service_model` classes, loaded only by templates that have some.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from nexus_cli.errors import ConfigError, GateNeedsApprovalError
from nexus_cli.terminal import escape

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

    @property
    def from_repository(self) -> bool:
        """A template in the project's ``.nexus/templates/`` is repository content: its
        container hooks run only once a person approved them (a built-in or one of the user's
        own runs as written)."""
        return self.origin == "project"

    def hooks_of(self, events: Sequence[str]) -> list[tuple[str, Hook]]:
        """``(event, hook)`` of each container hook of ``events``, in the template's order."""
        return [(event, hook) for event in events for hook in self.hooks.get(event, [])]

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


# What a create or an up runs in containers: ``post_create`` once, ``post_start`` at each start.
CONTAINER_HOOK_EVENTS = ("post_create", "post_start")

# Decides, before anything is made or started, whether ``events``' container hooks of a template
# may run: returns when they may, raises :class:`GateNeedsApprovalError` when one waits for a
# person. The one that reads the approvals is
# :func:`nexus_cli.tasks.workspace_hooks.container_hooks`.
HookCheck = Callable[[Template, Sequence[str]], None]


def hooks_wait(template: Template, waiting: Sequence[tuple[str, Hook]]) -> GateNeedsApprovalError:
    """The exit-5 error for ``template``'s container hooks that nobody approved: nothing ran."""
    event, first = waiting[0]
    more = f" ({len(waiting) - 1} more too)" if len(waiting) > 1 else ""
    again = " (with the --var values you create it with)" if template.variables else ""
    return GateNeedsApprovalError(
        f"the project's template {template.name!r}: its {event} hook "
        f"`{escape(first.text, newlines=False)}` in {first.service} waits for a person's "
        f"approval{more}",
        hint=f"a person must approve it: nexus workspace hooks --approve --template "
        f"{template.name}{again}",
    )


def refuse_repository_hooks(template: Template, events: Sequence[str]) -> None:
    """The check when the caller has none: a repository's container hooks never run unapproved
    (a built-in template's or the user's own do)."""
    waiting = template.hooks_of(events) if template.from_repository else []
    if waiting:
        raise hooks_wait(template, waiting)
