"""``nexus mcp``: the MCP server (stdio) over the project of the working directory.

The only module that imports the ``mcp`` SDK. Each tool is a thin async wrapper that validates
nothing itself: it runs the plain function from ``task_tools``/``workspace_tools``/
``analysis_tools`` in a worker thread through :func:`nexus_cli.mcp.recording.call` (one telemetry
event per call, CLI error messages as ``is_error`` results) and returns the ``--json`` shape.
"""

from __future__ import annotations

import contextlib
import functools
import time
from collections.abc import Callable
from typing import Any

import anyio
from mcp.server.mcpserver import Context, MCPServer
from mcp.server.mcpserver.exceptions import ToolError, UnexpectedToolError
from mcp.server.stdio import stdio_server
from mcp.shared.message import SessionMessage
from mcp.types.jsonrpc import INVALID_REQUEST, PARSE_ERROR, ErrorData, JSONRPCError
from pydantic import ValidationError

from nexus_cli import __version__, jsonio
from nexus_cli.errors import UsageError
from nexus_cli.mcp import lifetime, recording, schemas
from nexus_cli.mcp.server_tools import register
from nexus_cli.project import Project

HEARTBEAT_S = 5.0
INSTRUCTIONS = (
    "Nexus tracks this repository's tasks. A task is done only when its verification gates "
    "(shell commands) pass: call task_complete, never claim completion yourself. Start with "
    "task_ready, then task_claim, work, task_note what you learned, and task_complete."
)


class NexusMCP:
    """The server and the project it serves (a :class:`~nexus_cli.mcp.server_tools.ToolHost`)."""

    def __init__(self, project: Project, record: bool) -> None:
        self.project = project
        self.record = record
        self.check_schemas = schemas.debug_checks()
        self.app: MCPServer[Any] = _Server(
            self, name="nexus", version=__version__, instructions=INSTRUCTIONS
        )

    async def run(
        self, tool: str, fn: Callable[..., Any], *args: Any, ctx: Context | None = None
    ) -> str:
        """Run ``fn`` for ``tool`` in a thread (progress heartbeats when ``ctx``); JSON text out."""
        work = functools.partial(recording.call, tool, self.record, fn, *args)
        try:
            if ctx is None:
                result = await lifetime.in_thread(work)
            else:
                result = await _with_progress(ctx, tool, work)
        except recording.ToolFailure as exc:
            raise ToolError(exc.text) from None
        if self.check_schemas:
            _check_schema(tool, result)
        return result if isinstance(result, str) else jsonio.dumps_output(result, indent=None)


class _Server(MCPServer[Any]):
    """The SDK's server, except that arguments which do not fit a tool's input schema come back
    as one line naming each argument and its problem (``limit: must be an integer between 0 and
    10000``), recorded like any refused call, instead of pydantic's multi-line report."""

    def __init__(self, host: NexusMCP, **settings: Any) -> None:
        super().__init__(**settings)
        self.host = host

    async def serve_stdio(self, stdin: lifetime.StdinLines) -> None:
        """The SDK's ``run_stdio_async``, reading the client through ``stdin``, with the
        messages relayed through :class:`lifetime.Answering`."""
        server = self._lowlevel_server
        answering = lifetime.Answering(_request_id, _cancelled_id, _answer_id, _unreadable)
        to_server, server_reads = anyio.create_memory_object_stream[Any](0)
        server_writes, from_server = anyio.create_memory_object_stream[Any](0)
        replies = server_writes.clone()  # the relay's own answers, beside the server's
        reading = anyio.CancelScope()

        async def inward(read: Any) -> None:
            with reading:
                await answering.inward(read, to_server, replies)

        async with (
            stdio_server(stdin=stdin) as (read, write),  # type: ignore[arg-type]
            anyio.create_task_group() as relays,
        ):
            relays.start_soon(inward, read)
            relays.start_soon(answering.outward, from_server, write)
            async with server_reads, server_writes:
                await server.run(
                    server_reads, server_writes, server.create_initialization_options()
                )
            # The server has ended: nothing more is read; what it wrote is still written out
            # (the outward relay ends once it has passed on the last of it).
            reading.cancel()

    async def call_tool(
        self, name: str, arguments: dict[str, Any], context: Context[Any, Any] | None = None
    ) -> Any:
        try:
            return await super().call_tool(name, arguments, context)
        except ToolError as exc:
            # The SDK raises ToolError from the pydantic ValidationError of the arguments
            # (mcp/server/mcpserver/tools/base.py, Tool.run); anything else stays as it is.
            invalid = exc.__cause__
            if isinstance(exc, UnexpectedToolError) or not isinstance(invalid, ValidationError):
                raise
            schema = next((t.input_schema for t in await self.list_tools() if t.name == name), {})
            problem = recording.argument_error(
                invalid.errors(include_url=False, include_input=False), schema
            )
            refuse = functools.partial(recording.call, name, self.host.record, _refuse, problem)
            try:
                await anyio.to_thread.run_sync(refuse)
            except recording.ToolFailure as failure:
                raise ToolError(f"Error executing tool {name}: {failure.text}") from invalid
            raise  # not reached: _refuse always raises


def _request_id(item: Any) -> object | None:
    """The id of a request from the client (a message that asks for an answer)."""
    message = getattr(item, "message", None)
    if getattr(message, "method", None) is None:
        return None
    return getattr(message, "id", None)


def _cancelled_id(item: Any) -> object | None:
    """The request a ``notifications/cancelled`` withdraws: the client expects no answer."""
    message = getattr(item, "message", None)
    if getattr(message, "method", None) != "notifications/cancelled":
        return None
    params = getattr(message, "params", None) or {}
    return params.get("requestId") if isinstance(params, dict) else None


def _answer_id(item: Any) -> object | None:
    """The request a message from the server answers (a result or an error)."""
    message = getattr(item, "message", None)
    if message is None or getattr(message, "method", None) is not None:
        return None
    return getattr(message, "id", None)


def _unreadable(exc: Exception) -> SessionMessage:
    """JSON-RPC 2.0's answer to a line that is not a message: -32700 when it is not JSON, -32600
    when it is JSON but no request, notification or response; its id could not be read, so it
    is null."""
    not_json = isinstance(exc, ValidationError) and any(
        error["type"] == "json_invalid" for error in exc.errors(include_url=False)
    )
    error = (
        ErrorData(code=PARSE_ERROR, message="Parse error: the line is not JSON")
        if not_json
        else ErrorData(
            code=INVALID_REQUEST,
            message="Invalid Request: not a JSON-RPC 2.0 request, notification or response",
        )
    )
    return SessionMessage(JSONRPCError(jsonrpc="2.0", id=None, error=error))


def _refuse(problem: str) -> None:
    raise UsageError(problem)


def _check_schema(tool: str, result: Any) -> None:
    """With NEXUS_DEBUG=1: a result that breaks its schema is a tool error, not a quiet drift."""
    problems = schemas.tool_errors(tool, result)
    if problems:
        raise ToolError(
            f"the result of {tool} does not match its JSON Schema: {'; '.join(problems[:3])} "
            "(hint: this is a bug in nexus; please report it)"
        )


async def _with_progress(ctx: Context, tool: str, work: Callable[[], Any]) -> Any:
    """Run ``work`` with a heartbeat: progress is the seconds elapsed (0, 5, 10, … without a
    total), then one last notification whose progress equals its total (done).

    "The progress value MUST increase with each notification, even if the total is unknown."
    (MCP specification, Utilities/Progress:
    https://modelcontextprotocol.io/specification/2025-06-18/basic/utilities/progress).
    So the last value is the time elapsed, and always more than the heartbeat before it.
    """
    start = time.monotonic()
    sent: list[float] = []  # the values notified so far, each larger than the one before

    def next_value() -> float:
        elapsed = round(time.monotonic() - start, 3)
        return max(elapsed, sent[-1] + 0.001) if sent else elapsed

    async def beat() -> None:
        while True:
            value = next_value()
            sent.append(value)
            await _progress(ctx, value, f"{tool}: running ({int(value)} s)")
            await anyio.sleep(HEARTBEAT_S)

    failure: recording.ToolFailure | None = None
    result: Any = None
    async with anyio.create_task_group() as group:
        group.start_soon(beat)
        try:
            result = await lifetime.in_thread(work)
        except recording.ToolFailure as exc:  # raised here, not inside the task group's error
            failure = exc
        finally:
            group.cancel_scope.cancel()
    done = next_value()
    await _progress(ctx, done, f"{tool}: finished ({int(done)} s)", total=done)
    if failure is not None:
        raise failure
    return result


async def _progress(ctx: Context, value: float, message: str, total: float | None = None) -> None:
    # Progress is best effort: a client that went away must not fail the call.
    with contextlib.suppress(Exception):
        await ctx.report_progress(value, total, message)


def build(project: Project, *, record: bool = True) -> MCPServer[Any]:
    """The configured server; :mod:`nexus_cli.mcp.server_tools` registers every tool on it."""
    server = NexusMCP(project, record)
    register(server)
    return server.app


def serve(project: Project, *, record: bool = True) -> None:
    """Serve over stdio until the client closes stdin or SIGTERM/SIGINT comes (then exit 143 or
    130 once the calls in flight are cancelled: gates ended, tasks restored)."""
    server = NexusMCP(project, record)
    register(server)
    app = server.app
    assert isinstance(app, _Server)
    lifetime.run(app.serve_stdio)
