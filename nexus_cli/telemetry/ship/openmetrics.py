"""OpenMetrics text exposition (https://prometheus.io/docs/specs/om/open_metrics_spec/).

What ``nexus export --format openmetrics`` writes (for node_exporter's textfile collector) and
``nexus telemetry serve --metrics`` answers. A :class:`Family` is one metric family; :func:`render`
writes families in the text format, label values escaped (backslash, double quote, line feed),
ending with ``# EOF``.

:func:`command_families` reads the roll-ups (every day they hold), so the output costs the same at
any number of events:

* ``nexus_invocations_total{command, success}`` (counter): invocations per command, ``success``
  ``true``, ``false`` or ``unknown`` (interrupted before an outcome was known);
* ``nexus_command_duration_seconds{command}`` (histogram): durations of non-interactive runs. The
  roll-ups keep log-bucketed sketches (:mod:`nexus_cli.telemetry.db.sketch`, 1% buckets, each with
  its smallest and largest value); each sketch bucket is counted at the first ``le`` bound at or
  above its largest value, so a count is exact except for values within 1% below a bound, and
  ``_sum`` adds each bucket's representative (within 1%).

Families from other layers (tasks and gates: :mod:`nexus_cli.tasks.metrics`) are rendered by the
same :func:`render`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, cast

from nexus_cli.telemetry.db import rollup_cache, sketch
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollup_cache import rows_of
from nexus_cli.telemetry.db.rollup_fold import NONE  # how the roll-ups store a missing command
from nexus_cli.terminal import escape

CONTENT_TYPE = "application/openmetrics-text; version=1.0.0; charset=utf-8"
# Histogram bounds in seconds: from a fast command to a long gate run.
BOUNDS_S = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 300.0, 900.0)


@dataclass
class Family:
    """One metric family: ``samples`` are ``(suffix, labels, value)`` (suffix ``_total``,
    ``_bucket``, ``_count``, ``_sum`` or empty)."""

    name: str
    kind: str  # counter, gauge or histogram
    help: str
    unit: str = ""
    samples: list[tuple[str, dict[str, str], float]] = field(default_factory=list)


def escape_label(value: str) -> str:
    """A label value as the text format writes it inside double quotes, its control characters
    shown visibly first (:func:`terminal.escape`): a gate command is repository text, and this
    output goes to a terminal as often as to a file or a scraper."""
    value = escape(value)
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _escape_help(text: str) -> str:
    return text.replace("\\", "\\\\").replace("\n", "\\n")


def _number(value: float) -> str:
    if isinstance(value, int) or (math.isfinite(value) and value == int(value)):
        return str(int(value))
    return repr(float(value))


def _bound(value: float) -> str:
    return "+Inf" if math.isinf(value) else repr(float(value))


def render(families: Iterable[Family]) -> str:
    """The families in the OpenMetrics text format, ``# EOF`` last."""
    lines: list[str] = []
    for family in families:
        lines.append(f"# TYPE {family.name} {family.kind}")
        if family.unit:
            lines.append(f"# UNIT {family.name} {family.unit}")
        lines.append(f"# HELP {family.name} {_escape_help(family.help)}")
        for suffix, labels, value in family.samples:
            text = ",".join(f'{k}="{escape_label(v)}"' for k, v in labels.items())
            lines.append(f"{family.name}{suffix}{{{text}}} {_number(value)}")
    lines.append("# EOF")
    return "\n".join(lines) + "\n"


def histogram_samples(
    labels: Mapping[str, str], buckets: Iterable[tuple[float, int]], total: float
) -> list[tuple[str, dict[str, str], float]]:
    """``_bucket`` (cumulative, with ``+Inf``), ``_count`` and ``_sum`` samples for
    ``buckets`` — ``(largest value in seconds, count)`` pairs — and their ``total`` (seconds)."""
    per_bound = [0] * (len(BOUNDS_S) + 1)
    for largest, n in buckets:
        index = next((i for i, b in enumerate(BOUNDS_S) if largest <= b), len(BOUNDS_S))
        per_bound[index] += n
    samples: list[tuple[str, dict[str, str], float]] = []
    running = 0
    for bound, n in zip((*BOUNDS_S, math.inf), per_bound, strict=True):
        running += n
        samples.append(("_bucket", {**labels, "le": _bound(bound)}, running))
    samples.append(("_count", dict(labels), running))
    samples.append(("_sum", dict(labels), round(total, 6)))
    return samples


def command_families(db: Db) -> list[Family]:
    """Invocation counters and duration histograms per command, from every day of roll-ups."""
    invocations = Family(
        "nexus_invocations", "counter", "Nexus invocations per command and outcome."
    )
    for command, n, ok, failed in db.execute(
        "SELECT command, sum(n), sum(ok), sum(failed) FROM rollup_commands "
        "GROUP BY command ORDER BY command"
    ):
        name = "" if command == NONE else str(command)
        for outcome, value in (("true", ok), ("false", failed), ("unknown", n - ok - failed)):
            if value:
                invocations.samples.append(
                    ("_total", {"command": name, "success": outcome}, int(value))
                )
    durations = Family(
        "nexus_command_duration_seconds",
        "histogram",
        "Durations of non-interactive Nexus invocations per command.",
        unit="seconds",
    )
    per_command: dict[str, list[tuple[int, int, int, int]]] = {}
    for (command, index), (n, lo, hi) in sorted(_duration_cells(db).items()):
        per_command.setdefault(command, []).append((index, n, lo, hi))
    for command, cells in per_command.items():
        total_ms = sum(
            min(max(sketch.representative(index), lo), hi) * n for index, n, lo, hi in cells
        )
        durations.samples += histogram_samples(
            {"command": "" if command == NONE else command},
            ((hi / 1000, n) for _, n, _, hi in cells),
            total_ms / 1000,
        )
    return [invocations, durations]


# A cached cell of the past days' histograms: command, bucket, count, smallest, largest (ms).
_CELL = (str, int, int, int, int)


def _duration_cells(db: Db) -> dict[tuple[str, int], tuple[int, int, int]]:
    """(command, bucket) -> (count, smallest, largest) over every day of ``rollup_durations``:
    the days before today (UTC) through :mod:`~nexus_cli.telemetry.db.rollup_cache` (merging
    every day costs a sort of the whole table: 0.2 s at 1,000,000 events), today from the
    table."""
    today = _today()
    past = rollup_cache.cached_json(
        db, f"metrics:/{today}", lambda: _cells(db, today, before=True), _checked
    )
    cells: dict[tuple[str, int], tuple[int, int, int]] = {}
    for command, index, n, lo, hi in [*past, *_cells(db, today, before=False)]:
        old = cells.get((command, index))
        if old is not None:
            n, lo, hi = old[0] + n, min(old[1], lo), max(old[2], hi)
        cells[(command, index)] = (n, lo, hi)
    return cells


def _today() -> str:
    """Today's UTC day, ``YYYY-MM-DD``."""
    return datetime.now(UTC).date().isoformat()


def _cells(db: Db, day: str, *, before: bool) -> list[list[Any]]:
    """The merged cells of the days before ``day`` (``before``), or of ``day`` and later."""
    comparison = "<" if before else ">="
    return [
        [str(command), int(index), int(n), int(lo), int(hi)]
        for command, index, n, lo, hi in db.execute(
            "SELECT command, bucket, sum(n), min(lo), max(hi) FROM rollup_durations "
            f"WHERE day {comparison} ? GROUP BY command, bucket",
            [day],
        )
    ]


def _checked(value: Any) -> list[list[Any]]:
    """A cached list of cells, or ValueError (it is computed again)."""
    if not rows_of(value, _CELL):
        raise ValueError("not cached duration cells")
    return cast(list[list[Any]], value)
