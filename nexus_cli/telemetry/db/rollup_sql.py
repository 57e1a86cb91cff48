"""Roll-up figures computed by SQLite over a range of event ids.

:func:`fold_range` adds the events of a range to the roll-up tables with the figures
:class:`~nexus_cli.telemetry.db.rollup_fold.Accumulator` computes one event at a time (the same
counts, duration buckets, first and last timestamps, smallest sessions, signals), but inside
SQLite: one pass over the range groups every event by (day, command, duration bucket) (the bucket
computed in the query: :func:`rollup_fold.bucket_sql`), and the rows that need more than a count
(raw data, failures, templates, a bad shape) are copied once into a temporary table where they
are checked in one pass (:mod:`~nexus_cli.telemetry.db.rollup_checks`) and the ``raw_data``
fields read through SQLite's JSON functions; each table is then written by an ``INSERT ...
SELECT ... ON CONFLICT DO UPDATE`` (the merges of :func:`rollups.write`). Only rows SQL could
read differently from Python (:func:`rollup_checks.copy_and_check` finds them: a JSON escape, a
number beyond 2**53, a reason hash that is not text or a whole number, ``raw_data`` that is not
text) go
through the Accumulator, whose figures merge into the same rows: merging is order-free (sums,
min, max and the 20 smallest session ids), so the tables come out the same either way
(tests/telemetry/db/test_rollup_sql.py compares both on edge cases).

:func:`add_retry_rows` adds every retry pair up to an event id in one window query (what
:func:`rollup_fold.retry_pairs` finds per session), for a full build.
"""

from __future__ import annotations

import json
import sqlite3

from nexus_cli.telemetry.db import classify, quarantine
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.db.rollup_checks import RANGE, copy_and_check, forget
from nexus_cli.telemetry.db.rollup_fold import (
    EVENT_SELECT,
    KINDS_WITH_SESSIONS,
    NONE,
    SESSIONS_KEPT,
    Accumulator,
    bucket_sql,
    sessions_json,
)
from nexus_cli.telemetry.db.schema import day_number_sql, day_text_sql, text_sql


def _count_sql(key: str) -> str:
    return (
        "CASE WHEN raw_data IS NOT NULL AND instr(raw_data, '\"counts\"') > 0 "
        f"THEN coalesce(json_extract(raw_data, '$.counts.{key}'), 0) ELSE 0 END"
    )


def _option_sql(option: str) -> str:
    return (
        "(raw_data IS NOT NULL AND instr(raw_data, '\"options\"') > 0 "
        "AND json_type(raw_data, '$.options') = 'array' AND EXISTS (SELECT 1 FROM "
        "json_each(raw_data, '$.options') AS o WHERE o.type = 'text' AND o.value = "
        f"'{option}'))"
    )


def _quoted(names: frozenset[str] | list[str]) -> str:
    return ", ".join("'" + name.replace("'", "''") + "'" for name in sorted(names))


_ALWAYS = _quoted(classify.INTERACTIVE_COMMANDS)
# 1 for a run interactive by its option (classify.INTERACTIVE_WITH_OPTION), else 0; the JSON is
# read only for the commands that have such an option.
_INTERACTIVE_FLAG = (
    "CASE "
    + "".join(
        f"WHEN command = (SELECT id FROM strings WHERE value = '{command}') "
        f"THEN {_option_sql(option)} "
        for command, option in sorted(classify.INTERACTIVE_WITH_OPTION.items())
    )
    + "ELSE 0 END"
)
# The groups of one chunk, keyed by the day's number (day_number_sql) and holding the first
# and last times as whole milliseconds, named as text once per group: each event is added to its
# group by an upsert (a lookup among the chunk's groups), which costs less than sorting the
# chunk's events for a GROUP BY. The table is kept in the order of its key, so the sums per
# (day, command) read it in that order, with no sort. A missing command or duration is keyed
# as '' (text, so never equal to a string id or a bucket): such groups are summed per (day,
# command) and left out of the durations, as the events in them.
MISSING = "''"
_GROUPS_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS rollup_groups (day, command, bucket, interactive, n, ok, "
    "failed, first_ms, last_ms, session_id, lo, hi, "
    "PRIMARY KEY (day, command, bucket, interactive)) WITHOUT ROWID"
)
_UPSERT_GROUPS = (
    "ON CONFLICT DO UPDATE SET n = n + 1, ok = ok + excluded.ok, failed = failed + excluded.failed, "
    "first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms), "
    "session_id = min(session_id, excluded.session_id), lo = min(lo, excluded.lo), "
    "hi = max(hi, excluded.hi)"
)

# How a row added to a roll-up table merges with the row of its key (order-free: a fold's
# chunks, the Accumulator's rows and a parallel build's second part all come in through them;
# ``rollup_merge_sessions`` is registered by :func:`register_merges`).
MERGES = {
    "rollup_commands": "ON CONFLICT DO UPDATE SET n = n + excluded.n, ok = ok + excluded.ok, "
    "failed = failed + excluded.failed, created = created + excluded.created, "
    "completed = completed + excluded.completed",
    "rollup_durations": "ON CONFLICT DO UPDATE SET n = n + excluded.n, "
    "first_ms = min(first_ms, excluded.first_ms), last_ms = max(last_ms, excluded.last_ms), "
    "session_id = min(session_id, excluded.session_id), "
    "lo = min(lo, excluded.lo), hi = max(hi, excluded.hi)",
    "rollup_seen": "ON CONFLICT DO UPDATE SET n = n + excluded.n, "
    "first_ts = min(first_ts, excluded.first_ts), last_ts = max(last_ts, excluded.last_ts), "
    "sessions = rollup_merge_sessions(sessions, excluded.sessions)",
    "rollup_sessions": "ON CONFLICT DO NOTHING",
}

# One row per signal the roll-ups count: (day number, milliseconds, session, kind, key), as
# Accumulator._signals sees them (port numbers and ages as whole-number text, booleans as 1/0,
# a missing or null reason hash as 'None', like Python's str()).
_SIGNALS = f"""
WITH sig AS (
    SELECT {day_number_sql("e.at_ms")} AS day, e.at_ms AS ts, ss.value AS session,
           e.kind, e.port, e.reason_type, e.reason, e.age
    FROM temp.rollup_signals AS e JOIN strings AS ss ON ss.id = e.session_id
    WHERE e.id > ? AND e.id <= ? {{skip}}
      AND e.kind IN ('port_conflict', 'task_rejected', 'workspace_deleted')
), found AS (
    SELECT day, ts, session, 'port' AS kind, CAST(port AS TEXT) AS key
    FROM sig WHERE kind = 'port_conflict' AND typeof(port) = 'integer'
    UNION ALL
    SELECT day, ts, session, 'rejection',
           CASE WHEN coalesce(reason_type, 'null') = 'null' THEN 'None'
                ELSE CAST(reason AS TEXT) END
    FROM sig WHERE kind = 'task_rejected'
    UNION ALL
    SELECT day, ts, session, k.kind,
           CASE WHEN k.kind = 'short' THEN '' ELSE CAST(CAST(age AS INTEGER) AS TEXT) END
    FROM sig, (SELECT 'short' AS kind UNION ALL SELECT 'age') AS k
    WHERE sig.kind = 'workspace_deleted' AND typeof(age) IN ('integer', 'real')
      AND age < {classify.SHORT_LIVED_S}
)
"""


def _seen_sources(skip: str) -> str:
    """An INSERT of every (day, kind, key, session, n, first, last) the ``seen`` table counts
    into ``temp.rollup_seen_rows``, from the chunk's :data:`EXTRA_SQL` rows (failures,
    templates and signals are all among them), the day as its number and the times as whole
    milliseconds (named as text once per row of ``rollup_seen``, by :func:`_fold_seen`, which
    adds up the rows of one (day, kind, key)). Failures and templates are first grouped by
    their string ids (whole numbers compare faster than text), then named."""
    kinds = _quoted(list(KINDS_WITH_SESSIONS))
    where = f"WHERE e.id > :low AND e.id <= :end {skip.replace('id', 'e.id')}"
    return (
        f"{_SIGNALS.format(skip=skip.replace('id', 'e.id'))} "
        "INSERT INTO temp.rollup_seen_rows "
        "SELECT day, 'error', coalesce((SELECT value FROM strings WHERE id = category), :none), "
        "(SELECT value FROM strings WHERE id = session), n, first_ms, last_ms FROM ("
        f"SELECT {day_number_sql('e.at_ms')} AS day, e.error_category AS category, "
        "e.session_id AS session, count(*) AS n, min(e.at_ms) AS first_ms, "
        f"max(e.at_ms) AS last_ms FROM temp.rollup_extra AS e {where} AND e.success IS 0 "
        "GROUP BY 1, 2, 3) "
        "UNION ALL SELECT day, 'template', (SELECT value FROM strings WHERE id = template), NULL, "
        f"n, first_ms, last_ms FROM (SELECT {day_number_sql('e.at_ms')} AS day, "
        "e.template_used AS template, count(*) AS n, min(e.at_ms) AS first_ms, "
        f"max(e.at_ms) AS last_ms FROM temp.rollup_extra AS e {where} "
        "AND e.template_used IS NOT NULL GROUP BY 1, 2) "
        f"UNION ALL SELECT day, kind, key, CASE WHEN kind IN ({kinds}) THEN session END, 1, ts, ts "
        "FROM found"
    )


def merge_sessions(old: str, new: str) -> str:
    """The smallest SESSIONS_KEPT session ids of two ``sessions`` JSON arrays."""
    merged = sorted(set(json.loads(old)) | set(json.loads(new)))[:SESSIONS_KEPT]
    return sessions_json(merged)


def register_merges(conn: sqlite3.Connection) -> None:
    """The SQL function :data:`MERGES` calls, on ``conn``."""
    conn.create_function("rollup_merge_sessions", 2, merge_sessions, deterministic=True)


def _group(db: Db, low: int, end: int, skip: str) -> bool:
    """One pass over the events: per (day, command, bucket, interactive), every figure of
    rollup_commands and rollup_durations, in ``temp.rollup_groups`` (each table then sums the
    groups it needs). Returns whether every event's session id is in ``strings``: the session
    of a group that holds an event whose id is not is NULL (SQL's min() of a NULL is NULL)."""
    conn = db.conn
    conn.execute(_GROUPS_TABLE)
    conn.execute("DELETE FROM temp.rollup_groups")
    conn.execute(
        _named(
            f"INSERT INTO temp.rollup_groups SELECT {day_number_sql('at_ms')}, "
            f"coalesce(command, {MISSING}), coalesce({bucket_sql(conn)}, {MISSING}), "
            f"{_INTERACTIVE_FLAG}, 1, success IS 1, success IS 0, at_ms, "
            "at_ms, ss.value, duration_ms, duration_ms "
            "FROM event_rows AS e LEFT JOIN strings AS ss ON ss.id = e.session_id "
            f"WHERE e.id > ? AND e.id <= ? {skip.replace('id', 'e.id')} {_UPSERT_GROUPS}"
        ),
        {"low": low, "end": end},
    )
    missing = "SELECT 1 FROM temp.rollup_groups WHERE session_id IS NULL LIMIT 1"
    return conn.execute(missing).fetchone() is None


def _grouped_all(db: Db, low: int, end: int, skip: str) -> None:
    """Group the chunk's events; an event whose session id is missing from ``strings`` (a
    damaged database) is moved into quarantine first."""
    if _group(db, low, end, skip):
        return
    bad: dict[int, tuple[str, str | None]] = {
        int(row[0]): ("not a valid events row", None)
        for row in db.execute(
            f"SELECT id FROM event_rows WHERE {RANGE} AND NOT {quarantine.VALID_ROW_SQL}",
            [low, end],
        )
    }
    quarantine.move_events(db.conn, bad)
    forget(db, bad)
    _group(db, low, end, skip)


def fold_range(db: Db, low: int, end: int) -> tuple[int, Accumulator, str | None]:
    """Add the events ``(low, end]`` to the roll-up tables, after moving those of a shape they
    cannot take into quarantine. Returns how many events SQL folded, the Accumulator holding the
    rows SQL leaves to Python (its ``rejected`` rows are still in ``events``; the caller moves them
    and writes its figures) and the earliest day folded."""
    conn, span = db.conn, [low, end]
    odd = copy_and_check(db, low, end)
    skip = odd.skip
    _grouped_all(db, low, end, skip)
    # counts.* are read from the rows that hold counts, grouped by the day's number and the
    # command's string id, each named once per group.
    counted = {
        (day, command): (created, completed)
        for day, command, created, completed in conn.execute(
            f"SELECT {day_text_sql('day')}, coalesce((SELECT value FROM strings "
            "WHERE id = command), :none), created, completed FROM ("
            f"SELECT {day_number_sql('at_ms')} AS day, command, "
            f"sum({_count_sql('workspaces_created')}) AS created, "
            f"sum({_count_sql('tasks_completed')}) AS completed "
            f"FROM temp.rollup_extra WHERE raw_data IS NOT NULL {skip} "
            "AND instr(raw_data, '\"counts\"') > 0 GROUP BY 1, 2)",
            {"none": NONE},
        )
    }
    commands = [
        (day, command, n, ok, failed, *counted.get((day, command), (0, 0)))
        for day, command, n, ok, failed in conn.execute(
            f"SELECT {day_text_sql('day')}, coalesce((SELECT value FROM strings "
            "WHERE id = command), ?), sum(n), sum(ok), sum(failed) FROM temp.rollup_groups "
            "GROUP BY day, command",
            [NONE],
        )
    ]
    conn.executemany(
        f"INSERT INTO rollup_commands VALUES (?, ?, ?, ?, ?, ?, ?) {MERGES['rollup_commands']}",
        commands,
    )
    conn.execute(
        f"INSERT INTO rollup_durations SELECT {day_text_sql('g.day')}, c.value, g.bucket, g.n, "
        "g.first_ms, g.last_ms, g.session_id, g.lo, g.hi "
        "FROM temp.rollup_groups AS g "
        "JOIN strings AS c ON c.id = g.command WHERE typeof(g.bucket) = 'integer' "
        f"AND NOT g.interactive AND c.value NOT IN ({_ALWAYS}) "
        f"{MERGES['rollup_durations']}"
    )
    _fold_seen(db, low, end, skip)
    acc = Accumulator(reject=quarantine.counts_problem)
    if skip:
        acc.add_all(conn.execute(f"{EVENT_SELECT} WHERE {RANGE} {odd.only}", span))
    days = [row[0] for row in commands] + [day for day, _ in acc.commands]
    return sum(row[2] for row in commands), acc, min(days, default=None)


def _named(sql: str) -> str:
    """``sql`` with its ``?`` placeholders numbered for (low, end) pairs: ``:low``/``:end``."""
    parts = sql.split("?")
    out = parts[0]
    for i, part in enumerate(parts[1:]):
        out += (":low" if i % 2 == 0 else ":end") + part
    return out


def _fold_seen(db: Db, low: int, end: int, skip: str) -> None:
    """The ``seen`` figures of ``(low, end]``: counts, first and last per (day, kind, key) and
    the smallest SESSIONS_KEPT sessions (a JSON array, in order) of the kinds that keep them
    (:func:`merge_sessions`, once per row that has any: most rows, of the kinds that keep none,
    have none, and a Python call each cost half of the statement). The rows are gathered into a
    temporary table first (grouping them there costs less than grouping the compound query that
    finds them)."""
    db.execute(
        "CREATE TEMP TABLE IF NOT EXISTS rollup_seen_rows "
        "(day, kind, key, session, n, first_ms, last_ms)"
    )
    db.execute("DELETE FROM temp.rollup_seen_rows")
    db.execute(_named(_seen_sources(skip)), {"low": low, "end": end, "none": NONE})
    register_merges(db.conn)
    db.execute(
        f"INSERT INTO rollup_seen SELECT {day_text_sql('day')}, kind, key, sum(n), "
        f"{text_sql('min(first_ms)')}, {text_sql('max(last_ms)')}, "
        "CASE WHEN count(session) = 0 THEN '[]' ELSE rollup_merge_sessions(json_group_array("
        "session) FILTER (WHERE session IS NOT NULL), '[]') END "
        "FROM temp.rollup_seen_rows WHERE true GROUP BY day, kind, key "
        f"{MERGES['rollup_seen']}"
    )


# Retry pairs of every session, up to an event id: the event after a failure is the first (in
# (time, id) order) with a later time in its session (rollup_fold.retry_pairs); only the next
# RETRY_WITHIN_S are searched (a later next event makes no pair), through the window index.
RETRIES_SQL = f"""
SELECT f.id, sf.value, {text_sql("f.at_ms")}, cf.value,
       (SELECT value FROM strings WHERE id = f.error_category), {text_sql("n.at_ms")}
FROM event_rows AS f
JOIN event_rows AS n ON n.id = (
    SELECT id FROM event_rows WHERE at_ms > f.at_ms
    AND at_ms <= f.at_ms + {classify.RETRY_WITHIN_S * 1000}
    AND session_id = f.session_id AND id <= :top ORDER BY at_ms, id LIMIT 1)
JOIN strings AS sf ON sf.id = f.session_id
JOIN strings AS cf ON cf.id = f.command
WHERE f.id <= :top AND f.success IS 0 AND f.command IS NOT NULL AND n.command = f.command
"""


def add_retry_rows(conn: sqlite3.Connection, top: int) -> None:
    """Add every retry pair among the events with ``id <= top`` to ``rollup_retries`` (one
    statement: the rows never pass through Python)."""
    conn.execute(f"INSERT OR REPLACE INTO rollup_retries {RETRIES_SQL}", {"top": top})
