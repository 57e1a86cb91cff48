"""Fold the journal in a child Python and wait for it: the recording path's way to do the rare
work that needs SQLite without loading it.

Once the journal grew past :data:`~nexus_cli.telemetry.journal.recorder.FOLD_BYTES` the recorder
has :mod:`nexus_cli.telemetry.db.child` fold it, in its own process (through
:mod:`nexus_cli.proc`), so that recording itself never imports ``sqlite3`` and the journal stays
below the database in the import graph. ``-P`` keeps the working folder's own ``nexus_cli`` (if
any) off the path.
"""

from __future__ import annotations

import sys

from nexus_cli import proc
from nexus_cli.errors import NexusError

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
