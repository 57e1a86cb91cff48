"""`nexus init` hook: register the tasks.jsonl merge driver with git.

Writes ``.gitattributes`` (``.nexus/tasks.jsonl merge=nexus-tasks`` and
``.nexus/memory.jsonl merge=union``, appended, user lines kept)
and the clone-local git config ``merge.nexus-tasks.driver``. The driver prefers the Python that
ran ``nexus init`` (works where ``nexus`` is not on PATH, e.g. git GUIs) and falls back to
``nexus`` on PATH when that interpreter is gone (the virtualenv was moved or deleted). Git
config is not cloned: every clone runs ``nexus init`` once (it is idempotent).
"""

from __future__ import annotations

import shlex
import sys
from typing import TYPE_CHECKING

from nexus_cli import fs, git, safe_path
from nexus_cli.errors import StateError
from nexus_cli.project import Project
from nexus_cli.validate import plain_text

if TYPE_CHECKING:
    from nexus_cli import proc

ATTRIBUTE_LINE = ".nexus/tasks.jsonl merge=nexus-tasks"
# The memory log is append-only JSONL: git's own union driver keeps both sides' new lines.
MEMORY_ATTRIBUTE_LINE = ".nexus/memory.jsonl merge=union"
DRIVER_NAME = "nexus-tasks"


def driver_command(python: str | None = None) -> str:
    # The command goes into .git/config and runs through a shell: no control characters in it.
    exe = shlex.quote(plain_text(python or sys.executable, what="the Python executable's path"))
    args = "task merge-driver %O %A %B"
    return f"if [ -x {exe} ]; then {exe} -m nexus_cli {args}; else nexus {args}; fi"


def _git(project: Project, *args: str) -> proc.Completed:
    try:
        return git.run(project.root, *args, check=False)
    except git.GitError as exc:
        raise StateError(
            f"cannot run git to install the task merge driver: {exc.message}"
        ) from None


def _git_config(project: Project, key: str, value: str) -> bool:
    current = _git(project, "config", "--local", "--get", key)
    if current.returncode == 0 and current.stdout.rstrip("\n") == value:
        return False
    done = _git(project, "config", "--local", key, value)
    if done.returncode != 0:
        raise StateError(f"cannot set git config {key}: {done.stderr.strip()}")
    return True


def _merge_gitattributes(project: Project) -> bool:
    name = ".gitattributes"  # a committed link here is refused, never written through
    try:
        existing = safe_path.read_bytes(project.root, name).decode("utf-8", "surrogateescape")
    except FileNotFoundError:
        existing = ""
    missing = [
        line
        for line in (ATTRIBUTE_LINE, MEMORY_ATTRIBUTE_LINE)
        if line not in existing.splitlines()
    ]
    if not missing:
        return False
    prefix = existing if not existing or existing.endswith("\n") else existing + "\n"
    text = prefix + "".join(line + "\n" for line in missing)
    fs.atomic_write(name, text.encode("utf-8", "surrogateescape"), root=project.root)
    return True


def install_merge_driver(project: Project) -> list[str]:
    """Idempotent: returns the paths/config keys it changed."""
    changed: list[str] = []
    if _merge_gitattributes(project):
        changed.append(".gitattributes")
    key = f"merge.{DRIVER_NAME}"
    if _git_config(project, f"{key}.name", "nexus task field-by-field merge"):
        changed.append(f"git config {key}.name")
    if _git_config(project, f"{key}.driver", driver_command()):
        changed.append(f"git config {key}.driver")
    return changed
