from __future__ import annotations

import click

from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, json_option


@click.group(cls=NexusGroup)
def telemetry() -> None:
    """See and control what Nexus records about its own use (locally, in $NEXUS_HOME)."""


@telemetry.command()
@json_option
def status(as_json: bool) -> None:
    """Show whether recording is on, which setting decided, and what is stored."""
    from nexus_cli.telemetry.status import read_status

    info = read_status()
    if as_json:
        emit_json(info)
        return
    click.echo(f"recording: {'on' if info['enabled'] else 'off'} (decided by {info['source']})")
    click.echo(f"database:  {info['database']} ({info['size_bytes']} bytes)")
    click.echo(f"events:    {info['events']}")
    if info["oldest"]:
        click.echo(f"oldest:    {info['oldest']} UTC")
        click.echo(f"newest:    {info['newest']} UTC")
    click.echo("collected: " + ", ".join(info["fields_collected"]))
    click.echo("never collected: " + ", ".join(info["never_collected"]))


@telemetry.command()
def on() -> None:
    """Turn recording on."""
    from nexus_cli.telemetry import settings

    settings.set_enabled(True)
    enabled, source = settings.decide()
    message = "telemetry recording is on"
    if not enabled:
        message += f", but {source} still turns it off"
    click.echo(message, err=True)


@telemetry.command()
def off() -> None:
    """Turn recording off (nothing is recorded until `nexus telemetry on`)."""
    from nexus_cli.telemetry import settings

    settings.set_enabled(False)
    click.echo("telemetry recording is off", err=True)
