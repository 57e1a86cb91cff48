"""``nexus sync``: send your telemetry to your own collector (OTLP/HTTP or NDJSON)."""

from __future__ import annotations

import click

from nexus_cli.commands.options import FiniteRange, shown_default_option
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, json_option
from nexus_cli.plural import plural
from nexus_cli.telemetry import operations
from nexus_cli.telemetry.present.machine import sync_mark_json
from nexus_cli.telemetry.ship import sync as logic
from nexus_cli.terminal import escape


@click.group(cls=NexusGroup)
def sync() -> None:
    """Send telemetry to a collector you choose. Nothing leaves the machine otherwise."""


@sync.command()
@click.argument("url")
@shown_default_option(
    "--protocol",
    click.Choice(["otlp", "json"]),
    "otlp",
    "OTLP/HTTP log records (POST /v1/logs) or NDJSON batches.",
)
@shown_default_option(
    "--encoding",
    click.Choice(["auto", "protobuf", "json"]),
    "auto",
    "OTLP body: protobuf (needs nexus-cli[otlp]) or JSON; auto picks protobuf when installed.",
)
@click.option(
    "--header",
    "headers",
    multiple=True,
    metavar="NAME=VALUE",
    help="Send this header (e.g. an API key); stored with mode 0600, never printed.",
)
def setup(url: str, protocol: str, encoding: str, headers: tuple[str, ...]) -> None:
    """Choose where `sync now` sends events."""
    config = logic.setup(url, protocol, list(headers), encoding)
    wire = f" {config.wire_encoding}" if protocol == "otlp" else ""
    click.echo(
        f"sync destination: {escape(config.shown_endpoint)} ({protocol}{wire}, gzip"
        f"{', ' + plural(len(config.headers), 'header') if config.headers else ''})",
        err=True,
    )


@sync.command()
@shown_default_option("--batch-size", click.IntRange(1, 10000), 500, "Events per request.")
@shown_default_option(
    "--timeout",
    FiniteRange(0.1, 300),
    10.0,
    "Seconds each request may take in all (connect, send, the whole answer).",
)
@shown_default_option(
    "--deadline",
    FiniteRange(1, 86400),
    logic.DEADLINE_S,
    "Seconds the whole sync may take (every batch and retry); then it stops, keeping what "
    "was sent.",
)
@shown_default_option(
    "--retries", click.IntRange(0, 10), 3, "Retries per batch after a failure (with backoff)."
)
@click.option("--background", is_flag=True, hidden=True)
@json_option
def now(
    batch_size: int,
    timeout: float,
    deadline: float,
    retries: int,
    background: bool,
    as_json: bool,
) -> None:
    """Send every event not sent yet; a failed sync loses nothing and is resent next time."""
    result = operations.sync_now(
        batch_size=batch_size,
        timeout=timeout,
        retries=retries,
        wait_for_lock=not background,
        deadline=deadline,
    )
    if as_json:
        emit_json(result)
    elif "skipped" in result:
        click.echo(f"sync skipped: {result['skipped']}", err=True)
    else:
        click.echo(
            f"sent {plural(result['sent'], 'event')} to {escape(result['destination'])}", err=True
        )


@sync.command()
@click.argument("state", type=click.Choice(["on", "off"]))
@shown_default_option(
    "--interval",
    click.IntRange(0, 86400),
    60,
    "At most one background sync per this many seconds.",
)
def auto(state: str, interval: int) -> None:
    """Sync in a detached background process after commands (never delays them)."""
    logic.set_auto(state == "on", interval)
    click.echo(f"automatic sync is {state}", err=True)


@sync.command()
@json_option
def status(as_json: bool) -> None:
    """Show the destination (header values hidden), auto sync, and what is pending."""
    info = operations.sync_status()
    if as_json:
        emit_json(sync_mark_json(info))
        return

    click.echo(
        f"destination: {escape(str(info['url']))} "
        f"({escape(str(info['protocol']))}, {escape(str(info['encoding']))})"
    )
    if info["headers"]:
        click.echo("headers:     " + ", ".join(f"{escape(h)}=<hidden>" for h in info["headers"]))
    click.echo(f"auto sync:   {'on' if info['auto'] else 'off'}")
    click.echo(f"last sync:   {info['last_sync_at'] or 'never'} ({info['events_sent']} sent)")
    own = int(info["pending_sync_records"])
    note = f" (+{plural(own, 'record')} of sync itself, sent by the next sync)" if own else ""
    click.echo(f"pending:     {plural(info['pending'], 'event')}{note}")
