"""`nexus task merge-driver` (hidden): the git merge driver for .nexus/tasks.jsonl."""

from __future__ import annotations

from pathlib import Path

import click

from nexus_cli.tasks.merge import merge_files


@click.command(name="merge-driver", hidden=True)
@click.argument("base", type=click.Path(dir_okay=False))
@click.argument("ours", type=click.Path(dir_okay=False))
@click.argument("theirs", type=click.Path(dir_okay=False))
def merge_driver(base: str, ours: str, theirs: str) -> None:
    """Git merge driver for .nexus/tasks.jsonl (installed by `nexus init`): %O %A %B."""
    merge_files(Path(base), Path(ours), Path(theirs))
