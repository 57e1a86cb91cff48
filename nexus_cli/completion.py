"""Shell completion: Click's scripts, an idempotent rc-file install, and dynamic completers.

Groups complete workspace names, task IDs, templates and personas through :func:`completer`,
which looks up a ``"module:function"`` in :data:`SOURCES` only when the shell asks, so
completion costs nothing at start-up. A source function takes the text typed so far and
returns candidates: strings, or ``(value, description)`` pairs (task IDs come with their titles);
any error yields no candidates. Descriptions are repository data (titles from ``tasks.jsonl``), so
they are escaped and kept on one line before a shell sees them.

bash uses Click's script. zsh and fish use Nexus's own: the zsh one loads ``compinit`` itself when
``compdef`` is missing (a ``.zshrc`` without ``compinit``, or ``zsh -f``), and the fish one splits
each line only at its first comma, so descriptions with commas stay whole (Click's splits at every
comma).
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from nexus_cli.errors import UsageError

if TYPE_CHECKING:  # pathlib (~4 ms with urllib.parse) is not needed to complete a subcommand
    from pathlib import Path

SHELLS = ("bash", "zsh", "fish")
ENV_VAR = "_NEXUS_COMPLETE"

# kind -> "module:function(incomplete: str) -> list[str]". Capabilities add their entry.
SOURCES: dict[str, str] = {
    "template": "nexus_cli.workspaces.records:complete_templates",
    "workspace": "nexus_cli.workspaces.records:complete_names",
    "task": "nexus_cli.tasks.store:complete_ids",
    "persona": "nexus_cli.personas.catalog:complete_names",
}


ZSH_SCRIPT = r"""#compdef nexus
# Nexus completion for zsh (nexus completion zsh). Works with or without compinit in .zshrc.

_nexus_completion() {
    local -a completions
    local -a completions_with_descriptions
    local -a response
    (( ! $+commands[nexus] )) && return 1

    response=("${(@f)$(env COMP_WORDS="${words[*]}" COMP_CWORD=$((CURRENT-1)) %(complete_var)s=zsh_complete %(prog_name)s)}")

    for type key descr in ${response}; do
        if [[ "$type" == "plain" ]]; then
            if [[ "$descr" == "_" ]]; then
                completions+=("$key")
            else
                completions_with_descriptions+=("${key//:/\:}":"$descr")
            fi
        elif [[ "$type" == "dir" ]]; then
            _path_files -/
        elif [[ "$type" == "file" ]]; then
            _path_files -f
        fi
    done

    if [ -n "$completions_with_descriptions" ]; then
        _describe -V unsorted completions_with_descriptions -U
    fi

    if [ -n "$completions" ]; then
        compadd -U -V unsorted -a completions
    fi
}

if [[ $zsh_eval_context[-1] == loadautofunc ]]; then
    _nexus_completion "$@"
else
    if ! (( $+functions[compdef] )); then
        autoload -Uz compinit && compinit -u
    fi
    compdef _nexus_completion nexus
fi
"""

FISH_SCRIPT = r"""# Nexus completion for fish (nexus completion fish | source).
function _nexus_completion
    set -l response (env %(complete_var)s=fish_complete COMP_WORDS=(commandline -cp) COMP_CWORD=(commandline -t) %(prog_name)s)

    for completion in $response
        set -l metadata (string split -m 1 "," -- $completion)

        if test "$metadata[1]" = "dir"
            __fish_complete_directories $metadata[2]
        else if test "$metadata[1]" = "file"
            __fish_complete_path $metadata[2]
        else if test "$metadata[1]" = "plain"
            echo $metadata[2]
        end
    end
end

complete --no-files --command nexus --arguments "(_nexus_completion)"
"""


def register_shells() -> None:
    """Make Click use Nexus's zsh and fish scripts (for ``*_source``) instead of its own."""
    from click.shell_completion import FishComplete, ZshComplete, add_completion_class

    class NexusZshComplete(ZshComplete):
        source_template = ZSH_SCRIPT

    class NexusFishComplete(FishComplete):
        source_template = FISH_SCRIPT

    add_completion_class(NexusZshComplete, "zsh")
    add_completion_class(NexusFishComplete, "fish")


def script(shell: str) -> str:
    """The completion script for ``shell`` (Nexus's own for zsh and fish, Click's for bash)."""
    from click.shell_completion import get_completion_class

    from nexus_cli.cli import cli

    register_shells()
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
    from nexus_cli.managed_block import upsert_block

    path = rc_file(shell, home)
    before = path.read_text() if path.exists() else ""
    after = upsert_block(before, "completion", rc_snippet(shell))
    if after == before:
        return path, False
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(after)
    return path, True


def uninstall(shell: str, home: Path) -> tuple[Path, bool]:
    from nexus_cli.managed_block import remove_block

    path = rc_file(shell, home)
    if not path.exists():
        return path, False
    before = path.read_text()
    after = remove_block(before, "completion")
    if after != before:
        path.write_text(after)
    return path, after != before


Candidate = tuple[str, str | None]


def candidates(kind: str, incomplete: str) -> list[str]:
    """The values from the source for ``kind`` that start with ``incomplete``."""
    return [value for value, _ in described_candidates(kind, incomplete)]


def described_candidates(kind: str, incomplete: str) -> list[Candidate]:
    """``(value, description)`` pairs from the source for ``kind`` that start with ``incomplete``."""
    spec = SOURCES.get(kind)
    if spec is None:
        return []
    module_name, _, func_name = spec.partition(":")
    try:
        func: Callable[[str], list[str | tuple[str, str]]] = getattr(
            importlib.import_module(module_name), func_name
        )
        found = func(incomplete)
    except Exception:
        return []
    from nexus_cli.terminal import escape

    result: list[Candidate] = []
    for item in found:
        value, description = (item, None) if isinstance(item, str) else item
        if not value.startswith(incomplete) or not value.isprintable():
            continue
        if description is not None:
            description = " ".join(escape(description, newlines=False).split())[:120] or None
        result.append((value, description))
    return result


def completer(kind: str) -> Callable[[Any, Any, str], list[Any]]:
    """A Click ``shell_complete`` callback for ``kind`` (``workspace``, ``task``...)."""

    def complete(ctx: Any, param: Any, incomplete: str) -> list[Any]:
        from click.shell_completion import CompletionItem

        return [CompletionItem(v, help=d) for v, d in described_candidates(kind, incomplete)]

    return complete
