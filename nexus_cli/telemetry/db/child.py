"""What the recording path runs in a child Python (:mod:`nexus_cli.telemetry.journal.child`).

``python -m nexus_cli.telemetry.db.child fold`` folds the journal into ``telemetry.db`` (the
recorder's own fold, once the journal grew past
:data:`nexus_cli.telemetry.journal.recorder.FOLD_BYTES`); ``... hashes PATH`` exits 1 when the
database at PATH holds a hashed workspace name or task id, or cannot be read, and 0 when it holds
none. Recording never imports SQLite; these two need it.
"""

from __future__ import annotations

import sqlite3
import sys

from nexus_cli import sqlite_open
from nexus_cli.telemetry.db import fold, store


def fold_journal() -> None:
    """Fold the journal into the telemetry database (migrated first)."""
    with store.migrated() as db:
        fold.fold_journal(db)


def has_hashes(path: str) -> bool:
    """Whether the database at ``path`` holds a hashed name; True when it cannot tell."""
    try:
        conn = sqlite_open.open_read_only(path)
        try:
            row = conn.execute(
                "SELECT 1 FROM events WHERE workspace_hash IS NOT NULL OR task_hash IS NOT NULL "
                "LIMIT 1"
            ).fetchone()
        finally:
            conn.close()
    except sqlite3.Error:
        return True  # cannot tell: say so rather than hide it
    return row is not None


def main(argv: list[str]) -> int:
    if argv == ["fold"]:
        fold_journal()
        return 0
    if len(argv) == 2 and argv[0] == "hashes":
        return 1 if has_hashes(argv[1]) else 0
    print("usage: python -m nexus_cli.telemetry.db.child fold | hashes PATH", file=sys.stderr)
    return 2


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
