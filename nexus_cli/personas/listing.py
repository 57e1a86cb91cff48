"""The persona queries every front end offers: the personas you can add, one of them, the active.

The one implementation behind ``nexus persona list|show|current --json`` and the MCP tools
``persona_list`` and ``persona_current`` (ADR 0007): each returns a result object whose
``to_json()`` is the shape in docs/schemas/v1/persona-*.schema.json.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli import validate
from nexus_cli.personas.catalog import load, load_all
from nexus_cli.personas.installer import Scope, active_rows, global_scope, project_scope
from nexus_cli.personas.model import Persona


def scope_for(project_root: Path | None, *, is_global: bool = False) -> Scope:
    """The project's scope, or the user's with ``is_global`` or outside any project."""
    if is_global or project_root is None:
        return global_scope(project_root)
    return project_scope(project_root)


def summary(p: Persona) -> dict[str, Any]:
    return {
        "name": p.name,
        "display_name": p.display_name,
        "description": p.description,
        "origin": p.origin,
        "extends": p.extends,
        "levels": list(p.levels),
        "default_level": p.default_level,
        "commands": [c.stem for c in p.commands],
        "files": [f.target for f in p.files],
        "permissions": {
            "allow": list(p.permissions.allow),
            "ask": list(p.permissions.ask),
            "deny": list(p.permissions.deny),
        },
        "environment": p.environment,
    }


@dataclass(frozen=True)
class PersonaListing:
    personas: list[Persona]

    def to_json(self) -> list[dict[str, Any]]:
        return [summary(p) for p in self.personas]


@dataclass(frozen=True)
class PersonaDetail:
    persona: Persona

    def to_json(self) -> dict[str, Any]:
        return {**summary(self.persona), "instructions": self.persona.instructions}


@dataclass(frozen=True)
class ActivePersonas:
    """The active personas of a scope, as its lock file records them."""

    rows: list[dict[str, Any]]

    def to_json(self) -> list[dict[str, Any]]:
        return self.rows


def list_personas(scope: Scope) -> PersonaListing:
    """Every persona ``scope`` can add: built-in, the user's and the project's."""
    return PersonaListing(load_all(scope.search()))


def show(scope: Scope, name: str) -> PersonaDetail:
    return PersonaDetail(load(validate.persona_name(name), scope.search()))


def current(scope: Scope) -> ActivePersonas:
    return ActivePersonas(active_rows(scope))
