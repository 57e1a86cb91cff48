"""Fold the journal in a child Python and wait for it: the recording path's way to do the rare
work that needs SQLite without loading it.

Once the journal grew past :data:`~nexus_cli.telemetry.journal.recorder.FOLD_BYTES` the recorder
loads this module (by name, only then) and calls :func:`fold_now`: it has
:mod:`nexus_cli.telemetry.db.child` fold the journal, in its own process (through
:mod:`nexus_cli.proc`), so that recording itself never imports ``sqlite3`` nor ``subprocess``
and the journal stays below the database in the import graph. ``-P`` keeps the working folder's
own ``nexus_cli`` (if any) off the path.
"""

from __future__ import annotations

import os
import sys

from nexus_cli import locks, proc
from nexus_cli.errors import NexusError
from nexus_cli.telemetry.journal import file

DB_CHILD = "nexus_cli.telemetry.db.child"
FOLD_TIMEOUT_S = 120.0


def run(*args: str) -> int | None:
    """``python -P -m nexus_cli.telemetry.db.child ARGS``, waited for: its exit status, or None
    when it could not be started or ran past :data:`FOLD_TIMEOUT_S`."""
    try:
        done = proc.run([sys.executable, "-P", "-m", DB_CHILD, *args], timeout=FOLD_TIMEOUT_S)
    except NexusError:
        return None
    return None if done.timed_out else done.returncode


def fold_now() -> None:
    """Fold the journal into the database now, unless another recorder is already folding it.

    Never raises, never waits for another recorder's fold: the next reader folds what is left.
    The fold (:func:`nexus_cli.telemetry.db.child.fold_journal`) runs in a child process, waited
    for under the autofold lock, so that recording never loads SQLite.
    """
    try:
        autofold = os.path.join(file.journal_dir(), file.AUTOFOLD_LOCK_FILE)
        with locks.locked(autofold, blocking=False):
            run("fold")
    except Exception:
        pass
