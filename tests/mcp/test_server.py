"""End to end: the MCP SDK's stdio client against a real `nexus mcp` in a real git project."""

from __future__ import annotations

import asyncio
import itertools
import json
import os
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.caller import Caller
from nexus_cli.tasks.limits import LIST_LIMIT
from tests.conftest import run_nexus
from tests.mcp.conftest import mcp_events, mcp_session, ok, text_of

EXPECTED_TOOLS = {
    "task_ready", "task_list", "task_show", "task_create", "task_claim", "task_start", "task_blocked",
    "task_note", "task_verify", "task_complete", "task_context", "task_history",
    "workspace_list", "workspace_status", "workspace_create", "workspace_up",
    "workspace_down", "workspace_exec", "persona_list", "persona_current", "stats",
    "insights", "gpu_impact", "remember", "forget", "task_update",
}  # fmt: skip


def test_a_gated_task_completes_only_after_its_gate_passes(
    project: Path, isolated_home: Path, trust: Callable[..., Path]
) -> None:
    # The agent proposes the gate; the person trusts that command in their own configuration
    # (tests/mcp/test_gate_approval.py approves at a terminal instead).
    trust("cat done.txt")
    progress: list[tuple[float, float | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total))

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
    values = [value for value, _ in progress]
    assert values == sorted(set(values))  # strictly increasing (the MCP specification)
    assert progress[-1][1] == progress[-1][0]  # the last one is done: progress == total
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


def test_an_agent_cannot_complete_the_task_another_agent_claimed(
    project: Path, isolated_home: Path, trust: Callable[..., Path], monkeypatch: pytest.MonkeyPatch
) -> None:
    """Two agents at once, each its own server (``NEXUS_AGENT``, as the fleet sets it): the
    second one's ``task_complete`` on the first one's task is refused, like the CLI's, and no
    gate runs; the first one completes it."""
    trust("touch gate-ran")

    async def as_agent(agent: str, tool: str, args: dict[str, Any]) -> Any:
        monkeypatch.setenv("NEXUS_AGENT", agent)
        async with mcp_session(project) as s:
            return await s.call_tool(tool, args)

    created = ok(
        asyncio.run(
            as_agent("agent-a", "task_create", {"title": "A's", "gates": ["touch gate-ran"]})
        )
    )
    tid = created["id"]
    ok(asyncio.run(as_agent("agent-a", "task_claim", {"id": tid})))
    refused = asyncio.run(as_agent("agent-b", "task_complete", {"id": tid}))
    assert refused.is_error
    text = text_of(refused)
    assert f"task {tid} is assigned to agent-a, not agent-b: only they can complete it" in text
    assert "Traceback" not in text
    assert not (project / "gate-ran").exists()
    done = ok(asyncio.run(as_agent("agent-a", "task_complete", {"id": tid})))
    assert done["passed"] and done["task"]["status"] == "done"
    assert (project / "gate-ran").exists()


def _call_once(project: Path, tool: str, args: dict[str, Any]) -> Any:
    """One tool call in a fresh MCP session: its result."""

    async def call() -> Any:
        async with mcp_session(project) as s:
            return await s.call_tool(tool, args)

    return asyncio.run(call())


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
    result = _call_once(project, tool, args)
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


@pytest.mark.parametrize(
    ("tool", "args", "expected"),
    [
        ("task_ready", {"limit": 10**30}, "limit: must be an integer between 0 and 10000"),
        ("task_ready", {"limit": -1}, "limit: must be an integer between 0 and 10000"),
        ("task_ready", {"limit": "many"}, "limit: must be an integer between 0 and 10000"),
        ("task_list", {"limit": 10**30}, "limit: must be an integer between 0 and 10000"),
        ("task_list", {"status": ["open"]}, "status: must be a string (or null)"),
        (
            "task_create",
            {"title": "t", "priority": 9},
            "priority: must be an integer between 0 and 4",
        ),
        ("task_create", {"title": 5}, "title: must be a string"),
        ("task_create", {"title": "t", "gates": "true"}, "gates: must be a list of strings"),
        ("task_create", {"title": "t", "no_gates": "maybe"}, "no_gates: must be true or false"),
        ("task_note", {"id": "nx-1", "text": ""}, "text: must be a non-empty string"),
        ("task_show", {}, "id: is required"),
        ("gpu_impact", {"pid": 10**30}, "pid: must be an integer between 1 and 2147483647"),
        ("gpu_impact", {"pid": 0}, "pid: must be an integer between 1 and 2147483647"),
        (
            "workspace_create",
            {"name": "w", "vars": {"A": 1}},
            "vars: must be an object whose values",
        ),
        ("task_ready", {"limit": "1\n2\n3"}, "limit: must be an integer between 0 and 10000"),
    ],
)
def test_invalid_arguments_are_one_clear_line(
    project: Path, isolated_home: Path, tool: str, args: dict[str, Any], expected: str
) -> None:
    result = _call_once(project, tool, args)
    text = text_of(result)
    assert result.is_error
    assert text == f"Error executing tool {tool}: {expected}" or text.startswith(
        f"Error executing tool {tool}: {expected}"
    )
    assert "\n" not in text and "validation error" not in text and "pydantic" not in text
    assert "Overflow" not in text and "bug in nexus" not in text
    [event] = mcp_events(isolated_home)  # refused like any call: one event, a usage error
    assert event["command"] == tool and event["success"] == 0
    assert event["error_category"] == "usage"


def test_the_cli_refuses_the_same_limits(project: Path) -> None:
    for words in (["task", "ready", "--limit", str(10**30)], ["task", "list", "-n", "10001"]):
        result = run_nexus(*words)
        assert result.exit_code == 2 and "Traceback" not in result.stderr
        assert "0<=x<=10000" in result.stderr
    assert run_nexus("gpu", "impact", str(10**30)).exit_code == 2


def test_task_list_has_a_limit(project: Path) -> None:
    for i in range(LIST_LIMIT[Caller.AGENT] + 2):
        assert run_nexus("task", "create", f"task {i}", "--gate", "true").exit_code == 0

    async def session() -> dict[str, Any]:
        async with mcp_session(project) as s:
            tools = {t.name: t for t in (await s.list_tools()).tools}
            default = ok(await s.call_tool("task_list", {}))
            two = ok(await s.call_tool("task_list", {"limit": 2}))
            every = ok(await s.call_tool("task_list", {"limit": 0}))
            return locals()

    r = asyncio.run(session())
    assert len(r["default"]) == LIST_LIMIT[Caller.AGENT]
    assert [t["title"] for t in r["two"]] == ["task 0", "task 1"]
    assert len(r["every"]) == LIST_LIMIT[Caller.AGENT] + 2
    schema = r["tools"]["task_list"].input_schema["properties"]["limit"]
    assert schema["minimum"] == 0 and schema["maximum"] == 10000
    assert "larger limit" in (r["tools"]["task_list"].description or "")
    by_cli = run_nexus("task", "list", "--limit", "2", "--json")
    assert [t["title"] for t in by_cli.json()] == ["task 0", "task 1"]
    assert len(run_nexus("task", "list", "--json").json()) == LIST_LIMIT[Caller.AGENT] + 2


def test_progress_increases_through_a_gate_longer_than_a_heartbeat(
    project: Path, trust: Callable[..., Path]
) -> None:
    trust("sleep 6")  # longer than HEARTBEAT_S (5 s): at least two heartbeats, then the end
    progress: list[tuple[float, float | None]] = []

    async def on_progress(value: float, total: float | None, message: str | None) -> None:
        progress.append((value, total))

    async def session() -> Any:
        async with mcp_session(project) as s:
            created = ok(await s.call_tool("task_create", {"title": "slow", "gates": ["sleep 6"]}))
            ok(await s.call_tool("task_start", {"id": created["id"]}))
            return await s.call_tool(
                "task_complete", {"id": created["id"]}, progress_callback=on_progress
            )

    assert ok(asyncio.run(session()))["passed"] is True
    values = [value for value, _ in progress]
    assert len(values) >= 3, progress
    assert all(a < b for a, b in itertools.pairwise(values)), progress
    assert all(total is None for _, total in progress[:-1])
    assert progress[-1][1] == progress[-1][0] >= 6  # done: progress == total, the seconds taken
