"""The YAML view of a task that ``nexus task edit`` opens in ``$EDITOR``, and reading it back.

:func:`render` writes the fields a person may change; :func:`read` parses the saved text and
validates every field, each error naming the file and the line of the field
(``FILE: line 4: priority: must be a whole number 0-4``); :func:`changes` compares it with the
view it was opened from and returns only what the person changed, as the keyword arguments of
:func:`nexus_cli.tasks.actions.update`: a field someone else changed meanwhile is left alone,
and an unchanged file changes nothing.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any

from nexus_cli import config_yaml, validate
from nexus_cli.errors import ConfigError, NexusError
from nexus_cli.tasks import wait_spec
from nexus_cli.tasks.model import DEFAULT_GATE_TIMEOUT_S, PRIORITIES, Gate, Task
from nexus_cli.tasks.record import MAX_COMMAND, MAX_GATE_TIMEOUT_S, MAX_TEXT, MAX_TITLE

WHAT = "task edit"
KEYS = ("title", "priority", "parent", "labels", "depends_on", "gates", "description")
HEADER = """\
# nexus task edit {id}: change what you want, save and quit.
# Lines starting with '#' are ignored; an unchanged file changes nothing.
# gates: commands that must exit 0 (a new or changed one is approved by this edit only at a
# terminal), or waiting gates: {{approval: NAME}}, {{after: WHEN}}, {{task: ID}}, {{task: PATH#ID}}.
"""


@dataclass(frozen=True)
class View:
    title: str
    priority: int
    parent: str | None
    labels: tuple[str, ...]
    depends_on: tuple[str, ...]
    gates: tuple[Gate, ...]
    description: str


def view_of(task: Task) -> View:
    return View(
        task.title,
        task.priority,
        task.parent,
        tuple(sorted(task.labels)),
        tuple(sorted(task.depends_on)),
        tuple(task.gates),
        task.description,
    )


def render(task: Task) -> str:
    data: dict[str, Any] = {
        "title": task.title,
        "priority": task.priority,
        "parent": task.parent,
        "labels": sorted(task.labels),
        "depends_on": sorted(task.depends_on),
        "gates": [g.to_dict() if g.wait is None else {g.wait: g.target} for g in task.gates],
        "description": task.description,
    }
    return HEADER.format(id=task.id) + config_yaml.dump_yaml(data)


def _line_of(text: str, key: str) -> int | None:
    for number, line in enumerate(text.splitlines(), start=1):
        if re.match(rf"^{re.escape(key)}\s*:", line):
            return number
    return None


class _Bad(Exception):
    def __init__(self, key: str, problem: str) -> None:
        super().__init__(problem)
        self.key, self.problem = key, problem


def read(text: str, path: Path | str) -> View:
    """The view in ``text``; a :class:`ConfigError` naming ``path``, the line and the field."""
    data = config_yaml.parse_yaml_mapping(text, path, what=WHAT)
    for key in data:
        if key not in KEYS:
            line = _line_of(text, str(key))
            where = f"line {line}: " if line else ""
            raise ConfigError(
                f"{path}: {where}unknown field {str(key)!r}",
                hint=f"the fields are: {', '.join(KEYS)}",
            )
    try:
        return _checked(data)
    except _Bad as bad:
        line = _line_of(text, bad.key)
        where = f"line {line}: " if line else ""
        raise ConfigError(f"{path}: {where}{bad.key}: {bad.problem}") from None


def _checked(data: dict[str, Any]) -> View:
    for key in KEYS:
        if key not in data:
            raise _Bad(key, "is missing (keep every field; change only its value)")
    title = data["title"]
    if not isinstance(title, str) or not title.strip() or len(title) > MAX_TITLE:
        raise _Bad("title", f"must be non-empty text of at most {MAX_TITLE} characters")
    priority = data["priority"]
    if isinstance(priority, bool) or not isinstance(priority, int) or priority not in PRIORITIES:
        raise _Bad("priority", f"must be a whole number 0-4, not {priority!r}")
    description = data["description"]
    if description is None:
        description = ""
    if not isinstance(description, str) or len(description) > MAX_TEXT:
        raise _Bad("description", f"must be text of at most {MAX_TEXT} characters")
    parent = data["parent"]
    if parent is not None:
        parent = _ref("parent", parent)
    labels = _texts("labels", data["labels"])
    deps = tuple(_ref("depends_on", d) for d in _texts("depends_on", data["depends_on"]))
    gates = data["gates"] or []
    if not isinstance(gates, list):
        raise _Bad("gates", "must be a list of {command, timeout_s, service}")
    return View(
        title.strip(),
        priority,
        parent,
        tuple(sorted(set(labels))),
        tuple(sorted(set(deps))),
        tuple(_gate(n, g) for n, g in enumerate(gates, start=1)),
        description,
    )


def _ref(key: str, value: object) -> str:
    try:
        return validate.task_ref(value)
    except NexusError as exc:
        raise _Bad(key, exc.message) from None


def _texts(key: str, value: object) -> tuple[str, ...]:
    if value is None:
        return ()
    if not isinstance(value, list) or not all(isinstance(v, str) and v.strip() for v in value):
        raise _Bad(key, "must be a list of non-empty text")
    if any(len(v) > MAX_TITLE for v in value):
        raise _Bad(key, f"holds an entry longer than {MAX_TITLE} characters")
    return tuple(v.strip() for v in value)


def _gate(number: int, value: object) -> Gate:
    where = f"gate {number}"
    if isinstance(value, str):
        value = {"command": value}
    if not isinstance(value, dict):
        raise _Bad("gates", f"{where} must be a command or {{command, timeout_s, service}}")
    if len(value) == 1 and next(iter(value)) in wait_spec.KINDS:
        return _waiting_gate(where, value)
    unknown = set(value) - {"command", "timeout_s", "service"}
    if unknown:
        raise _Bad("gates", f"{where} has unknown fields: {', '.join(sorted(map(str, unknown)))}")
    command = value.get("command")
    if not isinstance(command, str) or not command.strip() or len(command) > MAX_COMMAND:
        raise _Bad("gates", f"{where}: command must be non-empty text")
    timeout = value.get("timeout_s", DEFAULT_GATE_TIMEOUT_S)
    if (
        isinstance(timeout, bool)
        or not isinstance(timeout, int)
        or not 0 < timeout <= MAX_GATE_TIMEOUT_S
    ):
        raise _Bad("gates", f"{where}: timeout_s must be 1-{MAX_GATE_TIMEOUT_S} seconds")
    service = value.get("service")
    if service is not None:
        try:
            validate.service_name(service)
        except NexusError as exc:
            raise _Bad("gates", f"{where}: {exc.message}") from None
    return Gate(command, timeout, service)


def _waiting_gate(where: str, value: dict[Any, Any]) -> Gate:
    ((kind, target),) = value.items()
    if isinstance(target, (datetime, date)):  # YAML reads an unquoted timestamp as one
        target = target.isoformat()
    if not isinstance(target, str):
        raise _Bad("gates", f"{where}: {kind} must be text")
    try:
        kind, command = wait_spec.parse(f"{kind}:{target}", what=where)
    except NexusError as exc:
        raise _Bad("gates", exc.message) from None
    return Gate(command, wait=kind)


def changes(before: View, after: View) -> dict[str, Any]:
    """What the person changed, as keyword arguments of ``actions.update`` (empty: nothing)."""
    found: dict[str, Any] = {}
    for key in ("title", "description", "priority"):
        if getattr(after, key) != getattr(before, key):
            found[key] = getattr(after, key)
    if after.parent != before.parent:
        found["parent"] = after.parent or ""
    for key, add, remove in (
        ("labels", "add_labels", "remove_labels"),
        ("depends_on", "add_deps", "remove_deps"),
    ):
        old, new = set(getattr(before, key)), set(getattr(after, key))
        if new - old:
            found[add] = sorted(new - old)
        if old - new:
            found[remove] = sorted(old - new)
    if after.gates != before.gates:
        found["gates"] = list(after.gates)
    return found
