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
