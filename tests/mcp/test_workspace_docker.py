"""The workspace tools over MCP against the real Docker engine (one service, busybox): `workspace_exec`,
and `workspace_create`/`workspace_up` refusing a repository's unapproved container hook."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.conftest import run_nexus
from tests.mcp.conftest import mcp_session, ok, text_of
from tests.processes import until


@pytest.mark.docker
def test_workspace_exec_runs_in_the_service(project: Path, test_image: str) -> None:
    templates = project / ".nexus" / "templates"
    templates.mkdir(parents=True)
    (templates / "one.yaml").write_text(
        f"services:\n  app:\n    image: {test_image}\n    command: [sleep, '600']\n"
    )

    async def session() -> dict[str, Any]:
        async with mcp_session(project) as s:
            created = ok(
                await s.call_tool("workspace_create", {"name": "mcp-ws", "template": "one"})
            )
            argv = ["sh", "-c", "seq 1 20000 >&2; echo done in $(pwd) >&2; exit 4"]
            ran = ok(await s.call_tool("workspace_exec", {"name": "mcp-ws", "command": argv}))
            both = ["sh", "-c", "echo out; echo err >&2"]
            streams = ok(await s.call_tool("workspace_exec", {"name": "mcp-ws", "command": both}))
            missing = await s.call_tool(
                "workspace_exec", {"name": "mcp-ws", "command": ["true"], "service": "nope"}
            )
            typed = ["app", "echo", "hi"]
            typed = ok(await s.call_tool("workspace_exec", {"name": "mcp-ws", "command": typed}))
            down = ok(await s.call_tool("workspace_down", {"name": "mcp-ws"}))
            return locals()

    try:
        r = asyncio.run(session())
    finally:
        run_nexus("workspace", "delete", "mcp-ws", "--force")
    assert r["created"]["template"] == "one"
    assert r["ran"]["exit_code"] == 4
    # the last 64 KiB of the output are kept (one stream here, so its order is the command's)
    assert r["ran"]["output"].endswith("\n19999\n20000\ndone in /workspace\n")
    assert r["ran"]["truncated_bytes"] > 0 and len(r["ran"]["output"]) == 64 * 1024
    # stdout and stderr are both read, side by side: their lines' relative order is not kept
    assert sorted(r["streams"]["output"].splitlines()) == ["err", "out"]
    assert r["missing"].is_error and "no service 'nope'" in text_of(r["missing"])
    assert r["ran"]["hint"] is None and r["typed"]["exit_code"] == 126
    assert r["typed"]["hint"] == (
        "'app' is a service of 'mcp-ws': give it as the service, and the command without it: "
        "['echo', 'hi']"
    )
    assert r["down"]["stopped"] == 1


@pytest.mark.docker
def test_workspace_create_and_up_refuse_an_unapproved_container_hook(
    project: Path, test_image: str
) -> None:
    """An agent cannot run a repository's container hook by creating a workspace over MCP: the
    create is refused with nothing made, and so is an up; only a person approves it."""
    templates = project / ".nexus" / "templates"
    templates.mkdir(parents=True)
    (templates / "one.yaml").write_text(
        "x-nexus:\n  hooks:\n    post_start: [{service: app, command: 'touch /tmp/owned'}]\n"
        f"services:\n  app:\n    image: {test_image}\n    command: [sleep, '600']\n"
    )

    async def session() -> dict[str, Any]:
        async with mcp_session(project) as s:
            refused = await s.call_tool("workspace_create", {"name": "mcp-ws", "template": "one"})
            listed = ok(await s.call_tool("workspace_list", {}))
            return locals()

    try:
        r = asyncio.run(session())
        assert r["refused"].is_error
        assert (
            "the project's template 'one': its post_start hook `touch /tmp/owned` in app waits "
            "for a person's approval" in text_of(r["refused"])
        )
        assert r["listed"]["workspaces"] == []
        assert not (project / ".nexus" / "worktrees" / "mcp-ws").exists()
        # made without its hooks (--no-start), an up over MCP is refused before anything starts
        assert run_nexus("workspace", "create", "mcp-ws", "-t", "one", "--no-start").exit_code == 0

        async def up() -> Any:
            async with mcp_session(project) as s:
                return await s.call_tool("workspace_up", {"name": "mcp-ws"})

        refused_up = asyncio.run(up())
        assert refused_up.is_error and "waits for a person's approval" in text_of(refused_up)
        assert run_nexus("workspace", "status", "mcp-ws", "--json").json()["state"] == "stopped"
    finally:
        run_nexus("workspace", "delete", "mcp-ws", "--force")


@pytest.mark.docker
def test_a_cancelled_workspace_exec_ends_the_command_in_the_container(
    project: Path, test_image: str
) -> None:
    """An agent's client cancels a long `workspace_exec` (the SDK sends notifications/cancelled):
    the command ends in the container too, instead of running on beside the agent's next call."""
    templates = project / ".nexus" / "templates"
    templates.mkdir(parents=True)
    (templates / "one.yaml").write_text(
        f"services:\n  app:\n    image: {test_image}\n    command: [sleep, '600']\n"
    )
    created = run_nexus("workspace", "create", "mcp-cancel", "--template", "one")
    assert created.exit_code == 0, created.stderr

    def processes() -> str:
        listed = run_nexus("workspace", "exec", "mcp-cancel", "--", "ps", "-o", "args", input="")
        assert listed.exit_code == 0, listed.stderr
        return listed.stdout

    async def session() -> dict[str, Any]:
        async with mcp_session(project) as s:
            argv = ["sh", "-c", "while :; do sleep 3007; done"]
            async with anyio.create_task_group() as group:
                group.start_soon(
                    s.call_tool, "workspace_exec", {"name": "mcp-cancel", "command": argv}
                )
                started = await anyio.to_thread.run_sync(
                    lambda: until(lambda: "sleep 3007" in processes())
                )
                group.cancel_scope.cancel()
            gone = await anyio.to_thread.run_sync(
                lambda: until(lambda: "sleep 3007" not in processes())
            )
            after = ok(
                await s.call_tool("workspace_exec", {"name": "mcp-cancel", "command": ["true"]})
            )
            return {"started": started, "gone": gone, "after": after}

    try:
        r = asyncio.run(session())
    finally:
        run_nexus("workspace", "delete", "mcp-cancel", "--force")
    assert r["started"], "the command never ran"
    assert r["gone"], "the command outlived the cancelled call"
    assert r["after"]["exit_code"] == 0
