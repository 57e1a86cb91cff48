"""Which events of a chunk need more than counting, and which cannot be folded at all.

:func:`copy_and_check` copies the rows of a chunk that need more than a count and a duration
bucket (raw data, failures, templates, a bad shape: :data:`EXTRA_SQL`) into a temporary table,
moves into quarantine those the roll-ups cannot take (a bad shape, counts that are not counts,
a session whose string is not text), and returns the conditions that leave out (and keep) the
rows SQLite's JSON functions could read differently from Python (:class:`Odd`), which the
Accumulator folds instead (:func:`rollup_sql.fold_range`). The signals of the rows that name a
kind the roll-ups count are read once, into a second temporary table: what makes a row odd is
found there, and the ``seen`` figures read them from there too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from nexus_cli.telemetry.db import quarantine
from nexus_cli.telemetry.db.handle import Db

RANGE = "id > ? AND id <= ?"
_BIG = 2**53  # beyond it SQLite and Python may turn a JSON number into different text


# Rows whose raw_data SQLite's JSON functions could read differently from Python's json module
# are folded by the Accumulator instead (exactly as before); Nexus itself never writes such rows.
# ODD_TEXT_SQL finds those not text or with an escape (a kind spelt with one has a backslash);
# the others are found among the chunk's signals (SIGNALS_ODD_SQL): numbers matter only in the
# signals the roll-ups read.
ODD_TEXT_SQL = (
    "(raw_data IS NOT NULL AND (typeof(raw_data) != 'text' OR instr(raw_data, '\\') > 0))"
)

# The signals of the chunk's rows that name a kind the roll-ups count (every object of their
# `signals` array: any of them can make the row odd), read once, with the fields the ``seen``
# figures read as SQLite reads them. A port or an age is a number (or true or false, which SQLite
# reads as 1 or 0, as Python does) exactly when SQLite reads it as a whole or real number; a
# reason hash needs its JSON type (an object and a string both read as text).
_SIGNALS_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS rollup_signals "
    "(id, at_ms, session_id, kind, port, reason_type, reason, age)"
)
_SIGNALS_SQL = f"""
INSERT INTO temp.rollup_signals
SELECT e.id, e.at_ms, e.session_id, json_extract(s.value, '$.kind'),
       json_extract(s.value, '$.port'), json_type(s.value, '$.reason_hash'),
       json_extract(s.value, '$.reason_hash'), json_extract(s.value, '$.age_s')
FROM temp.rollup_extra AS e, json_each(e.raw_data, '$.signals') AS s
WHERE e.raw_data IS NOT NULL AND NOT {ODD_TEXT_SQL.replace("raw_data", "e.raw_data")}
  AND instr(e.raw_data, '"signals"') > 0
  AND (instr(e.raw_data, '"port_conflict"') > 0 OR instr(e.raw_data, '"task_rejected"') > 0
       OR instr(e.raw_data, '"workspace_deleted"') > 0)
  AND json_type(e.raw_data, '$.signals') = 'array' AND s.type = 'object'
"""


def _big(field: str) -> str:
    return f"(typeof({field}) IN ('integer', 'real') AND abs({field}) > {_BIG})"


# The rows with a signal whose reason hash is not text or a whole number, or whose number
# (reason hash, port, age) lies beyond 2**53.
SIGNALS_ODD_SQL = (
    "SELECT DISTINCT id FROM temp.rollup_signals WHERE reason_type IN ('real', 'object', 'array') "
    f"OR (reason_type = 'integer' AND abs(reason) > {_BIG}) OR {_big('port')} OR {_big('age')}"
)


def _counter_bad(key: str) -> str:
    path = f"'$.counts.{key}'"
    return (
        f"(json_type(raw_data, {path}) IS NOT NULL AND NOT (json_type(raw_data, {path}) = "
        f"'integer' AND json_extract(raw_data, {path}) BETWEEN 0 AND {quarantine.MAX_COUNT - 1}))"
    )


# quarantine.counts_problem in SQL: why a row's counts cannot be added (NULL: they can).
COUNTS_PROBLEM_SQL = (
    "CASE WHEN raw_data IS NULL OR instr(raw_data, '\"counts\"') = 0 "
    "OR coalesce(json_type(raw_data, '$.counts'), 'null') = 'null' THEN NULL "
    "WHEN json_type(raw_data, '$.counts') != 'object' THEN 'raw_data: counts is not an object' "
    + "".join(
        f"WHEN {_counter_bad(key)} THEN 'raw_data: counts.{key} is not a count' "
        for key in quarantine.COUNTERS
    )
    + "END"
)


# The rows of a chunk that need more than counting and a duration bucket, copied once into a
# temporary table that the checks, counts and ``seen`` figures then read (a third of the events,
# instead of a pass over all of them each): rows with raw data, failures, templates, and rows of
# a shape the roll-ups cannot take (quarantine.VALID_ROW_SQL).
_EXTRA_TABLE = (
    "CREATE TEMP TABLE IF NOT EXISTS rollup_extra (id INTEGER PRIMARY KEY, at_ms, "
    "session_id, command, duration_ms, success, error_category, template_used, raw_data)"
)
_SHAPE_OK = (
    f"{quarantine.VALID_TIME_SQL} "
    "AND typeof(duration_ms) IN ('integer', 'null') AND typeof(success) IN ('integer', 'null')"
)
EXTRA_SQL = (
    "INSERT INTO temp.rollup_extra SELECT id, at_ms, session_id, command, duration_ms, "
    "success, error_category, template_used, raw_data FROM event_rows "
    f"WHERE {RANGE} AND (raw_data IS NOT NULL OR success IS 0 "
    f"OR template_used IS NOT NULL OR NOT ({_SHAPE_OK}) {{sessions}})"
)


_BAD, _ODD = "bad", "odd"  # the flags of _extra (no reason of COUNTS_PROBLEM_SQL is either)


def copy_and_check(db: Db, low: int, end: int) -> Odd:
    """Copy the chunk's :data:`EXTRA_SQL` rows into ``temp.rollup_extra`` and check them in one
    pass: rows of a shape the roll-ups cannot take (what ``VALID_ROW_SQL`` finds, but for a
    session id missing from ``strings``: :func:`_grouped_all`) and rows whose counts cannot be
    added are moved into quarantine (what the Accumulator's ``reject`` does one row at a time);
    then read the signals of the rows left into ``temp.rollup_signals``; returns the rows left
    to the Accumulator (:data:`ODD_TEXT_SQL`, :data:`SIGNALS_ODD_SQL`)."""
    for table in (_EXTRA_TABLE, _SIGNALS_TABLE):
        db.execute(table)
    db.execute("DELETE FROM temp.rollup_extra")
    db.execute("DELETE FROM temp.rollup_signals")
    bad_sessions = _strings_not_text(db)
    sessions = f"OR session_id IN ({', '.join(map(str, bad_sessions))})" if bad_sessions else ""
    db.execute(EXTRA_SQL.format(sessions=sessions), [low, end])
    # CASE evaluates lazily: the JSON of a row that is not valid JSON is never read
    flag = (
        f"CASE WHEN NOT ({_SHAPE_OK} AND (raw_data IS NULL OR json_valid(raw_data))) {sessions} "
        f"THEN '{_BAD}' WHEN raw_data IS NULL THEN NULL WHEN {ODD_TEXT_SQL} THEN '{_ODD}' "
        f"ELSE {COUNTS_PROBLEM_SQL} END"
    )
    moved: dict[int, tuple[str, str | None]] = {}
    odd: list[int] = []
    for event_id, why in db.execute(
        f"SELECT id, flag FROM (SELECT id, {flag} AS flag FROM temp.rollup_extra) "
        "WHERE flag IS NOT NULL"
    ):
        if why == _ODD:
            odd.append(int(event_id))
        else:
            moved[int(event_id)] = ("not a valid events row" if why == _BAD else str(why), None)
    if moved:
        quarantine.move_events(db.conn, moved)
        forget(db, moved)
    db.execute(_SIGNALS_SQL)
    odd.extend(int(row[0]) for row in db.execute(SIGNALS_ODD_SQL))
    return _skip(db, odd)


# The strings whose value is not text (a damaged database), and how far ``strings`` was looked
# at: a fold looks at every string once (:func:`forget_strings_checked` at its start), then at
# each chunk only at those added since (Nexus only ever adds strings).
_STRINGS_CHECKED = (
    "CREATE TEMP TABLE IF NOT EXISTS rollup_strings_checked (id INTEGER PRIMARY KEY, bad)"
)


def _strings_not_text(db: Db) -> list[int]:
    """The ids of the strings whose value is not text."""
    db.execute(_STRINGS_CHECKED)
    db.execute(
        "INSERT INTO temp.rollup_strings_checked SELECT id, typeof(value) != 'text' FROM strings "
        "WHERE id > (SELECT coalesce(max(id), 0) FROM temp.rollup_strings_checked) "
        "AND (typeof(value) != 'text' OR id = (SELECT max(id) FROM strings))"
    )
    return [int(r[0]) for r in db.execute("SELECT id FROM temp.rollup_strings_checked WHERE bad")]


def forget_strings_checked(db: Db) -> None:
    """Look at every string again at the next chunk (a new fold)."""
    db.execute("DROP TABLE IF EXISTS temp.rollup_strings_checked")


def forget(db: Db, ids: dict[int, Any]) -> None:
    """Leave the rows ``ids`` (moved into quarantine) out of the chunk's copy."""
    for table in ("rollup_extra", "rollup_signals"):
        db.conn.executemany(f"DELETE FROM temp.{table} WHERE id = ?", ((i,) for i in ids))


@dataclass(frozen=True)
class Odd:
    """The chunk's rows SQL leaves to the Accumulator, as conditions on ``id``: ``skip`` leaves
    them out ("" when there are none, as usual), ``only`` keeps nothing else."""

    skip: str = ""
    only: str = "AND 0"


def _skip(db: Db, ids: list[int]) -> Odd:
    """The odd rows ``ids`` as conditions (larger sets go into a temporary table)."""
    if not ids:
        return Odd()
    if len(ids) <= 1000:
        listed = ", ".join(str(int(i)) for i in ids)
        return Odd(f"AND id NOT IN ({listed})", f"AND id IN ({listed})")
    db.execute("CREATE TEMP TABLE IF NOT EXISTS rollup_odd (id INTEGER PRIMARY KEY)")
    db.execute("DELETE FROM temp.rollup_odd")
    db.conn.executemany("INSERT INTO temp.rollup_odd VALUES (?)", ((i,) for i in ids))
    return Odd("AND id NOT IN temp.rollup_odd", "AND id IN temp.rollup_odd")
