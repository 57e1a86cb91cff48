"""One MCP tool call = one invocation: the same error mapping and telemetry path as the CLI.

:func:`call` runs a tool function as its own :class:`~nexus_cli.telemetry.journal.invocation.Invocation`
(command = the tool name, ``event_type`` = ``mcp``; argument values are never recorded) and turns
every failure into a :class:`ToolFailure` whose text is the CLI's one-line message and hint.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from typing import Any, TypeVar

from nexus_cli import jsonio
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
        text += "\n" + jsonio.dumps_output(exc.result, indent=2)
    return text


def argument_error(errors: Iterable[Mapping[str, Any]], schema: Mapping[str, Any]) -> str:
    """One line for arguments that do not fit a tool's input ``schema`` (pydantic's ``errors``):
    each argument and what it must be, e.g. ``limit: must be an integer between 0 and 10000``.
    Never the value sent (it is the caller's data, and may be long or on many lines)."""
    properties = schema.get("properties", {})
    problems: dict[str, str] = {}
    for error in errors:
        loc = [str(part) for part in error.get("loc", ())]
        name = loc[0] if loc else "arguments"
        if error.get("type") == "missing":
            problem = "is required"
        else:
            fallback = str(error.get("msg", "is not valid"))
            problem = _expected(properties.get(name, {})) or fallback[:1].lower() + fallback[1:]
        problems.setdefault(one_line(name)[:60], one_line(problem)[:200])
    return "; ".join(f"{name}: {problem}" for name, problem in problems.items())


def _expected(prop: Mapping[str, Any]) -> str | None:
    """What a value of the JSON Schema ``prop`` must be, in words (None: no words for it)."""
    options = [p for p in prop.get("anyOf", [prop]) if p.get("type") != "null"]
    if len(options) != 1:
        return None
    kind, word = options[0], ""
    if "anyOf" in prop and len(prop["anyOf"]) > 1:
        word = " (or null)"
    low, high = kind.get("minimum"), kind.get("maximum")
    if kind.get("exclusiveMinimum") is not None:
        low = kind["exclusiveMinimum"] + 1
    match kind.get("type"):
        case "integer" if low is not None and high is not None:
            text = f"must be an integer between {low} and {high}"
        case "integer" if low is not None:
            text = f"must be an integer of at least {low}"
        case "integer":
            text = "must be an integer"
        case "number":
            text = "must be a number"
        case "string" if kind.get("minLength"):
            text = "must be a non-empty string"
        case "string":
            text = "must be a string"
        case "boolean":
            text = "must be true or false"
        case "array" if kind.get("items", {}).get("type") == "string":
            text = "must be a list of strings"
        case "array":
            text = "must be a list"
        case "object" if kind.get("additionalProperties", {}).get("type") == "string":
            text = "must be an object whose values are strings"
        case "object":
            text = "must be an object"
        case _:
            return None
    return text + word


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
