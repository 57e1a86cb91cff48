"""One validator per kind of name, used at every boundary where a name enters Nexus.

The same function checks a name typed on the command line, read back from ``.nexus/state``, a
lock file or ``tasks.jsonl``, found in a template or workflow, or sent by an MCP client. Each
returns the value unchanged when it is valid. A bad value raises :class:`UsageError` (exit 2) when
it came from the user (``source=None``); when it was read from a file, ``source`` names that file
and the error is a :class:`StateError` (for Nexus's own state) or :class:`ConfigError` (for
repository content), so the message says where the bad value lives.

Keep this module import-light: it runs on hot paths.
"""

from __future__ import annotations

import re
from pathlib import Path
from typing import NoReturn

from nexus_cli.errors import ConfigError, NexusError, StateError, UsageError

WORKSPACE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9._-]{0,62}$")
SERVICE_PATTERN = re.compile(r"^[a-z0-9][a-z0-9_-]{0,62}$")
SLUG_PATTERN = re.compile(r"^[a-z0-9][a-z0-9-]{0,62}$")
TASK_ID_PATTERN = re.compile(r"^nx-[0-9a-z]{4,16}$")
TASK_REF_PATTERN = re.compile(r"^nx-[0-9a-z]{1,16}$")
PROJECT_ID_PATTERN = re.compile(r"^[0-9a-f]{8,32}$")
VARIABLE_PATTERN = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")

WORKSPACE_RULES = (
    "use 1-63 lowercase letters, digits, '.', '_' or '-', starting with a letter or digit "
    "(e.g. feature-auth)"
)
SERVICE_RULES = "use 1-63 lowercase letters, digits, '_' or '-', starting with a letter or digit"
SLUG_RULES = "use 1-63 lowercase letters, digits or '-', starting with a letter or digit"
TASK_ID_RULES = "task ids look like nx-ab12 (nx- and 4-16 lowercase letters or digits)"
TASK_REF_RULES = (
    "give a task id such as nx-ab12, or a unique start of one (ab1); 'nx-' may be left out"
)


def _fail(
    kind: str, value: object, problem: str, rules: str, source: Path | str | None
) -> NoReturn:
    shown = repr(value)
    if len(shown) > 80:
        shown = shown[:77] + "..."
    if source is None:
        raise UsageError(f"invalid {kind} {shown}: {problem}", hint=rules)
    error: type[NexusError] = (
        StateError if "/.nexus/state" in str(source) or ".lock" in str(source) else ConfigError
    )
    raise error(
        f"{source}: invalid {kind} {shown}: {problem}",
        hint="the file was edited or is corrupt; fix or remove that entry",
    )


def _common_problem(value: object) -> str | None:
    if not isinstance(value, str):
        return f"expected text, found {type(value).__name__}"
    if not value:
        return "it is empty"
    if any(ord(ch) < 32 or ord(ch) == 127 or 0xD800 <= ord(ch) <= 0xDFFF for ch in value):
        return "it contains control characters or undecodable bytes"
    if value.startswith("-"):
        return "it starts with a dash"
    if "/" in value or "\\" in value:
        return "it contains a slash"
    if ".." in value:
        return "it contains '..'"
    return None


def _check(
    kind: str,
    value: object,
    pattern: re.Pattern[str],
    rules: str,
    source: Path | str | None,
    *,
    git_ref: bool = False,
) -> str:
    problem = _common_problem(value)
    if problem is None:
        assert isinstance(value, str)
        if git_ref and value.endswith((".", ".lock")):
            problem = "it ends with '.' or '.lock'"
        elif not pattern.fullmatch(value):
            problem = "it has characters outside those allowed or is too long"
    if problem is not None:
        _fail(kind, value, problem, rules, source)
    assert isinstance(value, str)
    return value


def workspace_name(value: object, *, source: Path | str | None = None) -> str:
    """A workspace name: a git branch, Docker object and folder name at once."""
    return _check("workspace name", value, WORKSPACE_PATTERN, WORKSPACE_RULES, source, git_ref=True)


def service_name(value: object, *, source: Path | str | None = None) -> str:
    return _check("service name", value, SERVICE_PATTERN, SERVICE_RULES, source)


def persona_name(value: object, *, source: Path | str | None = None) -> str:
    return _check("persona name", value, SLUG_PATTERN, SLUG_RULES, source)


def template_name(value: object, *, source: Path | str | None = None) -> str:
    return _check("template name", value, SLUG_PATTERN, SLUG_RULES, source)


def workflow_name(value: object, *, source: Path | str | None = None) -> str:
    return _check("workflow name", value, SLUG_PATTERN, SLUG_RULES, source)


def task_id(value: object, *, source: Path | str | None = None) -> str:
    """A full task id (``nx-`` plus base36 digits), as stored; prefixes are resolved elsewhere."""
    return _check("task id", value, TASK_ID_PATTERN, TASK_ID_RULES, source)


def task_ref(value: object, *, source: Path | str | None = None) -> str:
    """A task id or a unique start of one, as people and agents type it (``nx-ab12``, ``AB1``).

    Returns the normalised reference (lower case, with ``nx-``); which task it names is resolved
    against the store (:func:`nexus_cli.tasks.loading.resolve`).
    """
    problem = _common_problem(value)
    if problem is None:
        assert isinstance(value, str)
        text = value.strip().lower()
        ref = text if text.startswith("nx-") else "nx-" + text
        if TASK_REF_PATTERN.fullmatch(ref):
            return ref
        problem = "it has characters outside those allowed or is too long"
    _fail("task id", value, problem, TASK_REF_RULES, source)


def project_id(value: object, *, source: Path | str | None = None) -> str:
    """The per-clone id that names Docker objects: lowercase hex, 8-32 digits."""
    return _check(
        "project id", value, PROJECT_ID_PATTERN, "a project id is 8-32 lowercase hex digits", source
    )


# The most template variables a workspace may have, and the longest value (the workspace record
# keeps them, and reads them back with these limits).
MAX_VARIABLES = 100
MAX_VARIABLE_VALUE = 10_000


def template_variables(values: dict[str, str]) -> dict[str, str]:
    """Template variables (``--var KEY=VALUE``, MCP ``vars``): keys are letters, digits and '_'.

    The values are text (any text: they are substituted into the template, which checks what
    it makes of them), at most :data:`MAX_VARIABLE_VALUE` characters; at most
    :data:`MAX_VARIABLES` of them. Returns ``values`` unchanged.
    """
    if len(values) > MAX_VARIABLES:
        raise UsageError(f"too many template variables ({len(values)}): at most {MAX_VARIABLES}")
    for key, value in values.items():
        if not isinstance(key, str) or not VARIABLE_PATTERN.fullmatch(key):
            shown = key[:40] if isinstance(key, str) else key
            raise UsageError(
                f"invalid template variable name {shown!r}",
                hint="use letters, digits and '_', not starting with a digit (e.g. PG_VERSION)",
            )
        if not isinstance(value, str):
            raise UsageError(f"template variable {key} must be text, found {type(value).__name__}")
        if len(value) > MAX_VARIABLE_VALUE:
            raise UsageError(
                f"template variable {key} is longer than {MAX_VARIABLE_VALUE:,} characters"
            )
    return values


def command_argv(value: object) -> list[str]:
    """A command as an argument list (no shell): at least one argument, the first not empty."""
    if (
        not isinstance(value, list | tuple)
        or not value
        or not all(isinstance(arg, str) for arg in value)
        or not value[0]
    ):
        raise UsageError("command must be a non-empty list of arguments, e.g. ['ls', '-la']")
    return list(value)


def is_valid(validator: object, value: object) -> bool:
    """Whether ``validator(value)`` accepts ``value`` (for filters that skip rather than fail)."""
    try:
        validator(value)  # type: ignore[operator]
    except NexusError:
        return False
    return True


def _control_character(value: str) -> str | None:
    for ch in value:
        code = ord(ch)
        if code < 32 or 127 <= code <= 159 or 0xD800 <= code <= 0xDFFF:
            return ch
    return None


def plain_text(value: str, *, what: str) -> str:
    """``value`` unchanged unless it holds a control character (newline, CR, NUL, ESC, C1...).

    For anything written into a line-based file (crontab) or a shell-quoted string: quoting does
    not stop a newline from starting a new crontab line. Undecodable bytes (surrogates) count too.
    """
    bad = _control_character(value)
    if bad is not None:
        shown = repr(value)
        raise UsageError(
            f"{what} contains a control character ({bad!r}): "
            f"{shown if len(shown) <= 80 else shown[:77] + '...'}",
            hint="remove newlines, carriage returns, NUL and other control characters",
        )
    return value
