"""``nexus export``: events, sessions and patterns as JSON, NDJSON, CSV, or a full SQL dump.

Everything is produced as a stream of text chunks, so large databases export in constant memory.
The hashing salt lives in its own file and never appears in an export.
"""

from __future__ import annotations

import csv
import io
import json
import sqlite3
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from nexus_cli.telemetry.store.store import Db

TABLES = {"events": "timestamp", "sessions": "ended_at", "patterns": "last_seen"}


def _rows(db: Db, table: str, since: str | None) -> Iterator[dict[str, Any]]:
    column = TABLES[table]
    sql = f"SELECT * FROM {table}" + (f" WHERE {column} >= ?" if since else "") + " ORDER BY id"
    cursor = db.execute(sql, [since] if since else [])
    names = [d[0] for d in cursor.description]
    for row in cursor:
        yield dict(zip(names, row, strict=True))


def as_json(db: Db, tables: list[str], since: str | None) -> Iterator[str]:
    yield "{"
    for t_index, table in enumerate(tables):
        yield f"{',' if t_index else ''}\n  {json.dumps(table)}: ["
        for r_index, row in enumerate(_rows(db, table, since)):
            yield f"{',' if r_index else ''}\n    {json.dumps(row, ensure_ascii=False)}"
        yield "\n  ]"
    yield "\n}\n"


def as_ndjson(db: Db, tables: list[str], since: str | None) -> Iterator[str]:
    for table in tables:
        for row in _rows(db, table, since):
            yield json.dumps({"table": table, **row}, ensure_ascii=False) + "\n"


def as_csv(db: Db, table: str, since: str | None) -> Iterator[str]:
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    cursor = db.execute(f"SELECT * FROM {table} LIMIT 0")
    writer.writerow([d[0] for d in cursor.description])
    for row in _rows(db, table, since):
        writer.writerow(row.values())
        if buffer.tell() > 65536:
            yield buffer.getvalue()
            buffer.seek(0)
            buffer.truncate()
    yield buffer.getvalue()


def as_sql(conn: sqlite3.Connection) -> Iterator[str]:
    """A full dump (schema, data, migration records) that restores into an empty database."""
    for statement in conn.iterdump():
        yield statement + "\n"
