"""One managed crontab entry that writes the insights report on a schedule.

The entry is the line ending in :data:`MARKER`; installing replaces it, removing deletes it, and
every other line of the user's crontab is kept as it was. ``NEXUS_CRONTAB`` names another
``crontab`` executable (tests and unusual systems); by default ``crontab`` on PATH is used.
"""

from __future__ import annotations

import os
import re
import shlex
import shutil
import sys

from nexus_cli import paths, proc
from nexus_cli.errors import NexusError, UsageError
from nexus_cli.validate import plain_text

MARKER = "# nexus-insights-report (managed by nexus)"
TIMEOUT_S = 10.0


def crontab_command() -> str | None:
    return shutil.which(os.environ.get("NEXUS_CRONTAB", "crontab"))


def nexus_executable() -> str:
    candidate = os.path.join(os.path.dirname(sys.executable), "nexus")
    return candidate if os.path.exists(candidate) else shutil.which("nexus") or "nexus"


# cron(5): each field's range, and the names month and weekday take
FIELDS = (("minute", 0, 59), ("hour", 0, 23), ("day", 1, 31), ("month", 1, 12), ("weekday", 0, 7))
NAMES = {
    "month": ["jan", "feb", "mar", "apr", "may", "jun", "jul", "aug", "sep", "oct", "nov", "dec"],
    "weekday": ["sun", "mon", "tue", "wed", "thu", "fri", "sat"],
}
NICKNAMES = (
    "@reboot",
    "@yearly",
    "@annually",
    "@monthly",
    "@weekly",
    "@daily",
    "@midnight",
    "@hourly",
)
_ITEM = re.compile(r"^(\*|([0-9a-z]+)(?:-([0-9a-z]+))?)(?:/([0-9]+))?$")


def validate(expression: str) -> str:
    plain_text(expression, what="--cron")
    if any(ch in expression for ch in "\n%#"):
        raise UsageError(f"--cron {expression!r}: must not contain %, # or newlines")
    fields = expression.split()
    if len(fields) == 1 and fields[0].lower() in NICKNAMES:
        return fields[0].lower()
    if len(fields) != 5:
        raise UsageError(
            f"--cron {expression!r}: expected 5 fields (minute hour day month weekday)"
        )
    for text, (name, low, high) in zip(fields, FIELDS, strict=True):
        for item in text.lower().split(","):
            if not _cron_item(item, name, low, high):
                raise UsageError(
                    f"--cron {expression!r}: {text!r} is not {'an' if name == 'hour' else 'a'} "
                    f"{name} ({low}-{high}, *, "
                    "a range A-B, a list A,B or a step */N)"
                )
    return " ".join(fields)


def _cron_item(item: str, name: str, low: int, high: int) -> bool:
    match = _ITEM.match(item)
    if match is None or match.group(4) == "0":
        return False
    names = NAMES.get(name, [])

    def number(text: str | None) -> int | None:
        if text is None:
            return None
        if text in names:
            return names.index(text) + (1 if name == "month" else 0)
        return int(text) if text.isdigit() and low <= int(text) <= high else -1

    start, end = number(match.group(2)), number(match.group(3))
    return -1 not in (start, end) and (start is None or end is None or start <= end)


def entry(expression: str, output: str) -> str:
    """The crontab line (also printed for people who add it by hand).

    Every value in it is refused if it holds a control character: shell quoting does not stop a
    newline from starting a second crontab line.
    """
    expression = validate(expression)
    # cron runs the line in the home folder: a relative NEXUS_HOME would name another store
    home = plain_text(os.path.abspath(paths.nexus_home_str()), what="NEXUS_HOME")
    exe = plain_text(nexus_executable(), what="the nexus executable's path")
    target = plain_text(os.path.abspath(os.path.expanduser(output)), what="--output")
    command = (
        f"NEXUS_HOME={shlex.quote(home)} {shlex.quote(exe)} "
        f"--no-telemetry insights --report --format {'json' if target.endswith('.json') else 'md'} "
        f"--since 7d --force --quiet --output {shlex.quote(target)}"
    )
    line = f"{expression} {command.replace('%', chr(92) + '%')} {MARKER}"
    return plain_text(line, what="the crontab line")


def default_output() -> str:
    return os.path.join(paths.nexus_home_str(), "reports", "insights-{date}.md")


def _crontab(crontab: str, *args: str, input: str | None = None) -> proc.Completed:
    result = proc.run([crontab, *args], input=input, timeout=TIMEOUT_S)
    if result.timed_out:
        raise NexusError(f"crontab {' '.join(args)} did not finish within {TIMEOUT_S:g}s")
    return result


def _read(crontab: str) -> list[str]:
    result = _crontab(crontab, "-l")
    if result.returncode != 0:  # "no crontab for user" is the usual reason
        return []
    return result.stdout.splitlines()


def _write(crontab: str, lines: list[str]) -> None:
    if not any(line.strip() for line in lines):
        # Nothing of the user's is left: remove the table, so "no crontab" is restored as it was.
        _crontab(crontab, "-r")
        return
    result = _crontab(crontab, "-", input="".join(line + "\n" for line in lines))
    if result.returncode != 0:
        raise NexusError(f"crontab refused the new table: {result.stderr.strip()}")


def install(expression: str, output: str) -> str:
    line = entry(expression, output)
    crontab = crontab_command()
    if crontab is None:
        raise NexusError(
            "the `crontab` command is not installed (Debian: apt install cron)",
            hint=f"add this line with your scheduler by hand: {line}",
        )
    if "{date}" in output:
        os.makedirs(os.path.dirname(os.path.abspath(os.path.expanduser(output))), exist_ok=True)
    kept = [existing for existing in _read(crontab) if not existing.endswith(MARKER)]
    _write(crontab, [*kept, line])
    return line


def remove() -> bool:
    crontab = crontab_command()
    if crontab is None:
        raise NexusError(
            "the `crontab` command is not installed",
            hint=f"delete the line ending in '{MARKER}' from your scheduler by hand",
        )
    lines = _read(crontab)
    kept = [existing for existing in lines if not existing.endswith(MARKER)]
    if len(kept) == len(lines):
        return False
    _write(crontab, kept)
    return True


def installed() -> str | None:
    crontab = crontab_command()
    if crontab is None:
        return None
    return next((line for line in _read(crontab) if line.endswith(MARKER)), None)
