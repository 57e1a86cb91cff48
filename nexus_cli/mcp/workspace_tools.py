"""The workspace tools of ``nexus mcp``: the same library calls as ``nexus workspace …``.

Every workspace, template and service name goes through :mod:`nexus_cli.validate` first.
"""

from __future__ import annotations

import dataclasses
from typing import Any

from nexus_cli import validate
from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.telemetry.journal import invocation

EXEC_OUTPUT_LIMIT = 64 * 1024  # bytes of combined output kept (the tail)
VAR_KEY_CHARS = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_")


def _plain(value: Any) -> Any:
    """Dataclasses (and lists of them) as the JSON the CLI's ``--json`` prints."""
    import json

    from nexus_cli.output import _default

    return json.loads(json.dumps(value, default=_default))


def workspace_list(project: Project) -> dict[str, Any]:
    from nexus_cli.workspaces.recovery import overview

    invocation.note(event_type="workspace")
    result = overview(project)
    return {"engine": result.engine, "workspaces": _plain(result.workspaces)}


def workspace_status(project: Project, name: str) -> dict[str, Any]:
    from nexus_cli.workspaces.recovery import overview

    validate.workspace_name(name)
    invocation.note(event_type="workspace", workspace=name)
    view = overview(project, only=name).workspaces[0]
    result: dict[str, Any] = _plain(view)
    return result


def _check_vars(variables: dict[str, str]) -> dict[str, str]:
    for key in variables:
        if not key or not set(key) <= VAR_KEY_CHARS or key[0].isdigit():
            raise UsageError(
                f"invalid template variable name {key[:40]!r}",
                hint="use letters, digits and '_' (e.g. POSTGRES_VERSION)",
            )
    return variables


def workspace_create(
    project: Project, name: str, template: str = "bare", variables: dict[str, str] | None = None
) -> dict[str, Any]:
    from nexus_cli.workspaces import lifecycle

    validate.workspace_name(name)
    validate.template_name(template)
    result = lifecycle.create(
        project, name, template_name=template, variables=_check_vars(variables or {})
    )
    return {
        "name": result.name,
        "path": str(result.path),
        "branch": result.branch,
        "template": result.template,
        "files_written": result.files_written,
        "ports": _plain(result.up.ports if result.up else []),
    }


def workspace_up(project: Project, name: str) -> dict[str, Any]:
    from nexus_cli.workspaces import lifecycle

    validate.workspace_name(name)
    result: dict[str, Any] = _plain(dataclasses.asdict(lifecycle.up(project, name)))
    return result


def workspace_down(project: Project, name: str) -> dict[str, Any]:
    from nexus_cli.workspaces import lifecycle

    validate.workspace_name(name)
    return {"name": name, "stopped": lifecycle.down(project, name)}


def workspace_exec(
    project: Project, name: str, command: list[str], service: str | None = None
) -> dict[str, Any]:
    """Run ``command`` (an argv list, no shell) in the service; keep the last 64 KiB of output."""
    from nexus_cli.workspaces.container_io import exec_command, find_container

    validate.workspace_name(name)
    if service is not None:
        validate.service_name(service)
    if not command or not command[0]:
        raise UsageError("command must be a non-empty list of arguments, e.g. ['ls', '-la']")
    invocation.note(event_type="workspace", workspace=name)
    client, container = find_container(project, name, service)
    kept = bytearray()
    dropped = 0

    def write(chunk: bytes, is_err: bool) -> None:
        nonlocal dropped
        kept.extend(chunk)
        if len(kept) > EXEC_OUTPUT_LIMIT:
            dropped += len(kept) - EXEC_OUTPUT_LIMIT
            del kept[: len(kept) - EXEC_OUTPUT_LIMIT]

    code = exec_command(client, container, list(command), write)
    return {
        "exit_code": code,
        "output": kept.decode("utf-8", errors="replace"),
        "truncated_bytes": dropped,
    }
