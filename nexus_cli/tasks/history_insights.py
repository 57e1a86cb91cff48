"""Insights that act on the task, gate and workflow figures of the task history.

Built like the telemetry's (:mod:`nexus_cli.telemetry.query.patterns`: a description, a
concrete fix, a frequency and the first and last moment seen) and shown by ``nexus insights``
with them; they are computed from the project's task history on each call and never stored in
the telemetry database (gate commands are repository text, which the telemetry does not keep).

Each needs enough data (docs/telemetry.md lists the thresholds):

* ``gate_fails_first_try``: a gate's first run in a task fails in at least half of the tasks that
  ran it (at least :data:`MIN_TASKS`); the line its failing output most often holds is named when
  the history's output tails carry one (a ``FAILED``/``ERROR``/``not ok``/``--- FAIL`` line);
* ``flaky_gate``: a gate passed right after failing on the same tree at least
  :data:`MIN_FLAKY` times;
* ``slow_gate``: a gate's p95 over at least :data:`MIN_TASKS` runs is at or above
  ``telemetry.slow_gate_p95_ms`` (default 2 minutes);
* ``stage_iterations``: a workflow stage's tasks needed :data:`MANY_ITERATIONS` or more gate runs
  on average (at least :data:`MIN_STAGE_TASKS` tasks);
* ``workflow_duration``: a workflow with :data:`MIN_RUNS` completed runs, and the stage that takes
  the largest share of a run (half of it or more);
* ``incident_resolution``: an incident workflow with :data:`MIN_RUNS` resolved incidents.
"""

from __future__ import annotations

import re
from collections import Counter
from collections.abc import Iterator
from datetime import datetime
from typing import Any

from nexus_cli.tasks.labels import LABEL_STAGE, LABEL_WORKFLOW
from nexus_cli.tasks.metrics import gate_figures, moment, workflow_figures
from nexus_cli.tasks.model import Task
from nexus_cli.tasks.workflow_runs import runs as workflow_runs
from nexus_cli.telemetry.db import retention
from nexus_cli.telemetry.db.schema import stamp
from nexus_cli.telemetry.query.durations import human_ms
from nexus_cli.telemetry.query.patterns import Pattern
from nexus_cli.telemetry.query.stats import percentile

MIN_TASKS = 5  # tasks (first tries) or runs of a gate before it is judged
FAILS_FIRST_SHARE = 0.5
MIN_FLAKY = 2
MIN_STAGE_TASKS = 3
MANY_ITERATIONS = 3.0
MIN_RUNS = 3  # completed workflow runs / resolved incidents
LONGEST_STAGE_SHARE = 0.5
DEFAULT_SLOW_GATE_P95_MS = 120_000
MAX_LINE = 160  # a failing line is shown cut to this many characters
# Lines a test runner prints for a failure: pytest's summary, unittest, TAP, go test, rustc/tsc,
# make...
_FAILING_LINE = re.compile(
    r"^(FAILED |FAIL[: ]|ERROR[: ]|E\s{2,}\S|not ok |--- FAIL|\S+Error: |error(\[\w+\])?: "
    r"|make(\[\d+\])?: \*\*\* )"
)


def slow_gate_ms() -> int:
    section = retention.read_config().get("telemetry", {})
    value = section.get("slow_gate_p95_ms") if isinstance(section, dict) else None
    ok = isinstance(value, int) and not isinstance(value, bool) and value > 0
    return value if ok and isinstance(value, int) else DEFAULT_SLOW_GATE_P95_MS


def _code(text: str) -> str:
    """``text`` as a `code` span (quoted instead when it holds a backtick)."""
    return f"'{text}'" if "`" in text else f"`{text}`"


def _gate_runs(tasks: list[Task], command: str) -> Iterator[dict[str, Any]]:
    for task in tasks:
        for entry in task.history:
            if (
                isinstance(entry, dict)
                and entry.get("action") == "gate_run"
                and entry.get("command") == command
                and isinstance(entry.get("passed"), bool)
            ):
                yield entry


def _seen(moments: list[datetime | None]) -> tuple[str, str] | None:
    found = sorted(m for m in moments if m is not None)
    return (stamp(found[0]), stamp(found[-1])) if found else None


def failing_line(tasks: list[Task], command: str) -> tuple[str, int, int] | None:
    """The failing line most of ``command``'s failed runs printed (each run counted once), the
    number of runs that printed it and of failed runs; None unless two or more runs share one.
    Only what the history's ``output_tail`` holds is read, cut to :data:`MAX_LINE` characters."""
    counts: Counter[str] = Counter()
    failed = 0
    for entry in _gate_runs(tasks, command):
        if entry["passed"]:
            continue
        failed += 1
        tail = entry.get("output_tail")
        if isinstance(tail, str):
            lines = {ln.strip()[:MAX_LINE] for ln in tail.splitlines() if _FAILING_LINE.match(ln)}
            counts.update(lines)
    if not counts:
        return None
    line, times = min(counts.items(), key=lambda kv: (-kv[1], kv[0]))
    return (line, times, failed) if times >= 2 else None


def _gate_patterns(tasks: list[Task]) -> list[Pattern]:
    found = []
    slow_ms = slow_gate_ms()
    for command, gate in gate_figures(tasks).items():
        seen = _seen([moment(e.get("at")) for e in _gate_runs(tasks, command)])
        if seen is None:
            continue
        failed_first = gate.first_tries - gate.first_try_passed
        if gate.first_tries >= MIN_TASKS and failed_first >= FAILS_FIRST_SHARE * gate.first_tries:
            share = round(100 * failed_first / gate.first_tries)
            text = (
                f"the gate {_code(command)} fails its first run in {share}% of tasks "
                f"({failed_first} of {gate.first_tries})"
            )
            line = failing_line(tasks, command)
            if line is not None:
                text += f"; the failing line is usually {_code(line[0])} ({line[1]} of {line[2]} failed runs)"
            fix = (
                "give the agent this gate before it starts (the task's gates are in "
                "`nexus prime` and `nexus task show ID`) and have it run `nexus task verify ID` "
                "while it works, so the first run of the gate is not the first check"
            )
            found.append(
                Pattern(
                    "gate_fails_first_try",
                    f"gate_first_try:{command}",
                    text,
                    failed_first,
                    *seen,
                    fix,
                )
            )
        if gate.flaky_passes >= MIN_FLAKY:
            text = (
                f"the gate {_code(command)} passed right after failing on the same tree "
                f"{gate.flaky_passes} times (of {gate.passes_after_failure} passes after a "
                "failure): it is flaky"
            )
            fix = (
                "a gate that changes its answer without a change to the code costs an iteration "
                "each time: find the flaky test (its failing output is in `nexus task history ID`) "
                "and fix or quarantine it"
            )
            found.append(
                Pattern("flaky_gate", f"flaky_gate:{command}", text, gate.flaky_passes, *seen, fix)
            )
        ordered = sorted(gate.durations_ms)
        p95 = percentile(ordered, 0.95)
        if len(ordered) >= MIN_TASKS and p95 is not None and p95 >= slow_ms:
            text = (
                f"the gate {_code(command)} p95 is {human_ms(p95)} (median "
                f"{human_ms(percentile(ordered, 0.5))}) over {len(ordered)} runs"
            )
            fix = (
                "every iteration waits for it: run the quick checks as their own gate first, run "
                "only the affected tests in the loop, and bound it "
                "(`nexus task gate add ID COMMAND --timeout 600`)"
            )
            found.append(
                Pattern("slow_gate", f"slow_gate:{command}", text, len(ordered), *seen, fix)
            )
    return found


def _task_seen(tasks: list[Task]) -> tuple[str, str] | None:
    return _seen([moment(e.get("at")) for t in tasks for e in t.history if isinstance(e, dict)])


def _stage_patterns(tasks: list[Task]) -> list[Pattern]:
    found = []
    for row in workflow_figures(tasks):
        mean = row["iterations_per_task"]
        if row["tasks"] < MIN_STAGE_TASKS or mean is None or mean < MANY_ITERATIONS:
            continue
        members = [
            t
            for t in tasks
            if f"{LABEL_WORKFLOW}{row['workflow']}" in t.labels
            and f"{LABEL_STAGE}{row['stage']}" in t.labels
        ]
        seen = _task_seen(members)
        if seen is None:
            continue
        text = (
            f"tasks of stage {_code(row['stage'])} in workflow {_code(row['workflow'])} needed "
            f"{mean} gate runs on average ({row['tasks']} tasks)"
        )
        fix = (
            "each extra run is another loop iteration: put what the gates check into the stage's "
            "description (the agent reads it), or split the stage so each task has one thing to pass"
        )
        key = f"stage_iterations:{row['workflow']}:{row['stage']}"
        found.append(Pattern("stage_iterations", key, text, row["tasks"], *seen, fix))
    return found


def _longest_stage(tasks: list[Task], workflow: str, whole_ms: int) -> str:
    """``; stage X takes the most (median claim to done D)`` when one stage takes half of a run."""
    stages = [
        r
        for r in workflow_figures(tasks)
        if r["workflow"] == workflow and r["claim_to_done_p50_ms"]
    ]
    if not stages or not whole_ms:
        return ""
    top = max(stages, key=lambda r: r["claim_to_done_p50_ms"])
    if top["claim_to_done_p50_ms"] < LONGEST_STAGE_SHARE * whole_ms:
        return ""
    return (
        f"; stage {_code(top['stage'])} takes the most of it (median claim to done "
        f"{human_ms(top['claim_to_done_p50_ms'])})"
    )


def _workflow_patterns(tasks: list[Task], incident: set[str]) -> list[Pattern]:
    found = []
    by_workflow: dict[str, list[Any]] = {}
    for run in workflow_runs(tasks):
        by_workflow.setdefault(run.workflow, []).append(run)
    for workflow, group in sorted(by_workflow.items()):
        members = [t for run in group for t in run.tasks]
        seen = _task_seen(members)
        took = sorted(d for d in (r.duration_ms() for r in group) if d is not None)
        if seen is None:
            continue
        if len(took) >= MIN_RUNS:
            p50 = percentile(took, 0.5) or 0
            text = (
                f"runs of workflow {_code(workflow)} take a median of {human_ms(p50)} (p95 "
                f"{human_ms(percentile(took, 0.95))}) from the first claim to the last done, "
                f"over {len(took)} runs"
            ) + _longest_stage(tasks, workflow, p50)
            fix = (
                "compare the stages with `nexus stats --workflows`: the slowest stage is where a "
                "sharper description, a quicker gate or a split saves the most"
            )
            found.append(
                Pattern(
                    "workflow_duration",
                    f"workflow_duration:{workflow}",
                    text,
                    len(took),
                    *seen,
                    fix,
                )
            )
        resolved = sorted(d for d in (r.resolution_ms() for r in group) if d is not None)
        if workflow in incident and len(resolved) >= MIN_RUNS:
            p50 = percentile(resolved, 0.5) or 0
            text = (
                f"incidents run through {_code(workflow)} took a median of {human_ms(p50)} to "
                f"resolve (p95 {human_ms(percentile(resolved, 0.95))}, {len(resolved)} incidents)"
            ) + _longest_stage(tasks, workflow, p50)
            fix = (
                "start the run as soon as the alert fires (`nexus workflow run "
                f"{workflow}`) and keep the triage stage's gate small, so the fix starts sooner"
            )
            key = f"incident_resolution:{workflow}"
            found.append(Pattern("incident_resolution", key, text, len(resolved), *seen, fix))
    return found


def detect(tasks: list[Task], incident: set[str]) -> list[Pattern]:
    """Every task-history insight, gates first, then stages, then workflows."""
    return [
        *_gate_patterns(tasks),
        *_stage_patterns(tasks),
        *_workflow_patterns(tasks, incident),
    ]
