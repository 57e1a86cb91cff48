"""One MCP tool call = one invocation: the same error mapping and telemetry path as the CLI.

:func:`call` runs a tool function as its own :class:`~nexus_cli.telemetry.journal.invocation.Invocation`
(command = the tool name, ``event_type`` = ``mcp``; argument values are never recorded) and turns
every failure into a :class:`ToolFailure` whose text is the CLI's one-line message and hint.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any, TypeVar

from nexus_cli.errors import ExitCode, GateFailedError, NexusError
from nexus_cli.telemetry.journal import invocation, recorder

T = TypeVar("T")


class ToolFailure(Exception):
    """What the server reports as an ``is_error`` result; ``text`` is what the client sees."""

    def __init__(self, text: str) -> None:
        super().__init__(text)
        self.text = text


class GatesFailed(GateFailedError):
    """A task's gates ran and at least one failed; ``result`` is the full verification JSON."""

    def __init__(self, message: str, hint: str, result: dict[str, Any]) -> None:
        super().__init__(message, hint=hint)
        self.result = result


def one_line(text: str) -> str:
    lines = [line.strip() for line in str(text).splitlines() if line.strip()]
    return " ".join(lines)


def error_text(exc: NexusError) -> str:
    text = one_line(exc.message) + (f" (hint: {one_line(exc.hint)})" if exc.hint else "")
    if isinstance(exc, GatesFailed):
        text += "\n" + json.dumps(exc.result, indent=2, ensure_ascii=False)
    return text


def call(tool: str, record: bool, fn: Callable[..., T], *args: Any, **kwargs: Any) -> T:
    """Run ``fn`` as the invocation of MCP tool ``tool``; record it when ``record``."""
    inv = invocation.begin([])  # argv stays empty: argument values are never stored
    inv.command_path = [tool]
    code: int = ExitCode.OK
    try:
        return fn(*args, **kwargs)
    except NexusError as exc:
        code = int(exc.exit_code)
        inv.fields.setdefault("error_category", exc.category)
        raise ToolFailure(error_text(exc)) from None
    except Exception as exc:
        code = ExitCode.ERROR
        inv.fields.setdefault("error_category", "internal")
        raise ToolFailure(
            f"unexpected {type(exc).__name__}: {one_line(str(exc))[:300]} "
            "(hint: this is a bug in nexus; please report it)"
        ) from None
    finally:
        inv.fields["event_type"] = "mcp"  # library code may have noted 'task' or 'workspace'
        if record:
            recorder.record(inv, code)
