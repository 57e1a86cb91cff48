"""`nexus task receipt|check-receipts`: the proof that passing gates left, shown and re-checked."""

from __future__ import annotations

from typing import Any

import click

from nexus_cli.commands.task_common import line, project, task_id_arg
from nexus_cli.errors import NexusError
from nexus_cli.output import emit_json, info, json_option
from nexus_cli.plural import plural
from nexus_cli.tasks.receipt_check import ReceiptCheck, check
from nexus_cli.tasks.receipts import TaskReceipts, receipts_of
from nexus_cli.terminal import escape

SHORT = 12


class ReceiptsFailedError(NexusError):
    """Some closed task lacks the proof its receipts should give (exit 1)."""

    category = "receipts_failed"


@click.command()
@task_id_arg
@json_option
def receipt(task_id: str, as_json: bool) -> None:
    """Print the receipts of the task's last passing verification."""
    found = receipts_of(project(), task_id)
    if as_json:
        emit_json(found.to_json())
        return
    _render(found)


def _render(found: TaskReceipts) -> None:
    data = found.to_json()
    click.echo(f"{found.task.id}  {found.task.status}  {line(found.task.title)}")
    click.echo(f"  receipts of its passing {line(data['purpose'])} at {line(data['at'])}")
    for item in data["receipts"]:
        click.echo(
            f"  gate `{line(item['command'])}`  exit {item.get('exit_code')}  "
            f"{item.get('duration_ms')} ms"
        )
        for label, value in _fields(item):
            click.echo(f"    {label}: {line(str(value))}")
        tail = str(item.get("output_tail") or "")
        if tail:
            click.echo("    output:")
            for text in tail.splitlines():
                click.echo(f"      | {escape(text, newlines=False)}")


def _fields(item: dict[str, Any]) -> list[tuple[str, Any]]:
    where = _mapping(item.get("where"))
    image = _mapping(where.get("image"))
    place = f"host {where.get('host')}, dir {where.get('dir')}"
    if where.get("service"):
        shown = image.get("id") or "unknown"
        place += f", service {where.get('service')} (image {shown})"
    approved = item.get("approved")
    if isinstance(approved, dict):
        how = f"{approved.get('how')}" + (f" at {approved['at']}" if approved.get("at") else "")
        how += f" (rule {approved['rule']})" if approved.get("rule") else ""
    else:
        how = "no"
    signer = _mapping(item.get("signer"))
    if "signature" in item and signer:
        signed = f"{signer.get('format')} {signer.get('fingerprint') or signer.get('key')}"
    else:
        signed = f"no ({item['signature_error']})" if item.get("signature_error") else "no"
    tree = item.get("tree") or f"none ({item.get('tree_error', 'not recorded')})"
    return [
        ("command sha256", item.get("command_sha256")),
        ("tree", f"{tree} (head {item.get('head') or 'none'})"),
        ("where", place),
        ("approved", how),
        ("output sha256", item.get("output_sha256")),
        ("signed", signed),
    ]


def _mapping(value: Any) -> dict[str, Any]:
    return value if isinstance(value, dict) else {}


@click.command(name="check-receipts")
@click.option("--since", metavar="REF", help="Only tasks closed in commits after REF.")
@click.option("--require-signed", is_flag=True, help="Fail a receipt that carries no signature.")
@json_option
def check_receipts(since: str | None, require_signed: bool, as_json: bool) -> None:
    """Re-verify offline that every done or review task has receipts for its gates.

    Exit 0 when every receipt holds; else exit 1, one line per failing task.
    """
    found = check(project(), since=since, require_signed=require_signed)
    if as_json:
        emit_json(found.to_json())
    else:
        _report(found)
    if not found.ok:
        raise ReceiptsFailedError(
            f"{len(found.failing)} of {len(found.tasks)} closed tasks fail their receipt check"
        )


def _report(found: ReceiptCheck) -> None:
    for result in found.tasks:
        if result.closed_in is None and result.receipts:
            info(f"{result.id}: closed but not committed yet: compared with the worktree")
    for result in found.failing:
        click.echo(f"{result.id}: {escape('; '.join(result.problems), newlines=False)}")
    if found.ok:
        since = f" closed after {found.since[:SHORT]}" if found.since else ""
        click.echo(f"{plural(len(found.tasks), 'closed task')}{since}: every receipt holds")
