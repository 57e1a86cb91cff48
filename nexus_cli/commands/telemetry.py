from __future__ import annotations

import ipaddress
from typing import Any

import click

from nexus_cli.commands.options import confirm, yes_option
from nexus_cli.errors import StateError
from nexus_cli.lazy import NexusGroup
from nexus_cli.output import emit_json, json_option
from nexus_cli.plural import plural
from nexus_cli.tasks import agent_ingest, metrics_server, otlp_receiver
from nexus_cli.telemetry import operations
from nexus_cli.telemetry.journal import invocation, settings
from nexus_cli.telemetry.journal.settings import SOURCES
from nexus_cli.telemetry.present.machine import status_json
from nexus_cli.telemetry.query.status import read_status
from nexus_cli.terminal import escape


@click.group(cls=NexusGroup)
def telemetry() -> None:
    """See and control what Nexus records about its own use (locally, in $NEXUS_HOME)."""


@telemetry.command()
@json_option
def status(as_json: bool) -> None:
    """Show whether recording is on, which setting decided, and what is stored."""
    info = read_status()
    if as_json:
        emit_json(status_json(info))
        _fail_if_unreadable(info)
        return

    why = SOURCES.get(info["source"], info["source"])
    click.echo(f"recording: {'on' if info['enabled'] else 'off'} ({why})")
    click.echo(f"database:  {info['database']} ({info['size_bytes']} bytes)")
    click.echo(
        f"events:    {info['events']} (sessions {info['sessions']}, patterns {info['patterns']})"
    )
    quarantined = info["quarantined"]
    if quarantined["total"]:
        click.echo(
            f"skipped:   {plural(quarantined['total'], 'record')} the fold could not take, kept "
            f"aside in the quarantine table ({quarantined['kept']} whole): "
            + "; ".join(
                f"{escape(r['reason'])} ({r['source']}) {r['count']}"
                for r in quarantined["reasons"]
            )
        )
    days = info["retention_days"]
    click.echo(
        f"retention: {days} days (0 = keep everything; "
        "telemetry.retention_days in $NEXUS_HOME/config.json)"
        if isinstance(days, int)
        else f"retention: {escape(str(days))}"
    )
    sync = info["sync"]
    click.echo(
        "sync:      "
        + (
            f"{sync['url']} ({sync['protocol']}, auto {'on' if sync['auto'] else 'off'})"
            if sync
            else "not set up (nothing leaves this machine)"
        )
    )
    regenerated = info["salt_regenerated"]
    if regenerated:
        when = regenerated["regenerated_at"]
        click.echo(
            "salt:      regenerated"
            + (f" {escape(str(when))} UTC" if when else "")
            + f" ({escape(regenerated['reason'])}): names hashed before then no longer match"
        )
    if info["oldest"]:
        click.echo(f"oldest:    {info['oldest']} UTC")
        click.echo(f"newest:    {info['newest']} UTC")
    click.echo("collected: " + ", ".join(info["fields_collected"]))
    click.echo("never collected: " + ", ".join(info["never_collected"]))
    _fail_if_unreadable(info)


def _fail_if_unreadable(info: dict[str, Any]) -> None:
    """After what could be shown: a database or journal that cannot be read is the command's
    failure (its counts above are not the store's), not a status of 0 events."""
    if info.get("error"):
        raise StateError(info["error"], hint="run `nexus doctor`; it says what is damaged")


@telemetry.command()
def on() -> None:
    """Turn recording on."""
    settings.set_enabled(True)
    enabled, source = settings.decide()
    message = "telemetry recording is on"
    if not enabled:
        message += f", but it stays off: {settings.SOURCES[source]}"
    click.echo(message, err=True)


@telemetry.command()
def off() -> None:
    """Turn recording off (nothing is recorded until `nexus telemetry on`)."""
    settings.set_enabled(False)
    click.echo("telemetry recording is off", err=True)


@telemetry.command()
@yes_option
@click.option(
    "--older-than",
    "older_than",
    type=click.IntRange(1),
    metavar="DAYS",
    help="Delete only rows older than DAYS instead of everything.",
)
def purge(yes: bool, older_than: int | None) -> None:
    """Delete every telemetry row (events, sessions, patterns, sync marks) and VACUUM."""
    inv = invocation.current()
    if inv is not None and not older_than:
        inv.no_telemetry = True  # an emptied database stays empty: the purge is not recorded
    what = f"telemetry older than {older_than} days" if older_than else "ALL recorded telemetry"
    confirm(f"Delete {what} in {operations.database_path()}?", yes=yes)
    deleted = operations.purge(older_than)
    total = sum(deleted.values())
    click.echo(
        f"deleted {plural(total, 'row')}: " + ", ".join(f"{t} {n}" for t, n in deleted.items()),
        err=True,
    )


@telemetry.command()
@json_option
def rebuild(as_json: bool) -> None:
    """Rebuild the roll-ups (per-day aggregates) that stats, insights and dashboard read."""
    result = operations.rebuild(show_progress=not as_json)
    if as_json:
        emit_json(result)
        return
    click.echo(
        f"rebuilt the roll-ups from {plural(result['events'], 'event')} "
        f"in {result['seconds']:.1f} s",
        err=True,
    )


@telemetry.command()
@click.option(
    "--metrics",
    "address",
    metavar="HOST:PORT",
    required=True,
    help="Serve OpenMetrics at http://HOST:PORT/metrics (a loopback address, e.g. 127.0.0.1:9464).",
)
@click.option(
    "--allow-remote",
    is_flag=True,
    help="Allow a non-loopback HOST (unsafe: other machines can read command and gate names).",
)
def serve(address: str, allow_remote: bool) -> None:
    """Serve the metrics of `export --format openmetrics` over HTTP until Ctrl-C."""
    host, port = metrics_server.parse_address(address, allow_remote=allow_remote)
    if allow_remote and not ipaddress.ip_address(host).is_loopback:
        click.echo(f"notice: serving metrics on {host}, reachable from other machines", err=True)
    metrics_server.serve(
        host,
        port,
        ready=lambda url: click.echo(f"serving metrics at {url} (Ctrl-C stops)", err=True),
    )


@telemetry.command()
@click.argument("agent", type=click.Choice(agent_ingest.AGENTS))
@click.option(
    "--path",
    metavar="DIR",
    help="The agent's log folder (default: ~/.claude/projects, or $CODEX_HOME/sessions).",
)
@json_option
def ingest(agent: str, path: str | None, as_json: bool) -> None:
    """Read token usage from an agent's session logs (only what is new since the last run).

    Each usage record is attributed to the task claimed in the workspace worktree the session
    ran in; counts, model names, hashed session ids and times are stored, never prompt text or
    paths (docs/telemetry.md). See it with `nexus stats --cost`.
    """
    result = agent_ingest.ingest(agent, path)
    if as_json:
        emit_json(result.to_json())
        return
    data = result.to_json()
    if not data["files"] and not data["files_skipped"]:
        click.echo(f"no {agent} logs in {escape(data['folder'])}", err=True)
        return
    click.echo(
        f"read {plural(data['files'], 'file')}: {plural(data['new_records'], 'new usage record')}"
        f" ({data['attributed']} attributed to {plural(len(data['tasks']), 'task')},"
        f" {data['unattributed']} unattributed)",
        err=True,
    )
    skipped = [
        (data["bad_lines"], "line", "not valid JSON or usage"),
        (data["oversized_lines"], "line", "too long"),
        (data["files_skipped"], "file", "not a regular file"),
    ]
    for n, what, why in skipped:
        if n:
            click.echo(f"skipped {plural(n, what)}: {why}", err=True)


@telemetry.command()
@click.option(
    "--listen",
    "address",
    metavar="HOST:PORT",
    required=True,
    help="Receive OTLP/HTTP at http://HOST:PORT (a loopback address, e.g. 127.0.0.1:4318).",
)
def receive(address: str) -> None:
    """Receive Claude Code's OpenTelemetry metrics and events (OTLP/HTTP) until Ctrl-C.

    Set OTEL_EXPORTER_OTLP_ENDPOINT=http://HOST:PORT and OTEL_EXPORTER_OTLP_PROTOCOL=http/json
    for Claude Code; only token and cost figures are kept (docs/telemetry.md).
    """
    host, port = otlp_receiver.parse_address(address)
    counts = otlp_receiver.receive(
        host,
        port,
        ready=lambda url: click.echo(f"receiving OTLP at {url} (Ctrl-C stops)", err=True),
    )
    click.echo(
        f"received {plural(counts.exports, 'export')} ({plural(counts.records, 'usage record')},"
        f" {counts.rejected} left out for a bad value), refused {counts.refused}",
        err=True,
    )
