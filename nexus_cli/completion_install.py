"""Installing completion as a script file that each shell loads the first time ``nexus`` is completed.

As ``gh completion`` and most CLIs do, nothing runs when a shell starts:

=====  ============================================================================================
bash   ``${BASH_COMPLETION_USER_DIR:-${XDG_DATA_HOME:-~/.local/share}/bash-completion}/completions/nexus``,
       loaded by the bash-completion package on the first TAB after ``nexus``
zsh    ``~/.zfunc/_nexus`` (``$ZDOTDIR/.zfunc`` when set), autoloaded from ``fpath``; a managed block
       in ``.zshrc`` puts the folder on ``fpath`` and registers ``_nexus`` (running ``compinit`` only
       for a ``.zshrc`` that never does)
fish   ``${XDG_CONFIG_HOME:-~/.config}/fish/completions/nexus.fish``, autoloaded by fish
=====  ============================================================================================

Each script returns quietly when ``nexus`` is not on ``PATH``. Earlier versions put
``eval "$(_NEXUS_COMPLETE=<shell>_source nexus)"`` in the rc file, in the managed block
``completion`` (every new shell started nexus, ~70 ms, and printed ``nexus: command not found``
without the venv); installing takes that block out of bash's and fish's rc files and replaces it in
``.zshrc``. A script file that Nexus did not write is never overwritten or removed.
"""

from __future__ import annotations

import os
import shlex
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from nexus_cli import fs
from nexus_cli.completion import SCRIPT_MARKER, script
from nexus_cli.errors import ConflictError
from nexus_cli.managed_block import find_block, remove_block, upsert_block

if TYPE_CHECKING:
    import click

BLOCK = "completion"  # the managed block's name, in every rc file (the old eval line lived in it)

# Where bash-completion (which loads user completions lazily) is found on common systems.
BASH_COMPLETION = (
    "/usr/share/bash-completion/bash_completion",
    "/etc/bash_completion",
    "/usr/local/share/bash-completion/bash_completion",
    "/opt/homebrew/etc/profile.d/bash_completion.sh",
)


@dataclass
class Outcome:
    """What an install or uninstall did: ``changes`` are ``(verb, path)`` pairs, in order."""

    shell: str
    script: Path
    changes: list[tuple[str, Path]] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)


def script_path(shell: str, home: Path, env: Mapping[str, str] = os.environ) -> Path:
    """The file ``shell`` loads Nexus's completion from."""
    if shell == "bash":
        data = Path(env.get("XDG_DATA_HOME") or home / ".local" / "share")
        folder = Path(env.get("BASH_COMPLETION_USER_DIR") or data / "bash-completion")
        return folder / "completions" / "nexus"
    if shell == "zsh":
        return zdotdir(home, env) / ".zfunc" / "_nexus"
    config = Path(env.get("XDG_CONFIG_HOME") or home / ".config")
    return config / "fish" / "completions" / "nexus.fish"


def zdotdir(home: Path, env: Mapping[str, str] = os.environ) -> Path:
    return Path(env.get("ZDOTDIR") or home)


def rc_file(shell: str, home: Path, env: Mapping[str, str] = os.environ) -> Path:
    """The startup file an older Nexus put its ``eval`` line in (and zsh's fpath block goes)."""
    if shell == "bash":
        return home / ".bashrc"
    if shell == "zsh":
        return zdotdir(home, env) / ".zshrc"
    return Path(env.get("XDG_CONFIG_HOME") or home / ".config") / "fish" / "config.fish"


def zsh_block(folder: Path) -> str:
    """The ``.zshrc`` lines: the folder on fpath, ``_nexus`` registered; no process is started."""
    return (
        f"fpath=({shlex.quote(str(folder))} $fpath)  # Nexus completion: _nexus, loaded on first use\n"
        "autoload -Uz _nexus\n"
        "if (( $+functions[compdef] )); then compdef _nexus nexus\n"
        "else autoload -Uz compinit && compinit -u; fi  # this .zshrc never loads compinit\n"
    )


def install(shell: str, home: Path, root: click.Command) -> Outcome:
    """Write the script file (completing the commands under ``root``) and update the rc file;
    idempotent."""
    path = script_path(shell, home)
    outcome = Outcome(shell, path)
    text = script(shell, root)
    current = _read(path)
    if current is not None and not written_by_nexus(current):
        raise ConflictError(
            f"{path} exists and was not written by Nexus; it is left alone",
            hint=f"move it aside and run again, or load completion yourself: {load_now(shell, path)}",
        )
    if current != text:
        path.parent.mkdir(parents=True, exist_ok=True)
        fs.atomic_write(path, text)
        outcome.changes.append(("wrote", path))
    rc = rc_file(shell, home)
    if shell == "zsh":
        _edit_rc(rc, lambda t: upsert_block(t, BLOCK, zsh_block(path.parent)), outcome)
    else:
        _edit_rc(rc, lambda t: remove_block(t, BLOCK), outcome)
    if shell == "bash" and not any(os.path.exists(p) for p in BASH_COMPLETION):
        outcome.notes.append(
            "bash loads it through the bash-completion package, which was not found"
            f" (sudo apt install bash-completion); until then add `source {shlex.quote(str(path))}`"
            " to ~/.bashrc"
        )
    return outcome


def uninstall(shell: str, home: Path) -> Outcome:
    """Remove the script file (only if Nexus wrote it) and the managed block."""
    path = script_path(shell, home)
    outcome = Outcome(shell, path)
    current = _read(path)
    if current is not None:
        if written_by_nexus(current):
            path.unlink()
            outcome.changes.append(("removed", path))
        else:
            outcome.notes.append(f"{path} was not written by Nexus; it is left alone")
    _edit_rc(rc_file(shell, home), lambda t: remove_block(t, BLOCK), outcome)
    return outcome


def load_now(shell: str, path: Path) -> str:
    """The command that loads the completion into the running shell (bash, zsh and fish alike)."""
    return f"source {shlex.quote(str(path))}"


def has_eval_line(text: str) -> bool:
    """Whether ``text`` holds the ``eval`` completion block of an older Nexus."""
    block = find_block(text, BLOCK)
    return block is not None and "_NEXUS_COMPLETE=" in block


def written_by_nexus(text: str) -> bool:
    """Whether a script file is Nexus's: its marker in the first lines (zsh's come after #compdef)."""
    return any(line.startswith(SCRIPT_MARKER) for line in text.splitlines()[:3])


def _read(path: Path) -> str | None:
    try:
        return path.read_text(encoding="utf-8", errors="replace")
    except FileNotFoundError:
        return None


def _edit_rc(rc: Path, edit: Callable[[str], str], outcome: Outcome) -> None:
    """Apply ``edit`` to the rc file's text; a symlinked rc file is edited at its target."""
    before = _read(rc) or ""
    after = edit(before)
    if after == before:
        return
    target = rc.resolve()
    target.parent.mkdir(parents=True, exist_ok=True)
    fs.atomic_write(target, after)
    verb = "removed the old eval line from" if has_eval_line(before) else "updated"
    outcome.changes.append((verb, rc))
