"""``nexus stats --cost``: what agents spent per task, persona, model and outcome.

Read from ``telemetry.db``'s ``agent_usage`` (:mod:`nexus_cli.tasks.agent_ingest` and the OTLP
receiver fill it) for the window, and from the current project's task history:

* one source per agent session: its transcript (Claude Code, Codex) when one was ingested,
  else its OTLP ``api_request`` events, else its OTLP metrics, so a session both ingested and
  exported is counted once;
* cost per record from the price table (:mod:`nexus_cli.telemetry.agents.prices`); a model
  without a price has its tokens counted under ``unpriced_tokens`` and no cost (never a guess);
* per task: tokens, cost, the models used, the agent sessions, and wall time — how long the
  task was claimed (an open claim counted to now);
* per outcome: ``verified`` (done, and the verification that closed it passed with a receipt
  for every gate), ``done_unverified``, ``abandoned`` (cancelled, or released without being
  done), ``in_progress``, ``unknown`` (a task id this project's history does not hold), with
  the average per task; ``unattributed``: usage no task could be found for.

Inside a project, only that project's usage is shown (``outside_project`` totals the rest);
outside one, all of it.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass, replace
from datetime import UTC, datetime
from typing import Any

from nexus_cli import validate
from nexus_cli.errors import NotAProjectError
from nexus_cli.project import Project, find_project
from nexus_cli.tasks import gate_runs
from nexus_cli.tasks.agent_attribution import claim_windows, project_hash, read_tasks
from nexus_cli.tasks.labels import LABEL_PERSONA
from nexus_cli.tasks.model import Task
from nexus_cli.telemetry.agents import prices
from nexus_cli.telemetry.agents.records import Hasher
from nexus_cli.telemetry.db import agent_usage
from nexus_cli.telemetry.db import store as telemetry_store
from nexus_cli.telemetry.db.agent_usage import StoredUsage
from nexus_cli.telemetry.query.window import Window

PREFERENCE = {"claude": 0, "codex": 0, "otlp-log": 1, "otlp-metric": 2}
OUTCOMES = ("verified", "done_unverified", "abandoned", "in_progress", "unknown")
NO_PERSONA = "none"


@dataclass
class Totals:
    input_tokens: int = 0
    output_tokens: int = 0
    cache_write_tokens: int = 0
    cache_read_tokens: int = 0
    cost_usd: float = 0.0
    unpriced_tokens: int = 0
    reported_cost_usd: float | None = None

    def add(self, row: StoredUsage, table: prices.PriceTable) -> None:
        counts = (
            row.input_tokens,
            row.output_tokens,
            row.cache_write_tokens,
            row.cache_read_tokens,
        )
        self.input_tokens += counts[0]
        self.output_tokens += counts[1]
        self.cache_write_tokens += counts[2]
        self.cache_read_tokens += counts[3]
        price = table.of(row.model)
        if price is None:
            self.unpriced_tokens += sum(counts)
        else:
            self.cost_usd += price.cost(*counts)
        if row.reported_cost_usd is not None:
            self.reported_cost_usd = (self.reported_cost_usd or 0.0) + row.reported_cost_usd

    @property
    def tokens(self) -> int:
        return (
            self.input_tokens
            + self.output_tokens
            + self.cache_write_tokens
            + self.cache_read_tokens
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "tokens": self.tokens,
            "input_tokens": self.input_tokens,
            "output_tokens": self.output_tokens,
            "cache_write_tokens": self.cache_write_tokens,
            "cache_read_tokens": self.cache_read_tokens,
            "cost_usd": round(self.cost_usd, 6),
            "cost_complete": self.unpriced_tokens == 0,
            "unpriced_tokens": self.unpriced_tokens,
            "reported_cost_usd": (
                None if self.reported_cost_usd is None else round(self.reported_cost_usd, 6)
            ),
        }


def one_source_per_session(rows: Iterable[StoredUsage]) -> list[StoredUsage]:
    """The rows of each session's preferred source (see the module docstring)."""
    kept = list(rows)
    best: dict[str, int] = {}
    for row in kept:
        rank = PREFERENCE.get(row.source, 9)
        best[row.session_hash] = min(best.get(row.session_hash, rank), rank)
    return [r for r in kept if PREFERENCE.get(r.source, 9) == best[r.session_hash]]


def verified(task: Task) -> bool:
    """Done, and the verification that closed it passed with a receipt for every gate run."""
    if task.status != "done":
        return False
    closing = gate_runs.completing_run(task.history)
    if closing is None or not closing[1].entries:
        return False
    return all(
        e.get("passed") is True and isinstance(e.get("receipt"), dict) for e in closing[1].entries
    )


def outcome(task: Task | None) -> str:
    if task is None:
        return "unknown"
    if task.status == "done":
        return "verified" if verified(task) else "done_unverified"
    if task.status in ("in_progress", "verifying", "review"):
        return "in_progress"
    return "abandoned"  # cancelled, or released (open, rejected) without being done


def persona_of(task: Task | None) -> str:
    if task is None:
        return NO_PERSONA
    for label in sorted(task.labels):
        name = label[len(LABEL_PERSONA) :]
        if label.startswith(LABEL_PERSONA) and validate.is_valid(validate.persona_name, name):
            return name
    return NO_PERSONA


def wall_ms(task: Task, now_ms: int) -> int:
    """How long the task was claimed, in all (an open claim counted to ``now_ms``)."""
    return sum(
        max((end if end is not None else now_ms) - start, 0) for start, end in claim_windows(task)
    )


@dataclass
class _TaskFigures:
    totals: Totals
    models: set[str]
    sessions: set[str]


def _current_project() -> Project | None:
    try:
        project = find_project()
    except NotAProjectError:
        return None
    return project if project.is_initialized else None


def cost_figures(
    since_ms: int | None,
    until_ms: int | None,
    project: Project | None,
    *,
    db_path: str | None = None,
) -> dict[str, Any]:
    """The ``cost`` section of ``stats --cost`` for ``[since_ms, until_ms)`` (epoch ms), for
    ``project`` (None: every project)."""
    table = prices.load()
    hasher = Hasher()
    tasks = {t.id: t for t in read_tasks(project)} if project is not None else {}
    known = {hasher(task_id, kind="task"): task_id for task_id in tasks}
    mine = project_hash(hasher, project) if project is not None else None
    with telemetry_store.migrated(db_path) as db:
        rows = one_source_per_session(agent_usage.rows(db, since_ms, until_ms))
        named = agent_usage.session_tasks(db)
    rows = [_named(row, named) for row in rows]
    total, unattributed, outside = Totals(), Totals(), Totals()
    per_task: dict[str, _TaskFigures] = {}
    per_model: dict[str, Totals] = {}
    for row in rows:
        if project is not None and row.project_hash != mine and row.task_hash not in known:
            outside.add(row, table)
            continue
        total.add(row, table)
        per_model.setdefault(row.model, Totals()).add(row, table)
        if row.task_hash is None:
            unattributed.add(row, table)
            continue
        figures = per_task.setdefault(row.task_hash, _TaskFigures(Totals(), set(), set()))
        figures.totals.add(row, table)
        figures.models.add(row.model)
        figures.sessions.add(row.session_hash)
    return {
        "project": project is not None,
        "prices": {"retrieved": table.retrieved, "sources": table.sources},
        "total": total.to_json(),
        **_by_task(per_task, {h: tasks[i] for h, i in known.items()}),
        "models": [
            {"model": m, "priced": table.of(m) is not None, **t.to_json()}
            for m, t in sorted(per_model.items(), key=lambda kv: (-kv[1].tokens, kv[0]))
        ],
        "unattributed": unattributed.to_json(),
        "outside_project": outside.to_json() if project is not None else None,
    }


def _by_task(per_task: dict[str, _TaskFigures], tasks: dict[str, Task]) -> dict[str, Any]:
    """The per-task rows and their sums; ``per_task`` and ``tasks`` are keyed by task hash."""
    now_ms = int(time.time() * 1000)
    rows: list[dict[str, Any]] = []
    personas: dict[str, list[Any]] = {}
    outcomes: dict[str, list[Any]] = {name: [Totals(), 0, 0] for name in OUTCOMES}
    for task_hash, figures in per_task.items():
        task = tasks.get(task_hash)
        took = wall_ms(task, now_ms) if task is not None else None
        kind, persona = outcome(task), persona_of(task)
        rows.append(
            {
                "task_id": task.id if task is not None else None,
                "task_hash": task_hash,
                "title": task.title if task is not None else None,
                "status": task.status if task is not None else None,
                "outcome": kind,
                "persona": persona,
                "models": sorted(figures.models),
                "sessions": len(figures.sessions),
                "wall_ms": took,
                **figures.totals.to_json(),
            }
        )
        for bucket in (personas.setdefault(persona, [Totals(), 0, 0]), outcomes[kind]):
            _merge(bucket[0], figures.totals)
            bucket[1] += 1
            bucket[2] += took or 0
    rows.sort(key=lambda r: (-r["cost_usd"], -r["tokens"], r["task_hash"]))
    return {
        "tasks": rows,
        "personas": [
            {"persona": p, "tasks": n, "wall_ms": w, **t.to_json()}
            for p, (t, n, w) in sorted(personas.items())
        ],
        "outcomes": {
            name: {"tasks": n, "wall_ms": w, **t.to_json(), "per_task": _per_task(t, n, w)}
            for name, (t, n, w) in outcomes.items()
        },
    }


def _named(row: StoredUsage, named: dict[str, str]) -> StoredUsage:
    """A row without a task gets the task its session was started for (``nexus loop``)."""
    if row.task_hash is None and row.session_hash in named:
        return replace(row, task_hash=named[row.session_hash])
    return row


def _merge(into: Totals, other: Totals) -> None:
    into.input_tokens += other.input_tokens
    into.output_tokens += other.output_tokens
    into.cache_write_tokens += other.cache_write_tokens
    into.cache_read_tokens += other.cache_read_tokens
    into.cost_usd += other.cost_usd
    into.unpriced_tokens += other.unpriced_tokens
    if other.reported_cost_usd is not None:
        into.reported_cost_usd = (into.reported_cost_usd or 0.0) + other.reported_cost_usd


def _per_task(totals: Totals, tasks: int, wall: int) -> dict[str, Any] | None:
    if not tasks:
        return None
    return {
        "tokens": round(totals.tokens / tasks),
        "cost_usd": round(totals.cost_usd / tasks, 6),
        "cost_complete": totals.unpriced_tokens == 0,
        "wall_ms": round(wall / tasks),
    }


def _ms(stamp: str) -> int:
    return int(datetime.fromisoformat(stamp).replace(tzinfo=UTC).timestamp() * 1000)


def cost_in(span: Window, project: Project | None = None) -> dict[str, Any]:
    """``stats --cost`` (CLI) and ``stats`` with ``cost`` (MCP): the cost section for a window,
    for ``project`` (default: the one around the current directory, if any)."""
    chosen = project if project is not None else _current_project()
    return cost_figures(_ms(span.since), _ms(span.until), chosen)
