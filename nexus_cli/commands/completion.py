from __future__ import annotations

from pathlib import Path

import click

from nexus_cli import completion as comp
from nexus_cli import completion_install as logic
from nexus_cli.output import info


@click.command()
@click.argument("shell", type=click.Choice(comp.SHELLS))
@click.option(
    "--install",
    is_flag=True,
    help="Write the script where SHELL loads it on first use (nothing runs at shell start).",
)
@click.option("--uninstall", is_flag=True, help="Remove what --install wrote.")
def completion(shell: str, install: bool, uninstall: bool) -> None:
    """Print the completion script for SHELL, or install it as a file SHELL loads by itself.

    \b
    nexus completion bash --install   ~/.local/share/bash-completion/completions/nexus
    nexus completion zsh --install    ~/.zfunc/_nexus (+ an fpath block in ~/.zshrc)
    nexus completion fish --install   ~/.config/fish/completions/nexus.fish
    eval "$(nexus completion bash)"   this shell only (zsh alike; fish: ... | source)
    """
    if install and uninstall:
        raise click.UsageError("--install and --uninstall exclude each other")
    root = click.get_current_context().find_root().command
    if not (install or uninstall):
        click.echo(comp.script(shell, root))
        return
    if install:
        outcome = logic.install(shell, Path.home(), root)
    else:
        outcome = logic.uninstall(shell, Path.home())
    for verb, path in outcome.changes:
        info(f"{verb} {path}")
    if not outcome.changes:
        info("nothing to change")
    for note in outcome.notes:
        info(f"note: {note}")
    if install:
        info(
            f"new {shell} shells load it on first use; in this one: "
            f"{logic.load_now(shell, outcome.script)}"
        )
