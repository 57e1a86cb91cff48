"""One core, two front ends: each workspace operation that both the CLI and MCP offer gives the
same JSON through ``nexus workspace … --json`` and through the MCP tool (the SDK's own client
talking to a real ``nexus mcp`` process), and both validate against the one schema in
``docs/schemas/v1``.

Operations compared: create, list, status, up, down (``workspace_exec`` has no ``--json``
counterpart: the CLI streams the command's output). Invalid input is refused by both with the
same message. Only values that differ by nature are masked: the workspace's name and path where
each front end made its own workspace, the host port each was given, and the time an image
check took (``pull_ms``).
"""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.mcp.schemas import TOOL_SCHEMAS
from tests.conftest import run_nexus
from tests.mcp.conftest import mcp_session, ok, text_of
from tests.test_json_schemas import _errors

VOLATILE = ("pull_ms",)
# What this file compares (tests/mcp/test_front_end_equivalence.py counts them as covered).
COMPARED_WORKSPACE_TOOLS = {
    "workspace_create",
    "workspace_list",
    "workspace_status",
    "workspace_up",
    "workspace_down",
}


def cli_json(*args: str) -> Any:
    result = run_nexus(*args, "--json")
    assert result.exit_code == 0, result.stderr
    return json.loads(result.stdout)


def _masked(document: Any) -> Any:
    if isinstance(document, dict):
        return {k: "<varies>" if k in VOLATILE else _masked(v) for k, v in document.items()}
    if isinstance(document, list):
        return [_masked(v) for v in document]
    return document


def assert_same(schema: str, cli: Any, mcp: Any) -> None:
    assert _errors(schema, cli) == []
    assert _errors(schema, mcp) == []
    assert _masked(cli) == _masked(mcp)


def renamed(document: Any, old: str, new: str) -> Any:
    """``document`` with workspace name ``old`` (in names and paths) spelled ``new``."""
    return json.loads(json.dumps(document).replace(old, new))


def without_host_ports(document: dict[str, Any]) -> dict[str, Any]:
    return {**document, "ports": [{**p, "host_port": 0} for p in document["ports"]]}


def test_bare_workspace_operations_agree(project: Path) -> None:
    async def session() -> dict[str, Any]:
        found: dict[str, Any] = {}
        async with mcp_session(project) as s:

            async def tool(tool_name: str, /, **arguments: Any) -> Any:
                return ok(await s.call_tool(tool_name, arguments))

            found["create"] = (
                cli_json("workspace", "create", "cli-ws"),
                await tool("workspace_create", name="mcp-ws"),
            )
            found["list"] = (cli_json("workspace", "list"), await tool("workspace_list"))
            for name in ("cli-ws", "mcp-ws"):
                found[f"status {name}"] = (
                    cli_json("workspace", "status", name),
                    await tool("workspace_status", name=name),
                )
                found[f"up {name}"] = (
                    cli_json("workspace", "up", name),
                    await tool("workspace_up", name=name),
                )
                found[f"down {name}"] = (
                    cli_json("workspace", "down", name),
                    await tool("workspace_down", name=name),
                )
            found["list after"] = (cli_json("workspace", "list"), await tool("workspace_list"))
        return found

    found = asyncio.run(session())
    cli_create, mcp_create = found.pop("create")
    assert cli_create["name"] == "cli-ws" and cli_create["template"] == "bare"
    assert_same(
        TOOL_SCHEMAS["workspace_create"], renamed(cli_create, "cli-ws", "mcp-ws"), mcp_create
    )
    assert [w["name"] for w in found["list"][0]["workspaces"]] == ["cli-ws", "mcp-ws"]
    compared = {"workspace_create"}
    for key, (cli, mcp) in found.items():
        compared.add(f"workspace_{key.split()[0]}")
        assert_same(TOOL_SCHEMAS[f"workspace_{key.split()[0]}"], cli, mcp)
    assert compared == COMPARED_WORKSPACE_TOOLS


@pytest.mark.parametrize(
    ("cli_args", "tool", "arguments", "message"),
    [
        (
            ("workspace", "create", "ws", "--var", "1BAD=x"),
            "workspace_create",
            {"name": "ws", "vars": {"1BAD": "x"}},
            "invalid template variable name '1BAD'",
        ),
        (
            ("workspace", "create", "Bad Name"),
            "workspace_create",
            {"name": "Bad Name"},
            "invalid workspace name 'Bad Name'",
        ),
        (
            ("workspace", "status", "a..b"),
            "workspace_status",
            {"name": "a..b"},
            "invalid workspace name 'a..b'",
        ),
        (
            ("workspace", "create", "ws", "--template", "-x"),
            "workspace_create",
            {"name": "ws", "template": "-x"},
            "invalid template name '-x'",
        ),
        (
            ("workspace", "down", "nobody"),
            "workspace_down",
            {"name": "nobody"},
            "no workspace named 'nobody'",
        ),
    ],
)
def test_both_front_ends_refuse_the_same_input(
    project: Path, cli_args: tuple[str, ...], tool: str, arguments: dict[str, Any], message: str
) -> None:
    async def session() -> Any:
        async with mcp_session(project) as s:
            return await s.call_tool(tool, arguments)

    cli = run_nexus(*cli_args, "--json")
    assert cli.exit_code != 0 and cli.stdout == ""
    assert f"error: {message}" in cli.stderr
    answer = asyncio.run(session())
    assert answer.is_error and message in text_of(answer)
    assert not (project / ".nexus" / "worktrees" / "ws").exists()


@pytest.mark.docker
def test_a_workspace_with_a_service_agrees(project: Path, test_image: str) -> None:
    templates = project / ".nexus" / "templates"
    templates.mkdir(parents=True)
    (templates / "one.yaml").write_text(
        f"services:\n  app:\n    image: {test_image}\n    command: [sleep, '600']\n"
        "    ports: ['8080']\n"
    )

    async def session() -> dict[str, Any]:
        found: dict[str, Any] = {}
        async with mcp_session(project) as s:

            async def tool(tool_name: str, /, **arguments: Any) -> Any:
                return ok(await s.call_tool(tool_name, arguments))

            found["create"] = (
                cli_json("workspace", "create", "cli-svc", "--template", "one"),
                await tool("workspace_create", name="mcp-svc", template="one"),
            )
            found["status"] = (
                cli_json("workspace", "status", "cli-svc"),
                await tool("workspace_status", name="cli-svc"),
            )
            found["up"] = (  # both find the service running and keep it
                cli_json("workspace", "up", "cli-svc"),
                await tool("workspace_up", name="cli-svc"),
            )
            found["list"] = (cli_json("workspace", "list"), await tool("workspace_list"))
            found["down"] = (  # each stops what the other front end's up started
                cli_json("workspace", "down", "cli-svc"),
                await tool("workspace_down", name="mcp-svc"),
            )
        return found

    try:
        found = asyncio.run(session())
    finally:
        for name in ("cli-svc", "mcp-svc"):
            run_nexus("workspace", "delete", name, "--force")
    cli_create, mcp_create = found.pop("create")
    assert [p["container_port"] for p in cli_create["ports"]] == [8080]
    assert_same(
        TOOL_SCHEMAS["workspace_create"],
        without_host_ports(renamed(cli_create, "cli-svc", "mcp-svc")),
        without_host_ports(mcp_create),
    )
    assert found["up"][0]["kept"] == ["app"] and found["status"][0]["state"] == "running"
    cli_down, mcp_down = found.pop("down")
    assert cli_down["stopped"] == 1
    assert_same(TOOL_SCHEMAS["workspace_down"], renamed(cli_down, "cli-svc", "mcp-svc"), mcp_down)
    for key, (cli, mcp) in found.items():
        assert_same(TOOL_SCHEMAS[f"workspace_{key}"], cli, mcp)
