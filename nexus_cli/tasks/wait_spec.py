"""What a waiting gate may say: ``approval: NAME``, ``after: MOMENT`` or ``task: [PATH#]ID``.

One parser for what a person types (``--wait approval:alice``), what an agent sends over MCP and
what the task editor reads, and one check for what ``tasks.jsonl`` holds (untrusted: teammates,
pull requests), used by :mod:`nexus_cli.tasks.record` on every read and every write. A gate is
stored as ``{"command": "KIND: VALUE", "timeout_s": 600, "service": null, "wait": "KIND"}``; the
value is canonical: a name as given, a UTC moment with microseconds, a task id (a full one, or
``PATH#ID`` for a task of another repository).

Nothing here reads a task or a file: satisfying a gate is :mod:`nexus_cli.tasks.waits`'s job.
"""

from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path

from nexus_cli import validate
from nexus_cli.errors import NexusError, UsageError
from nexus_cli.tasks.moments import parse_moment

KINDS = ("approval", "after", "task")
MAX_NAME = 100
MAX_PATH = 4096
FORMS = "approval:NAME, after:WHEN (e.g. 2026-12-24T09:00Z), task:ID or task:PATH#ID"
_MOMENT = re.compile(r"\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z")
_TASK_ID = validate.TASK_ID_PATTERN


def split_task(value: str) -> tuple[str | None, str]:
    """``PATH#ID`` -> (PATH, ID); ``ID`` -> (None, ID)."""
    path, sep, task_id = value.rpartition("#")
    return (path, task_id) if sep else (None, task_id)


def _control(value: str) -> bool:
    return any(ord(ch) < 32 or 127 <= ord(ch) <= 159 or 0xD800 <= ord(ch) <= 0xDFFF for ch in value)


def _name_problem(name: str) -> str | None:
    if not name or name != name.strip():
        return "a name must be non-empty, without spaces around it"
    if len(name) > MAX_NAME:
        return f"a name must be at most {MAX_NAME} characters"
    if _control(name):
        return "a name must not hold control characters"
    if name.startswith("-"):
        return "a name must not start with a dash"
    return None


def _moment_problem(moment: str) -> str | None:
    if not _MOMENT.fullmatch(moment):
        return "must be a UTC moment like 2026-12-24T09:00:00.000000Z"
    try:
        datetime.strptime(moment, "%Y-%m-%dT%H:%M:%S.%fZ")
    except ValueError:
        return f"{moment} is not a real moment"
    return None


def _task_problem(value: str) -> str | None:
    path, task_id = split_task(value)
    if not _TASK_ID.fullmatch(task_id):
        return f"{task_id!r:.40} is not a task id ({validate.TASK_ID_RULES})"
    if path is None:
        return None
    if not path or len(path) > MAX_PATH:
        return f"the repository path must be 1-{MAX_PATH} characters"
    if _control(path):
        return "the repository path must not hold control characters"
    return None


_PROBLEMS = {"approval": _name_problem, "after": _moment_problem, "task": _task_problem}


def problem(kind: object, command: object) -> str | None:
    """Why a stored waiting gate (its ``wait`` kind and its ``command`` text) is malformed;
    None when it is well formed."""
    if kind not in KINDS:
        return f"waits on an unknown kind {kind!r:.30} (one of: {', '.join(KINDS)})"
    assert isinstance(kind, str)
    if not isinstance(command, str) or not command.startswith(f"{kind}: "):
        return f"a waiting gate's command must read '{kind}: VALUE'"
    return _PROBLEMS[kind](command[len(kind) + 2 :])


def parse(text: str, *, what: str = "--wait") -> tuple[str, str]:
    """``KIND:VALUE`` (or ``KIND: VALUE``) as a person or an agent gives it -> (kind, the
    canonical command ``KIND: VALUE``); a one-line :class:`UsageError` otherwise.

    A local task may be named by a unique start of its id: the caller resolves it
    (:func:`needs_resolving`). A moment is any form :func:`~nexus_cli.tasks.moments.parse_moment`
    takes (a zone is required; a bare date is midnight UTC).
    """
    if not isinstance(text, str):
        raise UsageError(f"{what}: expected text like {FORMS}")
    kind, sep, value = text.partition(":")
    kind, value = kind.strip(), value.strip()
    if not sep or kind not in KINDS:
        raise UsageError(f"{what}: {text!r:.80} is not a waiting gate", hint=f"write {FORMS}")
    if kind == "after":
        value = parse_moment(value, what=what)
    elif kind == "task":
        path, ref = split_task(value)
        try:
            ref = validate.task_ref(ref)
        except NexusError as exc:
            raise UsageError(f"{what}: {exc.message}", hint=f"write {FORMS}") from None
        if path is not None and not _TASK_ID.fullmatch(ref):
            raise UsageError(
                f"{what}: a task of another repository is named by its full id, not {ref!r}",
                hint="e.g. task:../other-repo#nx-ab12",
            )
        value = ref if path is None else f"{path}#{ref}"
    local_ref = kind == "task" and "#" not in value  # a prefix, resolved by the caller
    found = None if local_ref else _PROBLEMS[kind](value)
    if found is not None:
        raise UsageError(f"{what}: {kind}: {found}", hint=f"write {FORMS}")
    return kind, f"{kind}: {value}"


def needs_resolving(kind: str, command: str) -> str | None:
    """The local task reference of a ``task:`` gate (to resolve to a full id), else None."""
    if kind != "task":
        return None
    path, ref = split_task(command[len("task: ") :])
    return ref if path is None else None


def repository(path: str, root: Path) -> Path:
    """Where ``PATH`` of ``task: PATH#ID`` points: relative to the project root, or absolute
    (``~`` is not expanded). Not resolved here: :mod:`nexus_cli.tasks.waits` resolves it."""
    candidate = Path(path)
    return candidate if candidate.is_absolute() else root / candidate
