"""The opened telemetry database as the analytics modules see it: :class:`Db`.

:mod:`~nexus_cli.telemetry.db.store` opens it; the fold, the roll-ups, retention and every reader
take one. It sits below them all, so that none of them imports the store to name it.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

from nexus_cli import sqlite_open


class Db:
    """The opened database: ``execute`` and ``atomic``, all the analytics modules need."""

    def __init__(self, conn: sqlite3.Connection, path: str) -> None:
        self.conn = conn
        self.path = path

    def execute(self, sql: str, params: Any = ()) -> sqlite3.Cursor:
        return self.conn.execute(sql, params)

    @contextmanager
    def atomic(self) -> Iterator[Db]:
        """One write transaction for the block (:func:`sqlite_open.transaction`)."""
        with sqlite_open.transaction(self.conn):
            yield self

    def table_names(self) -> list[str]:
        return [
            r[0] for r in self.conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
        ]
