"""sqlite_open.transaction: the one way a write transaction runs, rolled back whatever stops it."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import pytest

from nexus_cli import sqlite_open
from nexus_cli.errors import StateError


@pytest.fixture
def conn(tmp_path: Path) -> sqlite3.Connection:
    conn = sqlite_open.open_private(str(tmp_path / "t.db"), timeout=0.1)
    conn.execute("CREATE TABLE t (x)")
    return conn


def _rows(conn: sqlite3.Connection) -> list[Any]:
    return conn.execute("SELECT x FROM t").fetchall()


class _InterruptAfter:
    """A connection that raises KeyboardInterrupt just after running ``statement`` (Ctrl-C
    between that statement and the next line of Python)."""

    def __init__(self, conn: sqlite3.Connection, statement: str) -> None:
        self._conn, self._statement = conn, statement

    @property
    def in_transaction(self) -> bool:
        return self._conn.in_transaction

    def execute(self, sql: str, *args: Any) -> Any:
        cursor = self._conn.execute(sql, *args)
        if sql == self._statement:
            raise KeyboardInterrupt
        return cursor


def test_the_block_is_committed(conn: sqlite3.Connection) -> None:
    with sqlite_open.transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
    assert not conn.in_transaction and _rows(conn) == [(1,)]


def test_an_error_in_the_block_rolls_it_back(conn: sqlite3.Connection) -> None:
    with pytest.raises(ValueError), sqlite_open.transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        raise ValueError
    assert not conn.in_transaction and _rows(conn) == []


@pytest.mark.parametrize("statement", ["BEGIN IMMEDIATE", "INSERT INTO t VALUES (1)"])
def test_ctrl_c_just_after_a_statement_leaves_no_transaction_open(
    conn: sqlite3.Connection, statement: str
) -> None:
    interrupted: Any = _InterruptAfter(conn, statement)
    with pytest.raises(KeyboardInterrupt), sqlite_open.transaction(interrupted):
        interrupted.execute("INSERT INTO t VALUES (1)")
    assert not conn.in_transaction and _rows(conn) == []


def test_ctrl_c_just_after_commit_keeps_what_was_committed(conn: sqlite3.Connection) -> None:
    interrupted: Any = _InterruptAfter(conn, "COMMIT")
    with pytest.raises(KeyboardInterrupt), sqlite_open.transaction(interrupted):
        conn.execute("INSERT INTO t VALUES (1)")
    assert not conn.in_transaction and _rows(conn) == [(1,)]


def test_a_begin_refused_as_busy_is_the_caller_s_error(
    conn: sqlite3.Connection, tmp_path: Path
) -> None:
    other = sqlite_open.open_private(str(tmp_path / "t.db"), timeout=0.1)
    with sqlite_open.transaction(other):  # holds the write lock
        busy = sqlite_open.transaction(conn, begin_error=lambda e: StateError(f"busy: {e}"))
        with pytest.raises(StateError, match="busy"), busy:
            raise AssertionError("the block ran without the lock")
        assert not conn.in_transaction


def test_a_transaction_already_open_is_left_to_its_owner(conn: sqlite3.Connection) -> None:
    """BEGIN inside an open transaction fails; the open one is not rolled back by it."""
    with sqlite_open.transaction(conn):
        conn.execute("INSERT INTO t VALUES (1)")
        with pytest.raises(sqlite3.OperationalError), sqlite_open.transaction(conn):
            pass
        assert conn.in_transaction
    assert _rows(conn) == [(1,)]
