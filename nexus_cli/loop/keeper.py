"""Keep a task's lease alive while the loop works on it: a heartbeat every third of its length.

The beat goes through :mod:`nexus_cli.tasks.actions` like every other task change. If the lease
was lost (the task was reclaimed after this process stalled past its expiry), the keeper stops
beating and says so: :attr:`LeaseKeeper.lost` holds the reason, and the loop stops the task.
"""

from __future__ import annotations

import threading
from types import TracebackType

from nexus_cli import owner
from nexus_cli.errors import NexusError
from nexus_cli.project import Project
from nexus_cli.tasks import actions

MIN_INTERVAL_S = 0.2


class LeaseKeeper:
    def __init__(
        self, project: Project, task_id: str, actor: str, holder: owner.Owner, lease_s: int
    ) -> None:
        self.project, self.task_id, self.actor, self.holder = project, task_id, actor, holder
        self.lease_s = lease_s
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="nexus-lease", daemon=True)

    def beat(self) -> None:
        """One heartbeat now (renewing the lease under this loop's owner if needed)."""
        try:
            actions.change(
                self.project,
                self.task_id,
                "heartbeat",
                agent=self.actor,
                holder=self.holder,
                lease_s=self.lease_s,
            )
        except NexusError as exc:
            self.lost = exc.message

    def _run(self) -> None:
        interval = max(self.lease_s / 3, MIN_INTERVAL_S)
        while not self._stop.wait(interval) and self.lost is None:
            self.beat()

    def __enter__(self) -> LeaseKeeper:
        self.beat()
        self._thread.start()
        return self

    def __exit__(
        self,
        kind: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self._stop.set()
        self._thread.join()
