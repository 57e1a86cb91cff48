"""Shell completion: the scripts for bash, zsh and fish, and dynamic completers.

Groups complete workspace names, task IDs, templates and personas through :func:`completer`,
which looks up a ``"module:function"`` in :data:`SOURCES` only when the shell asks, so
completion costs nothing at start-up. A source function takes the text typed so far and
returns candidates: strings, or ``(value, description)`` pairs (task IDs come with their titles);
any error yields no candidates. Descriptions are repository data (titles from ``tasks.jsonl``), so
they are escaped and kept on one line before a shell sees them.

The scripts are Nexus's own (Click's protocol, Click's bash script plus a guard): each returns
quietly when ``nexus`` is not on ``PATH`` (no ``command not found`` at a TAB in a shell without the
venv). The zsh one works autoloaded from ``fpath`` (as ``_nexus``), sourced or eval'd, and loads
``compinit`` itself when ``compdef`` is missing; the fish one splits each line only at its first
comma, so descriptions with commas stay whole (Click's splits at every comma).
:mod:`nexus_cli.completion_install` writes them where each shell loads them on first use.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable
from typing import Any

import click
from click.shell_completion import (
    BashComplete,
    CompletionItem,
    FishComplete,
    ZshComplete,
    add_completion_class,
    get_completion_class,
)

from nexus_cli.errors import UsageError
from nexus_cli.terminal import escape

SHELLS = ("bash", "zsh", "fish")
ENV_VAR = "_NEXUS_COMPLETE"

# kind -> "module:function(incomplete: str) -> list[str]". Capabilities add their entry.
SOURCES: dict[str, str] = {
    "template": "nexus_cli.workspaces.templates:complete_templates",
    "workspace": "nexus_cli.workspaces.records:complete_names",
    "task": "nexus_cli.tasks.database:complete_ids",
    "persona": "nexus_cli.personas.catalog:complete_names",
}


# The first line of every script: `completion --uninstall` removes only files that start with it.
SCRIPT_MARKER = "# Nexus completion for"

BASH_SCRIPT = r"""# Nexus completion for bash (nexus completion bash). bash-completion loads it on first use.
%(complete_func)s() {
    local IFS=$'\n'
    local response
    command -v -- "$1" >/dev/null 2>&1 || return 0

    response=$(env COMP_WORDS="${COMP_WORDS[*]}" COMP_CWORD=$COMP_CWORD %(complete_var)s=bash_complete "$1")

    for completion in $response; do
        IFS=',' read type value <<< "$completion"

        if [[ $type == 'dir' ]]; then
            COMPREPLY=()
            compopt -o dirnames
        elif [[ $type == 'file' ]]; then
            COMPREPLY=()
            compopt -o default
        elif [[ $type == 'plain' ]]; then
            COMPREPLY+=($value)
        fi
    done

    return 0
}

complete -o nosort -F %(complete_func)s %(prog_name)s
"""

ZSH_SCRIPT = r"""#compdef nexus
# Nexus completion for zsh (nexus completion zsh). Autoloaded from fpath as _nexus, sourced or
# eval'd; works with or without compinit in .zshrc.

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

if [[ $zsh_eval_context[-1] == loadautofunc || ${funcstack[1]} == _nexus ]]; then
    _nexus_completion "$@"
else
    if ! (( $+functions[compdef] )); then
        autoload -Uz compinit && compinit -u
    fi
    compdef _nexus_completion nexus
fi
"""

FISH_SCRIPT = r"""# Nexus completion for fish (nexus completion fish | source). fish loads it on first use.
function _nexus_completion
    type -q %(prog_name)s; or return
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


class NexusBashComplete(BashComplete):
    source_template = BASH_SCRIPT


class NexusZshComplete(ZshComplete):
    source_template = ZSH_SCRIPT


class NexusFishComplete(FishComplete):
    source_template = FISH_SCRIPT


def register_shells() -> None:
    """Make Click use Nexus's scripts (for ``*_source``) instead of its own."""
    add_completion_class(NexusBashComplete, "bash")
    add_completion_class(NexusZshComplete, "zsh")
    add_completion_class(NexusFishComplete, "fish")


def script(shell: str, root: click.Command) -> str:
    """The completion script for ``shell``, completing the command tree under ``root``."""
    register_shells()
    cls = get_completion_class(shell)
    if cls is None:
        raise UsageError(f"unsupported shell {shell!r}; choose one of {', '.join(SHELLS)}")
    return cls(root, {}, "nexus", ENV_VAR).source()


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
        return [CompletionItem(v, help=d) for v, d in described_candidates(kind, incomplete)]

    return complete
