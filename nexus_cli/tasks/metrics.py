"""Task and gate metrics from the task history, and the OpenMetrics exposition that adds them to
the telemetry's.

Read from each task's ``history`` (``tasks.jsonl`` / the task database), nothing else:

* ``gate_run`` entries (``command``, ``passed``, ``duration_ms``): per gate command — runs,
  passes, pass rate, first-try pass rate (the first run of that gate in each task passed),
  duration p50/p95 (nearest rank); with the tree id a passing run's ``receipt`` and a failing
  run's entry carry (``tree``), flaky passes: a pass right after a failure of the same gate in
  the same task, on the same tree;
* ``transition`` entries (``to``, ``at``): the first move to ``in_progress`` (the claim) and the
  last move to ``done``; time from claim to done is the difference;
* labels ``workflow:NAME`` and ``stage:NAME`` (written by ``nexus workflow run``): per workflow
  stage — tasks, done, iterations per task (the verifications: the most runs any one gate of the
  task had), first-try pass rate (the task's first run of each gate all passed), claim-to-done
  p50/p95;
* the task's ``status``: tasks per status.

OpenMetrics families (:func:`task_families`): ``nexus_tasks{status}`` (gauge),
``nexus_gate_runs_total{gate, passed}`` and ``nexus_gate_flaky_passes_total{gate}`` (counters) and ``nexus_gate_duration_seconds{gate}``
(histogram, exact buckets).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from nexus_cli import timefmt
from nexus_cli.errors import NotAProjectError
from nexus_cli.gpu import accounting, nvml
from nexus_cli.gpu.model import GpuReading, GpuUnavailableError
from nexus_cli.project import TASKS_FILE, find_project
from nexus_cli.tasks.database import db_path
from nexus_cli.tasks.labels import LABEL_STAGE, LABEL_WORKFLOW
from nexus_cli.tasks.listing import opened
from nexus_cli.tasks.model import Task
from nexus_cli.telemetry.db import store as telemetry_store
from nexus_cli.telemetry.journal.invocation import note
from nexus_cli.telemetry.present import files
from nexus_cli.telemetry.query.stats import percentile
from nexus_cli.telemetry.ship import openmetrics
from nexus_cli.telemetry.ship.openmetrics import Family


@dataclass
class GateFigures:
    """What the history says about one gate command."""

    runs: int = 0
    passed: int = 0
    first_tries: int = 0
    first_try_passed: int = 0
    durations_ms: list[int] = field(default_factory=list)
    passes_after_failure: int = 0
    flaky_passes: int = 0

    def to_json(self, command: str) -> dict[str, Any]:
        ordered = sorted(self.durations_ms)
        return {
            "gate": command,
            "runs": self.runs,
            "passed": self.passed,
            "pass_rate": round(self.passed / self.runs, 4) if self.runs else None,
            "first_try_runs": self.first_tries,
            "first_try_pass_rate": (
                round(self.first_try_passed / self.first_tries, 4) if self.first_tries else None
            ),
            "p50_ms": percentile(ordered, 0.5),
            "p95_ms": percentile(ordered, 0.95),
            "passes_after_failure": self.passes_after_failure,
            "flaky_passes": self.flaky_passes,
        }


def _runs_with_trees(task: Task) -> Iterator[tuple[str, bool, int | None, str | None]]:
    """``(command, passed, duration_ms, tree)`` of each well-formed gate_run entry, oldest
    first; ``tree`` is the id a passing run's receipt or a failing run's entry recorded (None
    when absent). An entry of another shape (a hand-edited tasks.jsonl) is skipped."""
    for entry in task.history:
        if not isinstance(entry, dict) or entry.get("action") != "gate_run":
            continue
        command, passed = entry.get("command"), entry.get("passed")
        if not isinstance(command, str) or not isinstance(passed, bool):
            continue
        duration = entry.get("duration_ms")
        ok_duration = type(duration) is int and 0 <= duration < 2**53
        receipt = entry.get("receipt")
        tree = receipt.get("tree") if passed and isinstance(receipt, dict) else entry.get("tree")
        yield (
            command,
            passed,
            duration if ok_duration else None,
            (tree if isinstance(tree, str) and tree else None),
        )


def _gate_runs(task: Task) -> Iterator[tuple[str, bool, int | None]]:
    for command, passed, duration, _ in _runs_with_trees(task):
        yield command, passed, duration


def gate_figures(tasks: Iterable[Task]) -> dict[str, GateFigures]:
    """Per gate command (sorted): runs, passes, first tries, durations, and passes that came
    right after a failure of the same gate in the same task — flaky when both runs saw the same
    tree id (nothing in the gate's folder changed between them)."""
    figures: dict[str, GateFigures] = {}
    for task in tasks:
        last: dict[str, tuple[bool, str | None]] = {}  # each gate's previous run in this task
        for command, passed, duration, tree in _runs_with_trees(task):
            gate = figures.setdefault(command, GateFigures())
            gate.runs += 1
            gate.passed += passed
            if command not in last:
                gate.first_tries += 1
                gate.first_try_passed += passed
            elif passed and not last[command][0]:
                gate.passes_after_failure += 1
                gate.flaky_passes += tree is not None and tree == last[command][1]
            last[command] = (passed, tree)
            if duration is not None:
                gate.durations_ms.append(duration)
    return dict(sorted(figures.items()))


moment = timefmt.parse_moment  # the history's times (``at``, ``created_at``)


def claim_and_done(task: Task) -> tuple[datetime | None, datetime | None]:
    """The task's first claim (move to ``in_progress``) and its last move to ``done`` (either
    None when the history lacks it)."""
    claimed: datetime | None = None
    done: datetime | None = None
    for entry in task.history:
        if not isinstance(entry, dict) or entry.get("action") != "transition":
            continue
        at = moment(entry.get("at"))
        if at is None:
            continue
        if entry.get("to") == "in_progress" and claimed is None:
            claimed = at
        elif entry.get("to") == "done":
            done = at
    return claimed, done


def claim_to_done_ms(task: Task) -> int | None:
    """Milliseconds from the task's first claim (``in_progress``) to its last ``done``; None
    when it is not done or its history lacks either moment."""
    claimed, done = claim_and_done(task)
    if task.status != "done" or claimed is None or done is None or done < claimed:
        return None
    return int((done - claimed).total_seconds() * 1000)


def iterations(task: Task) -> int:
    """How many times the task's gates ran: the most runs any one of its gates had."""
    counts: dict[str, int] = {}
    for command, _, _ in _gate_runs(task):
        counts[command] = counts.get(command, 0) + 1
    return max(counts.values(), default=0)


def first_try_passed(task: Task) -> bool | None:
    """Whether the first run of each of the task's gates passed; None when none ran."""
    first: dict[str, bool] = {}
    for command, passed, _ in _gate_runs(task):
        first.setdefault(command, passed)
    return all(first.values()) if first else None


def label_value(task: Task, prefix: str) -> str | None:
    return next((x[len(prefix) :] for x in sorted(task.labels) if x.startswith(prefix)), None)


@dataclass
class StageFigures:
    """What the history says about the tasks of one workflow stage (or of all tasks)."""

    tasks: int = 0
    done: int = 0
    iterations: list[int] = field(default_factory=list)
    first_tries: int = 0
    first_try_passed: int = 0
    claim_to_done_ms: list[int] = field(default_factory=list)

    def add(self, task: Task) -> None:
        self.tasks += 1
        self.done += task.status == "done"
        ran = iterations(task)
        if ran:
            self.iterations.append(ran)
        first = first_try_passed(task)
        if first is not None:
            self.first_tries += 1
            self.first_try_passed += first
        took = claim_to_done_ms(task)
        if took is not None:
            self.claim_to_done_ms.append(took)

    def to_json(self) -> dict[str, Any]:
        took = sorted(self.claim_to_done_ms)
        return {
            "tasks": self.tasks,
            "done": self.done,
            "iterations_per_task": (
                round(sum(self.iterations) / len(self.iterations), 2) if self.iterations else None
            ),
            "first_try_pass_rate": (
                round(self.first_try_passed / self.first_tries, 4) if self.first_tries else None
            ),
            "claim_to_done_p50_ms": percentile(took, 0.5),
            "claim_to_done_p95_ms": percentile(took, 0.95),
        }


def task_figures(tasks: Iterable[Task]) -> dict[str, Any]:
    """``stats --tasks``: tasks per status and the figures of all of them together."""
    by_status: dict[str, int] = {}
    figures = StageFigures()
    for task in tasks:
        by_status[task.status] = by_status.get(task.status, 0) + 1
        figures.add(task)
    return {"by_status": dict(sorted(by_status.items())), **figures.to_json()}


def workflow_figures(tasks: Iterable[Task]) -> list[dict[str, Any]]:
    """``stats --workflows``: per workflow and stage (tasks labelled ``workflow:``), sorted."""
    stages: dict[tuple[str, str], StageFigures] = {}
    for task in tasks:
        workflow = label_value(task, LABEL_WORKFLOW)
        if workflow is None:
            continue
        stage = label_value(task, LABEL_STAGE) or ""
        stages.setdefault((workflow, stage), StageFigures()).add(task)
    return [{"workflow": w, "stage": s, **f.to_json()} for (w, s), f in sorted(stages.items())]


def history_stats(
    *, tasks: bool, gates: bool, workflows: bool, found: list[Task] | None = None
) -> dict[str, Any]:
    """``stats --tasks/--gates/--workflows``: the chosen figures of ``found`` (default: the
    current project's task history, empty outside a project), keyed ``tasks``, ``gates`` and
    ``workflows``."""
    if found is None:
        found = project_tasks() if tasks or gates or workflows else []
    result: dict[str, Any] = {}
    if tasks:
        result["tasks"] = task_figures(found)
    if gates:
        result["gates"] = [f.to_json(g) for g, f in gate_figures(found).items()]
    if workflows:
        result["workflows"] = workflow_figures(found)
    return result


def task_families(tasks: list[Task]) -> list[Family]:
    """``nexus_tasks``, ``nexus_gate_runs_total`` and ``nexus_gate_duration_seconds``."""
    by_status: dict[str, int] = {}
    for task in tasks:
        by_status[task.status] = by_status.get(task.status, 0) + 1
    count = Family("nexus_tasks", "gauge", "Tasks in this project per status.")
    count.samples = [("", {"status": s}, n) for s, n in sorted(by_status.items())]
    runs = Family("nexus_gate_runs", "counter", "Gate runs recorded in task histories.")
    durations = Family(
        "nexus_gate_duration_seconds",
        "histogram",
        "Durations of gate runs recorded in task histories.",
        unit="seconds",
    )
    flaky = Family(
        "nexus_gate_flaky_passes",
        "counter",
        "Gate passes right after a failure of the same gate in the same task, on the same tree.",
    )
    for command, gate in gate_figures(tasks).items():
        for outcome, n in (("true", gate.passed), ("false", gate.runs - gate.passed)):
            if n:
                runs.samples.append(("_total", {"gate": command, "passed": outcome}, n))
        flaky.samples.append(("_total", {"gate": command}, gate.flaky_passes))
        if gate.durations_ms:
            durations.samples += openmetrics.histogram_samples(
                {"gate": command},
                ((ms / 1000, 1) for ms in gate.durations_ms),
                sum(gate.durations_ms) / 1000,
            )
    return [count, runs, flaky, durations]


def gpu_families(devices: Callable[[], list[GpuReading]] | None = None) -> list[Family]:
    """GPU time attributed to tasks and workspaces (:mod:`nexus_cli.gpu.accounting`, a sampled
    lower bound) and, where NVML answers, each device's memory and utilisation now."""
    seconds = Family(
        "nexus_gpu_seconds",
        "counter",
        "GPU time of processes attributed to a task or workspace (sampled: a lower bound).",
        unit="seconds",
    )
    peak = Family(
        "nexus_gpu_peak_memory_bytes",
        "gauge",
        "The most GPU memory a task's or workspace's processes held when sampled.",
        unit="bytes",
    )
    for usage in accounting.usage_by_task():
        labels = {"task": usage.task_id} if usage.task_id else {"workspace": usage.workspace or ""}
        seconds.samples.append(("_total", labels, round(usage.gpu_seconds, 3)))
        if usage.peak_memory is not None:
            peak.samples.append(("", labels, usage.peak_memory))
    used = Family("nexus_gpu_memory_used_bytes", "gauge", "GPU memory in use now.", unit="bytes")
    util = Family("nexus_gpu_utilization_ratio", "gauge", "GPU utilisation now (0 to 1).")
    try:
        readings = (devices or _devices_now)()
    except GpuUnavailableError:
        readings = []  # no driver here: the attributed time above is all there is
    for gpu in readings:
        labels = {"gpu": gpu.index, "uuid": gpu.uuid or ""}
        if gpu.memory_used is not None:
            used.samples.append(("", labels, gpu.memory_used))
        if gpu.utilization_pct is not None:
            util.samples.append(("", labels, gpu.utilization_pct / 100))
    return [f for f in (seconds, peak, used, util) if f.samples]


def _devices_now() -> list[GpuReading]:
    with nvml.opened() as session:
        return list(session.read_devices())


def project_tasks() -> list[Task]:
    """The tasks of the project around the current directory (none outside a git repository)."""
    try:
        project = find_project()
    except NotAProjectError:
        return []
    if not (project.nexus_dir / TASKS_FILE).is_file() and not db_path(project).is_file():
        return []  # a repository without tasks: nothing to read, nothing created
    with opened(project) as task_store:
        return task_store.list_tasks()


def exposition() -> str:
    """Every metric Nexus exposes, as OpenMetrics text: the telemetry's (commands) and the
    current project's (tasks and gates)."""
    with telemetry_store.opened() as db:
        families = openmetrics.command_families(db)
    return openmetrics.render([*families, *task_families(project_tasks()), *gpu_families()])


def export_openmetrics(
    *, output: str | None, force: bool, write: Callable[[str], object]
) -> str | None:
    """``nexus export --format openmetrics``: to ``output`` (atomically, 0600; its absolute
    path returned) or to ``write``."""
    note(event_type="telemetry")
    text = exposition()
    if output:
        return files.write_chunks(output, [text], force=force)
    write(text)
    return None
