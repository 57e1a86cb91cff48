"""Issue 24 over MCP: a gate an agent proposes does not run until a person approves it at a
real terminal; there is no tool that approves. The MCP SDK's own client, a real `nexus mcp`."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

from tests.conftest import run_process
from tests.mcp.conftest import mcp_session, ok, text_of
from tests.tmux_terminal import nexus_command, terminal


def test_an_agent_proposed_gate_runs_only_after_a_person_approves_it(project: Path) -> None:
    async def propose() -> dict[str, Any]:
        async with mcp_session(project) as s:
            tools = {t.name: t for t in (await s.list_tools()).tools}
            created = ok(await s.call_tool("task_create", {"title": "T", "gates": ["touch ran"]}))
            tid = created["id"]
            ok(await s.call_tool("task_claim", {"id": tid}))
            verified = await s.call_tool("task_verify", {"id": tid})
            completed = await s.call_tool("task_complete", {"id": tid})
            shown = ok(await s.call_tool("task_show", {"id": tid}))
            return locals()

    r = asyncio.run(propose())
    assert not any("approve" in name for name in r["tools"])
    description = r["tools"]["task_create"].description
    assert (
        "wait for a person's approval" in description and "nexus task gate approve" in description
    )
    tid = r["tid"]
    for refused in (r["verified"], r["completed"]):
        assert refused.is_error
        text = text_of(refused)
        assert text.count("\n") == 0 and "Traceback" not in text
        assert "nothing ran; its gate `touch ran` waits for a person's approval" in text
        assert f"a person must approve it: nexus task gate approve {tid}" in text
    assert not (project / "ran").exists()
    assert r["shown"]["status"] == "in_progress"
    assert [h["via"] for h in r["shown"]["history"] if h["action"] == "created"] == ["agent"]

    with terminal(120, 40) as term:
        term.start(f"{nexus_command(f'task gate approve {tid}')}; echo EXITED-$?", str(project))
        screen = term.wait(lambda s: "[y/N]" in s)
        assert "touch ran" in screen and "+ touch ran" in screen
        assert "via agent" in screen and "Approve 1 gate of 1 task" in screen
        term.send_keys("y", "Enter")
        screen = term.wait(lambda s: "EXITED-" in s)
        assert "EXITED-0" in screen and f"approved 1 gate of {tid}" in screen

    async def complete() -> Any:
        async with mcp_session(project) as s:
            return ok(await s.call_tool("task_complete", {"id": tid}))

    done = asyncio.run(complete())
    assert done["passed"] is True and done["task"]["status"] == "done"
    assert (project / "ran").exists()


def test_answering_no_at_the_terminal_approves_nothing(project: Path) -> None:
    async def propose() -> str:
        async with mcp_session(project) as s:
            created = ok(await s.call_tool("task_create", {"title": "T", "gates": ["touch ran"]}))
            return str(created["id"])

    tid = asyncio.run(propose())
    with terminal(120, 40) as term:
        term.start(f"{nexus_command('task gate approve --all')}; echo EXITED-$?", str(project))
        term.wait(lambda s: "[y/N]" in s)
        term.send_keys("n", "Enter")
        screen = term.wait(lambda s: "EXITED-" in s)
        assert "EXITED-1" in screen and "nothing approved" in screen
    listed = run_process("task", "gate", "list", tid, "--json", cwd=project)
    assert [g["approved"] for g in json.loads(listed.stdout)["gates"]] == [False]


def test_an_agent_cannot_satisfy_a_persons_approval_gate(project: Path) -> None:
    """No tool approves; completing reports what the task waits on; removing or swapping the
    waiting gate is refused. Only the person's own approval lets the agent complete it."""
    from nexus_cli.project import find_project
    from nexus_cli.tasks import actions

    created = run_process(
        "task", "create", "Ship", "--gate", "true", "--wait", "approval:bob", "--json",
        cwd=project,
    )  # fmt: skip
    tid = json.loads(created.stdout)["id"]

    async def agent() -> dict[str, Any]:
        async with mcp_session(project) as s:
            tools = {t.name for t in (await s.list_tools()).tools}
            ok(await s.call_tool("task_claim", {"id": tid}))
            completed = await s.call_tool("task_complete", {"id": tid})
            removed = await s.call_tool("task_update", {"id": tid, "waits": []})
            swapped = await s.call_tool(
                "task_update", {"id": tid, "waits": ["after:2020-01-01T00:00Z"]}
            )
            blocked = ok(await s.call_tool("task_blocked", {}))
            return locals()

    r = asyncio.run(agent())
    assert not any("approve" in name for name in r["tools"])
    assert r["completed"].is_error
    first, _, payload = text_of(r["completed"]).partition("\n")
    assert "it waits: `approval: bob` (waits for bob's approval)" in first
    assert [g["passed"] for g in json.loads(payload)["gates"]] == [True, False]
    assert r["removed"].is_error and "an agent cannot remove a gate" in text_of(r["removed"])
    swapped = text_of(r["swapped"])
    assert r["swapped"].is_error and "cannot remove or change a waiting gate" in swapped
    waiting = next(t for t in r["blocked"] if t["id"] == tid)["waiting_on"]
    assert [w["reason"] for w in waiting] == ["waits for bob's approval"]

    actions.approve_as(find_project(project), tid, "bob", env={})  # bob, at his terminal

    async def finish() -> Any:
        async with mcp_session(project) as s:
            return ok(await s.call_tool("task_complete", {"id": tid}))

    assert asyncio.run(finish())["task"]["status"] == "done"
