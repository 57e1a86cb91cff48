"""The opened telemetry database as the analytics modules see it: :class:`Db`.

:mod:`~nexus_cli.telemetry.db.store` opens it; the fold, the roll-ups, retention and every reader
take one. It sits below them all, so that none of them imports the store to name it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any


class Db:
    """The opened database: ``execute`` and ``atomic``, all the analytics modules need."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    @contextmanager
    def atomic(self) -> Iterator[Db]:
        """One write transaction for the block: committed at its end, rolled back when anything
        (an error, Ctrl-C: even just after ``BEGIN`` or during ``COMMIT``) stops it first."""
        outer = self.conn.in_transaction  # then BEGIN fails, and that transaction is not ours
        try:
            self.conn.execute("BEGIN IMMEDIATE")
            yield self
            self.conn.execute("COMMIT")
        except BaseException:
            if self.conn.in_transaction and not outer:
                self.conn.execute("ROLLBACK")
            raise

    def table_names(self) -> list[str]:
        return [
            r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
