"""`nexus task history`: every transition, gate run and change, with the GPU use of the task."""

from __future__ import annotations

import click

from nexus_cli import jsonio
from nexus_cli.commands.task_common import project, task_id_arg
from nexus_cli.commands.task_queries import receipt_summary
from nexus_cli.gpu import accounting
from nexus_cli.output import emit_json, json_option, print_table
from nexus_cli.tasks.queries import history as task_history
from nexus_cli.timefmt import rfc3339


@click.command()
@task_id_arg
@json_option
def history(task_id: str, as_json: bool) -> None:
    """Every transition, gate run and change, with who, when and why."""
    found = task_history(project(), task_id)
    entries = list(found.to_json())
    # Sampled GPU use of the task's processes, and of its workspace's (docs/gpu.md).
    for gpu in accounting.usage_of(found.task.id, found.task.workspace):
        entry: dict[str, object] = {
            "at": rfc3339(gpu.last_seen),
            "by": "nexus gpu",
            "action": "gpu_usage",
            "gpu_hours": round(gpu.gpu_hours, 4),
            "peak_gpu_memory": gpu.peak_memory,
            "samples": gpu.samples,
        }
        if gpu.workspace is not None:
            entry["workspace"] = gpu.workspace
        entries.append(entry)
    if as_json:
        emit_json(entries)
        return
    rows = []
    for h in entries:
        # a failing run's output and tree id are in --json (the tree feeds `stats --gates`), and
        # so is a verification's owner beyond host and pid (its process start and token)
        hidden = ("at", "by", "action", "output_tail", "tree", "start", "token")
        detail = {k: v for k, v in h.items() if k not in hidden}
        if isinstance(detail.get("receipt"), dict):  # the whole receipt: `nexus task receipt ID`
            detail["receipt"] = receipt_summary(detail["receipt"])
        text = " ".join(f"{k}={_shown(v)}" for k, v in detail.items())
        when = str(h.get("at", ""))[:19].replace("T", " ")
        rows.append((when, str(h.get("by", "")), str(h.get("action", "")), text))
    print_table(("WHEN (UTC)", "WHO", "WHAT", "DETAILS"), rows)


def _shown(value: object) -> str:
    """One detail's value: a list, mapping or boolean as compact JSON (not Python's repr), None
    as -."""
    if value is None:
        return "-"
    if isinstance(value, dict | list | bool):
        return jsonio.dumps(value, compact=True)
    return str(value)
