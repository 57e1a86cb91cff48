"""Shell completion: Click's scripts, an idempotent rc-file install, and dynamic completers.

Groups complete workspace names, task IDs, templates and personas through :func:`completer`,
which looks up a ``"module:function"`` in :data:`SOURCES` only when the shell asks, so
completion costs nothing at start-up. A source function takes the text typed so far and
returns candidate strings; any error yields no candidates.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from pathlib import Path
from typing import Any

from nexus_cli.errors import UsageError
from nexus_cli.managed_block import remove_block, upsert_block

SHELLS = ("bash", "zsh", "fish")
ENV_VAR = "_NEXUS_COMPLETE"

# kind -> "module:function(incomplete: str) -> list[str]". Capabilities add their entry.
SOURCES: dict[str, str] = {
    "template": "nexus_cli.workspaces.records:complete_templates",
    "workspace": "nexus_cli.workspaces.records:complete_names",
    "task": "nexus_cli.tasks.store:complete_ids",
    "persona": "nexus_cli.personas.catalog:complete_names",
}


def script(shell: str) -> str:
    """Click's completion script for ``shell``."""
    from click.shell_completion import get_completion_class

    from nexus_cli.cli import cli

    cls = get_completion_class(shell)
    if cls is None:
        raise UsageError(f"unsupported shell {shell!r}; choose one of {', '.join(SHELLS)}")
    return cls(cli, {}, "nexus", ENV_VAR).source()


def rc_file(shell: str, home: Path) -> Path:
    if shell == "bash":
        return home / ".bashrc"
    if shell == "zsh":
        return home / ".zshrc"
    return home / ".config" / "fish" / "config.fish"


def rc_snippet(shell: str) -> str:
    if shell == "fish":
        return f"{ENV_VAR}=fish_source nexus | source"
    return f'eval "$({ENV_VAR}={shell}_source nexus)"'


def install(shell: str, home: Path) -> tuple[Path, bool]:
    """Write (or refresh) the managed completion block in the shell's rc file.

    Returns the file and whether it changed.
    """
    path = rc_file(shell, home)
    before = path.read_text() if path.exists() else ""
    after = upsert_block(before, "completion", rc_snippet(shell))
    if after == before:
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(after)
    return path, True


def uninstall(shell: str, home: Path) -> tuple[Path, bool]:
    path = rc_file(shell, home)
    if not path.exists():
        return path, False
    before = path.read_text()
    after = remove_block(before, "completion")
    if after != before:
        path.write_text(after)
    return path, after != before


def candidates(kind: str, incomplete: str) -> list[str]:
    spec = SOURCES.get(kind)
    if spec is None:
        return []
    module_name, _, func_name = spec.partition(":")
    try:
        func: Callable[[str], list[str]] = getattr(importlib.import_module(module_name), func_name)
        return [c for c in func(incomplete) if c.startswith(incomplete)]
    except Exception:
        return []


def completer(kind: str) -> Callable[[Any, Any, str], list[Any]]:
    """A Click ``shell_complete`` callback for ``kind`` (``workspace``, ``task``...)."""

    def complete(ctx: Any, param: Any, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(c) for c in candidates(kind, incomplete)]

    return complete
