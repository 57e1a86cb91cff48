"""Creating several workspaces at once in one process: ``nexus fleet run`` and
``nexus workspace create NAME NAME…``.

Each workspace is made by the same all-or-nothing :func:`creation.create`, each in a thread of
its own, so that N creates share one process (one start-up, one import of the Docker SDK, one
project) and overlap their waits on git and the engine instead of paying N interpreters on a
small machine. What keeps them apart is what keeps separate processes apart: the name is
reserved in the records under the project's lock, host ports come from the persisted port table
under its ``flock`` (held only while a port is picked: threads of one process exclude each other
there, each opens its own descriptor), and every step is journalled before it is made.

Ctrl-C or SIGTERM during a batch: no create that has not started starts; the running ones are
cancelled (:func:`nexus_cli.deadlines.cancellable`: a git or hook process they run is ended and that
create undone by its rollback journal, :mod:`~nexus_cli.workspaces.rollback`) or, past their last
process, finish whole. The interrupt is raised only after every thread has ended, so each
workspace of the batch is either fully made or undone: never half-made.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from nexus_cli import deadlines, engine
from nexus_cli.errors import NexusError, UsageError
from nexus_cli.telemetry.journal import invocation
from nexus_cli.workspaces import creation, host_hooks, rollback
from nexus_cli.workspaces.handle import Workspace
from nexus_cli.workspaces.progress import Silent

if TYPE_CHECKING:
    from nexus_cli.project import Project

# How many creates run at once: each spends most of its time waiting on git and the engine, so
# more threads than cores pay off; beyond this the engine itself is the queue.
MAX_PARALLEL = 8
WAIT_STEP_S = 0.5  # the main thread wakes this often while waiting (signals are seen at once)


@dataclass(frozen=True, slots=True)
class Request:
    """One workspace of a batch: its name, template and start point (see ``creation.create``)."""

    name: str
    template_name: str = "bare"
    from_ref: str | None = None


@dataclass(slots=True)
class Outcome:
    name: str
    result: creation.CreateResult | None = None  # set when it was made
    error: NexusError | None = None  # set when it failed (and was undone)
    messages: list[str] = field(default_factory=list)  # what its create said (a port changed…)

    @property
    def created(self) -> bool:
        return self.result is not None


@dataclass(slots=True)
class BatchResult:
    outcomes: list[Outcome]  # in the order requested

    @property
    def created(self) -> list[creation.CreateResult]:
        return [o.result for o in self.outcomes if o.result is not None]

    @property
    def failed(self) -> list[Outcome]:
        return [o for o in self.outcomes if o.result is None]

    def to_json(self) -> dict[str, Any]:
        """What ``workspace create A B … --json`` prints: each workspace made (as one create
        prints it), then each that was not (nothing of it is left), in the order requested."""
        return {
            "created": [r.to_json() for r in self.created],
            "failed": [
                {
                    "name": o.name,
                    "error": o.error.message if o.error is not None else "not started",
                    "category": o.error.category if o.error is not None else "interrupted",
                }
                for o in self.failed
            ],
        }


Done = Callable[[Outcome], None]


def check_names(project: Project, requests: Sequence[Request]) -> list[Workspace]:
    """The handles of the batch (every name validated); a name given twice is a usage error."""
    seen: set[str] = set()
    handles = []
    for request in requests:
        handle = Workspace(project, request.name)
        if handle.name in seen:
            raise UsageError(f"workspace {handle.name!r} is named twice")
        seen.add(handle.name)
        handles.append(handle)
    return handles


def create_many(
    project: Project,
    requests: Sequence[Request],
    *,
    hooks: host_hooks.HostHooks = host_hooks.NONE,
    parallel: int = MAX_PARALLEL,
    on_done: Done | None = None,
    **options: Any,
) -> BatchResult:
    """Create every requested workspace, up to ``parallel`` at once; never raises for one that
    fails (its :class:`Outcome` holds the error, and nothing of it is left).

    ``options`` are passed to each :func:`creation.create` (``start``, ``variables``,
    ``health_timeout_s``…); ``on_done`` is called (in the calling thread) as each one ends.
    Ctrl-C/SIGTERM: see the module; the interrupt is re-raised once every create has ended.
    """
    handles = check_names(project, requests)
    outcomes = [Outcome(r.name) for r in requests]
    if not requests:
        return BatchResult(outcomes)
    engine.load_sdk()  # once, before the threads that each reach the engine
    cancel = deadlines.Cancellation()
    stopping = threading.Event()

    def make(index: int) -> None:
        if stopping.is_set():
            return  # interrupted before it began: nothing to undo
        request, outcome = requests[index], outcomes[index]
        progress = _Collect(outcome.messages)
        try:
            with deadlines.cancellable(cancel):
                outcome.result = creation.create(
                    handles[index],
                    template_name=request.template_name,
                    from_ref=request.from_ref,
                    hooks=hooks,
                    progress=progress,
                    **options,
                )
        except NexusError as exc:
            outcome.error = exc

    interrupted = False
    workers = max(1, min(parallel, len(requests)))
    pool = ThreadPoolExecutor(max_workers=workers, thread_name_prefix="nexus-create")
    futures: dict[Future[None], int] = {pool.submit(make, i): i for i in range(len(requests))}
    try:
        _collect(futures, outcomes, on_done)
    except BaseException:  # Ctrl-C, SIGTERM (Terminated): end cleanly, then re-raise
        interrupted = True
        stopping.set()
        cancel.cancel("interrupted")
        with rollback.signals_deferred():  # the creates in flight end: done or undone
            pool.shutdown(wait=True, cancel_futures=True)
        raise
    finally:
        pool.shutdown(wait=not interrupted)
        made = sum(1 for o in outcomes if o.result is not None)
        if made:  # the creates ran in threads of their own: the count is noted here, once
            invocation.note(workspaces_created=made)
    return BatchResult(outcomes)


def _collect(
    futures: dict[Future[None], int], outcomes: list[Outcome], on_done: Done | None
) -> None:
    """Wait for every create (waking every WAIT_STEP_S, so that a signal is handled at once)."""
    pending = set(futures)
    while pending:
        finished, pending = wait(pending, timeout=WAIT_STEP_S, return_when=FIRST_COMPLETED)
        for future in finished:
            future.result()  # a bug in a thread is raised here, not lost
            if on_done is not None:
                on_done(outcomes[futures[future]])


class _Collect(Silent):
    """The progress of one create of the batch: its messages are kept for the report."""

    def __init__(self, into: list[str]) -> None:
        super().__init__()
        self.messages = into
