"""A real `nexus mcp` server process and the MCP SDK's own stdio client talking to it."""

from __future__ import annotations

import json
import os
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import fold_telemetry, nexus_exe

pytest.importorskip("mcp")


@asynccontextmanager
async def mcp_session(cwd: Path, *global_args: str) -> AsyncIterator[Any]:
    """A session with `nexus [GLOBAL_ARGS] mcp` started in ``cwd`` (e.g. ``--no-telemetry``)."""
    from mcp.client import ClientSession
    from mcp.client.stdio import StdioServerParameters, stdio_client

    exe, *args = nexus_exe()
    params = StdioServerParameters(
        command=exe, args=[*args, *global_args, "mcp"], cwd=str(cwd), env=dict(os.environ)
    )
    with open(os.environ.get("NEXUS_TEST_MCP_ERRLOG", os.devnull), "w") as errlog:
        async with (
            stdio_client(params, errlog=errlog) as (read, write),
            ClientSession(read, write) as session,
        ):
            await session.initialize()
            yield session


def text_of(result: Any) -> str:
    return "".join(getattr(block, "text", "") for block in result.content)


def ok(result: Any) -> Any:
    assert not result.is_error, text_of(result)
    return json.loads(text_of(result))


def mcp_events(home: Path) -> list[dict[str, Any]]:
    fold_telemetry()
    db = home / "nexus-home" / "telemetry.db"
    conn = sqlite3.connect(db)
    conn.row_factory = sqlite3.Row
    try:
        rows = conn.execute("SELECT * FROM events WHERE event_type = 'mcp' ORDER BY id")
        return [dict(r) for r in rows]
    finally:
        conn.close()


Call = Callable[[str, dict[str, Any]], Awaitable[Any]]
