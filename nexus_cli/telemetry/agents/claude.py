"""Claude Code's session transcripts: the usage of each API response, and nothing else.

Claude Code writes one JSONL file per session under ``~/.claude/projects/<encoded cwd>/
<session id>.jsonl`` (subagents' under ``<session id>/subagents/``). Each assistant line carries
``message.usage`` (``input_tokens``, ``output_tokens``, ``cache_creation_input_tokens``,
``cache_read_input_tokens``), ``message.model``, ``message.id``, ``requestId``, ``sessionId``,
``timestamp`` and ``cwd``. One response with several content blocks is written as several
lines with the same ``message.id``/``requestId`` and its usage repeated, so the record key is
those two ids: the response is counted once (with the largest counts seen).

Read from a line: the four counts, the model's name, the two ids (hashed into the key), the
session id (hashed), the timestamp, and ``cwd`` (only to find the task; never stored). Message
content, tool input and results are never looked at.

Format: https://code.claude.com/docs/en/monitoring-usage and the transcript readers ccusage
(github.com/ryoppippi/ccusage) and claude-usage, read 2026-12-06.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass
from typing import Any

from nexus_cli.telemetry.agents.records import (
    Hasher,
    UsageRecord,
    count,
    model_name,
    moment_ms,
    text_id,
)

SOURCE = "claude"
MAX_CWD = 4096
_CONTROL = re.compile(r"[\x00-\x1f]")


@dataclass
class Found:
    """A usage record, and the folder the session ran in (to attribute it; not stored)."""

    record: UsageRecord
    cwd: str | None


def folder(value: object) -> str | None:
    """An absolute path without NUL or control characters, else None."""
    if not isinstance(value, str) or not value.startswith("/") or len(value) > MAX_CWD:
        return None
    if _CONTROL.search(value):
        return None
    return os.path.normpath(value)


def parse(doc: Any, hasher: Hasher) -> Found | None:
    """The usage in one transcript line (a parsed JSON value); None for a line without usage;
    :class:`BadRecord` for an assistant line whose usage is malformed."""
    if not isinstance(doc, dict) or doc.get("type") != "assistant":
        return None
    message = doc.get("message")
    if not isinstance(message, dict) or not isinstance(message.get("usage"), dict):
        return None
    usage = message["usage"]
    session = text_id(doc.get("sessionId"), "sessionId")
    at = moment_ms(doc.get("timestamp"))
    counts = (
        count(usage.get("input_tokens"), "input_tokens"),
        count(usage.get("output_tokens"), "output_tokens"),
        count(usage.get("cache_creation_input_tokens"), "cache_creation_input_tokens"),
        count(usage.get("cache_read_input_tokens"), "cache_read_input_tokens"),
    )
    if not any(counts):
        return None  # e.g. a synthetic message Claude Code writes itself
    message_id, request_id = message.get("id"), doc.get("requestId")
    if isinstance(message_id, str) and message_id:
        unique = f"{text_id(message_id, 'message.id')}\0{request_id if isinstance(request_id, str) else ''}"
    else:
        unique = text_id(doc.get("uuid"), "uuid")
    record = UsageRecord(
        key=hasher(f"{SOURCE}\0{unique[:600]}", kind="agent-usage"),
        source=SOURCE,
        session_hash=hasher(session, kind="agent-session"),
        model=model_name(message.get("model")),
        at_ms=at,
        input_tokens=counts[0],
        output_tokens=counts[1],
        cache_write_tokens=counts[2],
        cache_read_tokens=counts[3],
    )
    return Found(record, folder(doc.get("cwd")))


def default_root() -> str:
    """``$CLAUDE_CONFIG_DIR/projects``, else ``~/.claude/projects``."""
    base = os.environ.get("CLAUDE_CONFIG_DIR") or os.path.join(os.path.expanduser("~"), ".claude")
    return os.path.join(base, "projects")
