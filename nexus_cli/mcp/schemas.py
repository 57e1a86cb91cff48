"""Which JSON Schema (docs/schemas/v1) each MCP tool's result has, and the check against it.

An MCP tool returns what its CLI counterpart prints with ``--json`` (ADR 0007), so it has that
command's schema. The tests validate every result (tests/mcp/test_front_end_equivalence.py);
with ``NEXUS_DEBUG=1`` the server checks each result itself too, where the schemas are at hand
(a source checkout: they are documentation, not installed with the package).
"""

from __future__ import annotations

import json
import os
from functools import cache
from importlib.util import find_spec
from pathlib import Path
from typing import Any

SCHEMA_DIR = Path(__file__).resolve().parents[2] / "docs" / "schemas" / "v1"

# tool -> schema name (the file docs/schemas/v1/<name>.schema.json).
TOOL_SCHEMAS = {
    "task_ready": "task-ready",
    "task_list": "task-list",
    "task_show": "task-show",
    "task_context": "mcp-task-context",
    "task_history": "task-history",
    "task_blocked": "task-blocked",
    "task_create": "task-create",
    "task_update": "task-edit",
    "task_claim": "task-claim",
    "task_start": "task-start",
    "task_note": "task-note",
    "task_verify": "task-verify",
    "task_complete": "task-complete",
    "remember": "remember",
    "forget": "forget",
    "persona_list": "persona-list",
    "persona_current": "persona-current",
    "stats": "stats",
    "insights": "insights",
    "gpu_impact": "gpu-impact",
    "workspace_list": "workspace-list",
    "workspace_status": "workspace-status",
    "workspace_create": "workspace-create",
    "workspace_up": "workspace-up",
    "workspace_down": "workspace-down",
}


def debug_checks() -> bool:
    """Whether the server validates its results: ``NEXUS_DEBUG=1``, the schemas present and
    ``jsonschema`` (the test extra) installed."""
    return (
        os.environ.get("NEXUS_DEBUG") == "1"
        and SCHEMA_DIR.is_dir()
        and find_spec("jsonschema") is not None
    )


@cache
def _validator(name: str) -> Any:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    resources = [
        (p.name, Resource.from_contents(json.loads(p.read_text())))
        for p in SCHEMA_DIR.glob("*.schema.json")
    ]
    registry: Registry[Any] = Registry().with_resources(resources)
    schema = json.loads((SCHEMA_DIR / f"{name}.schema.json").read_text())
    return Draft202012Validator(schema, registry=registry)


def errors(name: str, document: Any) -> list[str]:
    """Where ``document`` breaks schema ``name``, one line each (empty: it validates)."""
    return [
        f"{'/'.join(map(str, e.absolute_path)) or '(top)'}: {e.message[:300]}"
        for e in _validator(name).iter_errors(document)
    ]


def tool_errors(tool: str, result: Any) -> list[str]:
    """Where the result of MCP tool ``tool`` breaks its schema (none for a tool without one)."""
    name = TOOL_SCHEMAS.get(tool)
    return [] if name is None else errors(name, result)
