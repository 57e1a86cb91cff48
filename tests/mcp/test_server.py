"""End to end: the MCP SDK's stdio client against a real `nexus mcp` in a real git project."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from tests.mcp.conftest import mcp_events, mcp_session, ok, text_of

EXPECTED_TOOLS = {
    "task_ready", "task_list", "task_show", "task_create", "task_claim", "task_start",
    "task_note", "task_verify", "task_complete", "task_context", "task_history",
    "workspace_list", "workspace_status", "workspace_create", "workspace_up",
    "workspace_down", "workspace_exec", "persona_list", "persona_current", "stats",
    "insights", "gpu_impact",
}  # fmt: skip


def test_a_gated_task_completes_only_after_its_gate_passes(
    project: Path, isolated_home: Path, trust: Callable[..., Path]
) -> None:
    # The agent proposes the gate; the person trusts that command in their own configuration
    # (tests/mcp/test_gate_approval.py approves at a terminal instead).
    trust("cat done.txt")
    progress: list[float] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append(value)

    async def session() -> dict[str, Any]:
        async with mcp_session(project) as s:
            tools = {t.name: t for t in (await s.list_tools()).tools}
            created = ok(
                await s.call_tool(
                    "task_create",
                    {"title": "Write done.txt", "gates": ["cat done.txt"], "priority": 1},
                )
            )
            tid = created["id"]
            ready = ok(await s.call_tool("task_ready", {}))
            claimed = ok(await s.call_tool("task_claim", {"id": tid}))
            ok(await s.call_tool("task_note", {"id": tid, "text": "the gate reads done.txt"}))
            failed = await s.call_tool("task_complete", {"id": tid}, progress_callback=on_progress)
            after_fail = ok(await s.call_tool("task_show", {"id": tid}))
            (project / "done.txt").write_text("done\n")
            passed = ok(await s.call_tool("task_complete", {"id": tid}))
            context = text_of(await s.call_tool("task_context", {"id": tid}))
            history = ok(await s.call_tool("task_history", {"id": tid}))
            return locals()

    r = asyncio.run(session())
    assert set(r["tools"]) == EXPECTED_TOOLS
    schema = r["tools"]["task_create"].input_schema
    assert schema["required"] == ["title"]
    assert all(p.get("description") for p in schema["properties"].values())
    assert r["created"]["gates"][0]["command"] == "cat done.txt"
    assert r["tid"] in [t["id"] for t in r["ready"]]
    assert r["claimed"]["status"] == "in_progress"
    assert r["failed"].is_error
    first_line, _, payload = text_of(r["failed"]).partition("\n")
    assert "gate failed: `cat done.txt`" in first_line and "Traceback" not in first_line
    gates = json.loads(payload)["gates"]
    assert gates[0]["passed"] is False and "done.txt" in gates[0]["output_tail"]
    assert r["after_fail"]["status"] == "in_progress"
    assert progress and progress[-1] == 1
    assert r["passed"]["passed"] is True and r["passed"]["task"]["status"] == "done"
    assert "the gate reads done.txt" in r["context"]
    assert [h["action"] for h in r["history"]].count("gate_run") == 2

    events = mcp_events(isolated_home)
    commands = [e["command"] for e in events]
    assert commands == [
        "task_create", "task_ready", "task_claim", "task_note", "task_complete",
        "task_show", "task_complete", "task_context", "task_history",
    ]  # fmt: skip
    assert [e["success"] for e in events if e["command"] == "task_complete"] == [0, 1]
    stored = json.dumps(events)
    for value in ("Write done.txt", "cat done.txt", "the gate reads", r["tid"]):
        assert value not in stored


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("task_show", {"id": "nx-zzzz"}, "no task matches"),
        ("task_show", {"id": "../../x"}, "invalid task id"),
        ("task_claim", {"id": "--lock"}, "invalid task id"),
        ("task_create", {"title": "t", "gates": ["true"], "depends_on": ["../x"]}, "invalid"),
        ("workspace_status", {"name": "../../x"}, "invalid workspace name"),
        ("workspace_create", {"name": "--lock"}, "invalid workspace name"),
        ("workspace_create", {"name": "ok", "template": "../t"}, "invalid template name"),
        ("workspace_exec", {"name": "w", "command": ["ls"], "service": "a/b"}, "invalid service"),
        ("task_create", {"title": "no gate here"}, "needs a verification gate"),
    ],
)
def test_bad_arguments_are_one_line_tool_errors(
    project: Path, isolated_home: Path, tool: str, args: dict[str, Any], expected: str
) -> None:
    async def call() -> Any:
        async with mcp_session(project) as s:
            return await s.call_tool(tool, args)

    result = asyncio.run(call())
    text = text_of(result)
    assert result.is_error
    assert expected in text
    assert "\n" not in text.strip() and "Traceback" not in text
    assert not (project.parent / "x").exists()
    [event] = mcp_events(isolated_home)
    assert event["command"] == tool and event["success"] == 0
    assert "../" not in json.dumps(event) and "--lock" not in json.dumps(event)


def test_bare_workspace_tools(project: Path) -> None:
    async def session() -> dict[str, Any]:
        async with mcp_session(project) as s:
            created = ok(await s.call_tool("workspace_create", {"name": "feature-a"}))
            listed = ok(await s.call_tool("workspace_list", {}))
            status = ok(await s.call_tool("workspace_status", {"name": "feature-a"}))
            up = ok(await s.call_tool("workspace_up", {"name": "feature-a"}))
            down = ok(await s.call_tool("workspace_down", {"name": "feature-a"}))
            exec_ = await s.call_tool("workspace_exec", {"name": "feature-a", "command": ["ls"]})
            personas = ok(await s.call_tool("persona_list", {}))
            stats = ok(await s.call_tool("stats", {"window": "today"}))
            insights = ok(await s.call_tool("insights", {"window": "7d"}))
            current = ok(await s.call_tool("persona_current", {}))
            impact = ok(await s.call_tool("gpu_impact", {"pid": os.getpid()}))
            bad_window = await s.call_tool("stats", {"window": "yesterday-ish"})
            return locals()

    r = asyncio.run(session())
    assert r["created"]["branch"] == "feature-a"
    assert Path(r["created"]["path"]).is_dir()
    assert [w["name"] for w in r["listed"]["workspaces"]] == ["feature-a"]
    assert r["status"]["name"] == "feature-a"
    assert r["up"]["started"] == [] and r["down"] == {"name": "feature-a", "stopped": 0}
    assert r["exec_"].is_error and "has no services" in text_of(r["exec_"])
    assert any(p["name"] for p in r["personas"])
    assert r["stats"]["invocations"] >= 6
    assert "insights" in r["insights"] and r["current"] == []
    assert r["impact"]["process"]["pid"] == os.getpid()
    assert r["bad_window"].is_error and "\n" not in text_of(r["bad_window"])


def test_concurrent_calls_are_separate_events(
    project: Path, isolated_home: Path, trust: Callable[..., Path]
) -> None:
    trust("sleep 2")

    async def session() -> list[Any]:
        async with mcp_session(project) as s:
            created = ok(await s.call_tool("task_create", {"title": "slow", "gates": ["sleep 2"]}))
            tid = created["id"]
            ok(await s.call_tool("task_start", {"id": tid}))

            async def later(tool: str, args: dict[str, Any]) -> Any:
                await asyncio.sleep(1)  # the gate (sleep 2) is running by then
                return await s.call_tool(tool, args)

            return list(
                await asyncio.gather(
                    s.call_tool("task_complete", {"id": tid}),
                    later("task_list", {"status": "verifying"}),
                    later("task_show", {"id": "nx-nope"}),
                )
            )

    completed, listed, missing = asyncio.run(session())
    assert ok(completed)["passed"] is True
    assert [t["title"] for t in ok(listed)] == ["slow"]  # ran while the gate was running
    assert missing.is_error
    events = {e["command"]: e for e in mcp_events(isolated_home)}
    assert set(events) == {"task_create", "task_start", "task_complete", "task_list", "task_show"}
    assert (
        events["task_complete"]["success"] == 1 and events["task_complete"]["duration_ms"] >= 2000
    )
    assert events["task_list"]["success"] == 1 and events["task_list"]["duration_ms"] < 2000
    assert events["task_show"]["error_category"] == "not_found"
