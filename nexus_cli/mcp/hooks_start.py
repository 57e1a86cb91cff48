"""``nexus hook session-start``: the briefing a session starts (or resumes, or re-starts) with.

Claude Code adds a ``SessionStart`` hook's stdout to the context (matchers ``startup``,
``resume``, ``compact``: https://code.claude.com/docs/en/hooks, read 2026-12-06). Nexus prints the
``nexus prime`` briefing and, after a compaction (``source: compact``), the hand-off of the
session's task (``nexus task context``), so what the summary dropped comes back. Silent outside
a Nexus project, and exit 0 whatever happens (:mod:`nexus_cli.mcp.hooks`).
"""

from __future__ import annotations

import importlib
import sqlite3
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from nexus_cli.errors import NexusError
from nexus_cli.mcp.hooks import HookAnswer, failed, project_at, session_dir, session_task
from nexus_cli.tasks import handoff
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.prime import build, render
from nexus_cli.terminal import escape

EVENT = "session-start"
# name_session(): loaded by name only for a session `nexus loop` started (NEXUS_TASK_ID), as the
# recorder loads what hashing needs: it brings telemetry.db's schema, fold and agent-log readers,
# which the briefing of every other session start does not need (benchmarks/hooks.py).
SESSIONS = "nexus_cli.tasks.agent_ingest"


def run(payload: Mapping[str, Any], env: Mapping[str, str], cwd: Path) -> HookAnswer:
    """The briefing for the session ``payload`` describes (nothing outside a Nexus project).

    A session ``nexus loop`` started for a task (``NEXUS_TASK_ID``) is recorded as that task's,
    so that its tokens are attributed to it (docs/telemetry.md, agent cost)."""
    problem = _name_session(payload, env)
    answer = _briefing(payload, env, cwd)
    answer.stderr = problem + answer.stderr
    return answer


def _name_session(payload: Mapping[str, Any], env: Mapping[str, str]) -> str:
    """Record the session's task; what went wrong, for stderr (the briefing still comes)."""
    if not env.get("NEXUS_TASK_ID"):
        return ""
    try:
        importlib.import_module(SESSIONS).name_session(
            payload.get("session_id"), env["NEXUS_TASK_ID"]
        )
    except (NexusError, OSError, sqlite3.Error) as exc:
        return failed(EVENT, exc).stderr
    return ""


def _briefing(payload: Mapping[str, Any], env: Mapping[str, str], cwd: Path) -> HookAnswer:
    where = session_dir(payload, cwd)
    project = project_at(where)
    if project is None:
        return HookAnswer()
    try:
        with opened(project) as store:
            text = render(build(store, current_agent(env.get("NEXUS_AGENT") or None, where), where))
            if payload.get("source") == "compact":
                task = session_task(store, env, where)
                if task is not None:
                    text += "\n\n" + escape(handoff.render(store, task))
    except (NexusError, OSError, ValueError, sqlite3.Error) as exc:
        return failed(EVENT, exc)
    return HookAnswer(stdout=text.rstrip("\n") + "\n")
