"""Codex's session logs (``$CODEX_HOME/sessions/YYYY/MM/DD/rollout-*.jsonl``): token counts.

Each line is ``{"timestamp", "type", "payload"}``. Read from them: ``session_meta`` (the session
``id`` and its ``cwd``), ``turn_context`` (the ``model`` in use, and ``cwd``) and ``event_msg``
lines whose ``payload.type`` is ``token_count``: ``payload.info.last_token_usage`` is one turn's
usage (``input_tokens``, which includes ``cached_input_tokens``; ``output_tokens``, which
includes ``reasoning_output_tokens``) and ``payload.info.total_token_usage`` the session's
running total. A turn is keyed by the session and that running total, so the same event written
twice is counted once. Nothing else (messages, tool calls, instructions) is looked at.

The model and session of a turn come from earlier lines of the same file, so a Codex log that
grew is read again from its start (turns already stored are recognised by their keys).

Format: ccusage's Codex notes (github.com/ryoppippi/ccusage apps/codex/CLAUDE.md) and
token-audit's Codex guide (github.com/littlebearapps/token-audit docs/codex-cli-setup.md),
read 2026-12-06.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Any

from nexus_cli.telemetry.agents.claude import Found, folder
from nexus_cli.telemetry.agents.records import (
    UNKNOWN_MODEL,
    Hasher,
    UsageRecord,
    count,
    model_name,
    moment_ms,
    text_id,
)

SOURCE = "codex"


@dataclass
class Context:
    """What earlier lines of one file said: the session, its folder, the model."""

    session: str | None = None
    cwd: str | None = None
    model: str = UNKNOWN_MODEL


def parse(doc: Any, context: Context, hasher: Hasher) -> Found | None:
    """The usage in one Codex log line, updating ``context`` from the lines that set it."""
    if not isinstance(doc, dict) or not isinstance(doc.get("payload"), dict):
        return None
    kind, payload = doc.get("type"), doc["payload"]
    if kind == "session_meta":
        context.session = text_id(payload.get("id"), "session id")
        context.cwd = folder(payload.get("cwd")) or context.cwd
        return None
    if kind == "turn_context":
        context.model = model_name(payload.get("model"))
        context.cwd = folder(payload.get("cwd")) or context.cwd
        return None
    if kind != "event_msg" or payload.get("type") != "token_count":
        return None
    info = payload.get("info")
    if not isinstance(info, dict) or not isinstance(info.get("last_token_usage"), dict):
        return None  # a rate-limit update without usage
    last, total = info["last_token_usage"], info.get("total_token_usage")
    cached = count(last.get("cached_input_tokens"), "cached_input_tokens")
    given = count(last.get("input_tokens"), "input_tokens")
    output = count(last.get("output_tokens"), "output_tokens")
    if context.session is None or not (given or output):
        return None
    if isinstance(total, dict):
        keys = ("input_tokens", "cached_input_tokens", "output_tokens")
        running = ",".join(str(count(total.get(k), k)) for k in keys)
    else:  # no running total: the turn is what it is, at its moment
        running = f"{doc.get('timestamp')},{given},{cached},{output}"
    record = UsageRecord(
        key=hasher(f"{SOURCE}\0{context.session}\0{running}", kind="agent-usage"),
        source=SOURCE,
        session_hash=hasher(context.session, kind="agent-session"),
        model=context.model,
        at_ms=moment_ms(doc.get("timestamp")),
        input_tokens=max(given - cached, 0),
        output_tokens=output,
        cache_read_tokens=min(cached, given),
    )
    return Found(record, context.cwd)


def default_root() -> str:
    """``$CODEX_HOME/sessions``, else ``~/.codex/sessions``."""
    base = os.environ.get("CODEX_HOME") or os.path.join(os.path.expanduser("~"), ".codex")
    return os.path.join(base, "sessions")
