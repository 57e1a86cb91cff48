from __future__ import annotations

from pathlib import Path

import click

from nexus_cli.completion import SHELLS


@click.command()
@click.argument("shell", type=click.Choice(SHELLS))
@click.option("--install", is_flag=True, help="Add a managed block to the shell's rc file.")
@click.option("--uninstall", is_flag=True, help="Remove the managed block again.")
def completion(shell: str, install: bool, uninstall: bool) -> None:
    """Print the completion script for SHELL, or install it into your rc file.

    \b
    bash:  eval "$(nexus completion bash)"   (or: nexus completion bash --install)
    zsh:   eval "$(nexus completion zsh)"
    fish:  nexus completion fish | source
    """
    from nexus_cli import completion as comp

    if install and uninstall:
        raise click.UsageError("--install and --uninstall exclude each other")
    if install or uninstall:
        action = comp.install if install else comp.uninstall
        path, changed = action(shell, Path.home())
        verb = "installed in" if install else "removed from"
        state = "" if changed else " (nothing to change)"
        click.echo(f"completion {verb} {path}{state}", err=True)
        return
    click.echo(comp.script(shell))
