"""One `nexus mcp` is many actors, and each call ends cleanly: concurrent `task_complete` calls run
the gates once; a cancelled call, a client that goes away and SIGTERM end the gate's process
group and restore the task (nexus_cli/mcp/lifetime.py, nexus_cli/owner.py)."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import anyio
import pytest

from tests.conftest import nexus_exe, run_nexus
from tests.mcp.conftest import mcp_session, ok, text_of
from tests.processes import alive, running_members, until

SLOW_GATE = "echo $$ $PPID > pids; sleep 300"


def _task(project: Path, trust: Callable[..., Path], gate: str) -> str:
    trust(gate)
    created = run_nexus("task", "create", "Gated", "--gate", gate, "--json")
    assert created.exit_code == 0, created.stderr
    task_id: str = json.loads(created.stdout)["id"]
    assert run_nexus("task", "start", task_id).exit_code == 0
    return task_id


def _show(task_id: str) -> dict[str, Any]:
    shown = run_nexus("task", "show", task_id, "--json")
    assert shown.exit_code == 0, shown.stderr
    data: dict[str, Any] = json.loads(shown.stdout)
    return data


def _gate_pids(project: Path) -> tuple[int, int]:
    """The gate shell's pid (its process group) and its parent, the server."""
    pids = project / "pids"
    assert until(lambda: pids.exists() and len(pids.read_text().split()) == 2), "no gate ran"
    gate, server = (int(p) for p in pids.read_text().split())
    return gate, server


def _server(project: Path) -> subprocess.Popen[str]:
    """A real ``nexus mcp`` on pipes, spoken to in raw JSON-RPC lines."""
    return subprocess.Popen(
        [*nexus_exe(), "mcp"],
        cwd=project,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )


def _restored(task_id: str, reason: str) -> bool:
    data = _show(task_id)
    last = data["history"][-1]
    return data["status"] == "in_progress" and last.get("reason") == reason


def test_five_concurrent_completes_in_one_server_run_the_gates_once(
    project: Path, trust: Callable[..., Path]
) -> None:
    task_id = _task(project, trust, "echo run >> count; sleep 3")

    async def session() -> list[Any]:
        async with mcp_session(project) as s:
            calls = [s.call_tool("task_complete", {"id": task_id}) for _ in range(5)]
            return list(await asyncio.gather(*calls))

    results = asyncio.run(session())
    assert (project / "count").read_text().splitlines() == ["run"]
    passed = [r for r in results if not r.is_error]
    assert len(passed) == 1 and ok(passed[0])["task"]["status"] == "done"
    refused = [text_of(r) for r in results if r.is_error]
    assert len(refused) == 4
    assert all("already verifying" in t or "is done" in t for t in refused), refused
    assert sum("already verifying" in t for t in refused) >= 1
    assert _show(task_id)["status"] == "done"


def test_a_cancelled_complete_ends_the_gate_and_restores_the_task(
    project: Path, trust: Callable[..., Path]
) -> None:
    task_id = _task(project, trust, SLOW_GATE)

    async def session() -> dict[str, Any]:
        async with mcp_session(project) as s:
            async with anyio.create_task_group() as group:
                group.start_soon(s.call_tool, "task_complete", {"id": task_id})
                gate, _ = await anyio.to_thread.run_sync(_gate_pids, project)
                group.cancel_scope.cancel()  # the SDK sends notifications/cancelled
            gone = await anyio.to_thread.run_sync(lambda: until(lambda: not running_members(gate)))
            restored = await anyio.to_thread.run_sync(
                lambda: until(lambda: _restored(task_id, "gates cancelled"))
            )
            after = ok(await s.call_tool("task_show", {"id": task_id}))
            return {"gone": gone, "restored": restored, "after": after}

    r = asyncio.run(session())
    assert r["gone"], "the gate outlived the cancelled call"
    assert r["restored"] and r["after"]["status"] == "in_progress"


_CLIENT = """
import anyio, os, sys
from mcp.client import ClientSession
from mcp.client.stdio import StdioServerParameters, stdio_client

async def main():
    params = StdioServerParameters(command=sys.executable, args=["-m", "nexus_cli", "mcp"],
                                   cwd=os.getcwd(), env=dict(os.environ))
    async with stdio_client(params) as (r, w), ClientSession(r, w) as s:
        await s.initialize()
        await s.call_tool("task_complete", {"id": sys.argv[1]})

anyio.run(main)
"""


def test_a_client_that_goes_away_ends_the_gate_and_restores_the_task(
    project: Path, trust: Callable[..., Path]
) -> None:
    task_id = _task(project, trust, SLOW_GATE)
    client = subprocess.Popen(
        [sys.executable, "-c", _CLIENT, task_id],
        cwd=project,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        gate, server = _gate_pids(project)
    finally:
        client.kill()  # SIGKILL: the client's end of the pipes closes, nothing polite is said
        client.wait(timeout=30)
    try:
        assert until(lambda: not running_members(gate)), "the gate outlived its client"
        assert until(lambda: _restored(task_id, "gates cancelled: the client disconnected"))
        assert until(lambda: not alive(server)), "the server outlived its client"
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(gate, signal.SIGKILL)
        with contextlib.suppress(ProcessLookupError):
            os.kill(server, signal.SIGKILL)


@pytest.mark.parametrize(
    ("signum", "code", "reason"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGHUP, 129, "hung up")],
)
def test_sigterm_ends_the_server_after_ending_the_gate_and_restoring_the_task(
    project: Path, trust: Callable[..., Path], signum: int, code: int, reason: str
) -> None:
    task_id = _task(project, trust, SLOW_GATE)
    server = _server(project)
    assert server.stdin is not None
    for message in (
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": _HELLO},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        {"jsonrpc": "2.0", "id": 2, "method": "tools/call",
         "params": {"name": "task_complete", "arguments": {"id": task_id}}},
    ):  # fmt: skip
        server.stdin.write(json.dumps(message) + "\n")
        server.stdin.flush()
    try:
        gate, parent = _gate_pids(project)
        assert parent == server.pid
        sent = time.monotonic()
        server.send_signal(signum)  # stdin stays open: only the signal ends it
        server.wait(timeout=30)
        took = time.monotonic() - sent
        _, err = server.communicate(timeout=30)
    finally:
        server.kill()
        server.wait()
    assert server.returncode == code, err
    assert "Traceback" not in err
    assert took < 5, f"the server took {took:.1f}s to end"
    assert not running_members(gate), "the gate outlived the server"
    assert _restored(task_id, f"gates {reason}")


_HELLO = {
    "protocolVersion": "2025-06-18",
    "capabilities": {},
    "clientInfo": {"name": "test", "version": "0"},
}


def test_a_request_with_a_lone_surrogate_is_answered(project: Path) -> None:
    """``"\\ud800"`` is valid JSON but not Unicode: the SDK's parser refused the message and
    answered nothing, so the client waited for ever. It reads as U+FFFD, as undecodable bytes do,
    and the request gets its answer (here: an id that is not valid, in one line)."""
    lone = '{"name": "task_show", "arguments": {"id": "nx-\\ud800"}}'
    server = _server(project)
    assert server.stdin is not None and server.stdout is not None
    unanswered = threading.Timer(60, server.kill)  # no answer: the read below ends, and fails
    unanswered.start()
    try:
        for line in (
            json.dumps({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": _HELLO}),
            json.dumps({"jsonrpc": "2.0", "method": "notifications/initialized"}),
            '{"jsonrpc": "2.0", "id": 2, "method": "tools/call", "params": ' + lone + "}",
        ):
            server.stdin.write(line + "\n")
            server.stdin.flush()
        answers: dict[int, Any] = {}
        while 2 not in answers:
            line = server.stdout.readline()
            assert line, f"no answer to the request; answered: {sorted(answers)}"
            answer = json.loads(line)
            answers[answer["id"]] = answer
    finally:
        unanswered.cancel()
        server.kill()
        server.wait(timeout=30)
    result = answers[2]["result"]
    assert result["isError"]
    [block] = result["content"]
    assert "invalid task id 'nx-\ufffd'" in block["text"] and "\n" not in block["text"]


def test_a_line_that_is_not_a_message_is_answered_with_a_null_id(project: Path) -> None:
    """JSON-RPC 2.0 answers a line that is not JSON with -32700 and JSON that is no message with
    -32600, with a null id (none could be read); the SDK's server only logged them, and a client
    that sent one waited for an answer for ever. A blank line is no message and gets none; the
    server goes on answering the next request."""
    server = _server(project)
    unanswered = threading.Timer(60, server.kill)  # no answer: the read below ends, and fails
    unanswered.start()
    try:
        out, _ = server.communicate(
            "\n".join(
                (
                    json.dumps(
                        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": _HELLO}
                    ),
                    '{"jsonrpc": "2.0", "id": 2, "method": "ping"',  # cut short: not JSON
                    "",
                    "   ",
                    '{"jsonrpc": "2.0", "id": 3}',  # JSON, but neither a request nor an answer
                    json.dumps({"jsonrpc": "2.0", "id": 4, "method": "ping"}),
                    "",
                )
            ),
            timeout=90,
        )
    finally:
        unanswered.cancel()
    answers = [json.loads(line) for line in out.splitlines()]
    # The relay answers an unreadable line at once, beside the server's answer to `initialize`
    # (either may come first); the two are answered in the order they came, before the ping.
    errors = [a["error"] for a in answers if a["id"] is None]
    assert [e["code"] for e in errors] == [-32700, -32600]
    assert errors[0]["message"].startswith("Parse error")
    assert errors[1]["message"].startswith("Invalid Request")
    results = {a["id"]: a for a in answers if a["id"] is not None}
    assert sorted(results) == [1, 4] and len(answers) == 4
    assert results[4]["result"] == {}


def test_requests_written_just_before_the_input_closes_are_answered(
    project: Path, trust: Callable[..., Path]
) -> None:
    """A client that writes its last requests and closes the server's stdin at once (``printf …
    | nexus mcp``) gets their answers, also that of a call still running its gate when the
    input ended; the SDK alone would cancel them and answer ``Connection closed``."""
    task_id = _task(project, trust, "sleep 1")
    calls = [
        ("task_complete", {"id": task_id}),
        ("task_show", {"id": "nx-zzzz"}),
        ("task_list", {}),
    ]
    lines = [
        {"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": _HELLO},
        {"jsonrpc": "2.0", "method": "notifications/initialized"},
        *(
            {"jsonrpc": "2.0", "id": n, "method": "tools/call",
             "params": {"name": name, "arguments": arguments}}
            for n, (name, arguments) in enumerate(calls, start=2)
        ),
    ]  # fmt: skip
    done = subprocess.run(
        [*nexus_exe(), "mcp"],
        cwd=project,
        input="".join(json.dumps(line) + "\n" for line in lines),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert done.returncode == 0, done.stderr
    answers = {a["id"]: a for a in map(json.loads, done.stdout.splitlines())}
    assert sorted(answers) == [1, 2, 3, 4], done.stdout
    assert all("result" in a for a in answers.values()), done.stdout
    assert json.loads(answers[2]["result"]["content"][0]["text"])["passed"] is True
    assert answers[3]["result"]["isError"]  # an answer, though an error: no such task
    assert _show(task_id)["status"] == "done"
