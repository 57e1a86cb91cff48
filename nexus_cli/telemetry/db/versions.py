"""The numbered migrations of ``telemetry.db`` (run by :mod:`nexus_cli.migrations`, counted in
``PRAGMA user_version``), and the steps two of them take before their transaction.

A migration is never renamed, reordered or changed, and each keeps the columns the fold writes;
a schema change is a new function at the end. m011 and m012 move every event: before each, its
rows are moved in chunks that each commit (:func:`copy_events`, :func:`convert_times`, with
:mod:`nexus_cli.telemetry.db.upgrade`), so an interrupted upgrade goes on where it stopped and the
previous Nexus still reads the database meanwhile. :mod:`nexus_cli.telemetry.db.store` decides when
they run, with the lock and the progress bar.

Databases made before this runner were migrated by sqlite-utils: ``user_version`` 1 for the base
schema and the names of the later migrations in ``_sqlite_migrations``. The first open takes
those records over (:func:`take_over_sqlite_utils_records`): nothing already applied runs again;
the old table is left in place, unused.
"""

from __future__ import annotations

import sqlite3

from nexus_cli import migrations
from nexus_cli.telemetry.db import agent_usage, progress, quarantine, rollups, schema, upgrade
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.journal import privacy


def m001_base_schema(conn: sqlite3.Connection) -> None:
    # The seed's events, sessions and patterns tables: what the journal fold writes into.
    script(conn, schema.BASE_SCHEMA)


def m002_events_window_index(conn: sqlite3.Connection) -> None:
    # A covering index: windowed aggregates (stats, insights, dashboard) read only the index
    # range of their window, so their cost does not grow with older history.
    conn.execute(
        "CREATE INDEX IF NOT EXISTS events_window ON events "
        "(timestamp, command, duration_ms, success, error_category, session_id)"
    )


def m003_pattern_key(conn: sqlite3.Connection) -> None:
    # Insights upsert patterns by a stable key, so first_seen survives re-detection.
    conn.execute("ALTER TABLE patterns ADD COLUMN pattern_key TEXT")
    conn.execute("ALTER TABLE patterns ADD COLUMN pattern_group TEXT")
    conn.execute("CREATE UNIQUE INDEX IF NOT EXISTS patterns_key ON patterns (pattern_key)")


def m004_sync_marks(conn: sqlite3.Connection) -> None:
    # The sync high-water mark, one row per destination (protocol + URL).
    conn.execute(
        "CREATE TABLE IF NOT EXISTS sync_marks (destination TEXT PRIMARY KEY, "
        "last_event_id INTEGER NOT NULL DEFAULT 0, last_sync_at TEXT, "
        "events_sent INTEGER NOT NULL DEFAULT 0)"
    )


def m005_maintenance(conn: sqlite3.Connection) -> None:
    # When retention last ran, so reads prune at most once a day.
    conn.execute("CREATE TABLE IF NOT EXISTS maintenance (key TEXT PRIMARY KEY, value TEXT)")


def m006_events_session_index(conn: sqlite3.Connection) -> None:
    # Retry detection looks up the event that followed each failure in its session.
    conn.execute("CREATE INDEX IF NOT EXISTS events_session_time ON events (session_id, timestamp)")


def m007_rollups(conn: sqlite3.Connection) -> None:
    # Per-day aggregates for stats, insights and the dashboard (rollups.py). They start empty
    # with mark 0: the first read builds them (with a progress bar on a terminal).
    script(conn, rollups.SCHEMA)


def m008_rollup_cache(conn: sqlite3.Connection) -> None:
    # Merged past days of the roll-ups, per day range (query/day_cache.py).
    conn.execute(
        "CREATE TABLE IF NOT EXISTS rollup_cache (key TEXT PRIMARY KEY, "
        "generation INTEGER NOT NULL, value TEXT NOT NULL)"
    )


def m009_quarantine(conn: sqlite3.Connection) -> None:
    # Journal records and events a fold cannot take, kept aside (quarantine.py).
    conn.execute(quarantine.SCHEMA)


def m010_agent_usage(conn: sqlite3.Connection) -> None:
    # Tokens coding agents spent (`nexus telemetry ingest`, `telemetry receive`) and how far
    # each agent log was read (agent_usage.py); counts and hashes only.
    for statement in agent_usage.SCHEMA:
        conn.execute(statement)


def m011_compact_events(conn: sqlite3.Connection) -> None:
    # Repeated strings once (schema.INTERNED into `strings`), `events` a view over `event_rows`,
    # and only the indexes a read uses: about half the bytes per event. The rows were copied
    # before, in chunks that each commit (copy_events, so an interrupted upgrade goes on where
    # it stopped); this copies what is left (all of a small database, or what an older Nexus
    # recorded since, again what it purged and recorded anew: upgrade.finish) and swaps the
    # tables, in the one transaction every migration runs in.
    script(conn, schema.COMPACT_TABLES)
    script(conn, schema.COMPACT_INDEXES)
    upgrade.finish(conn, upgrade.COPY, upgrade.copy_range, upgrade.copy_where)
    conn.execute("DROP TABLE events")  # and its four indexes
    script(conn, schema.COMPACT_VIEW)


def m012_event_times(conn: sqlite3.Connection) -> None:
    # The event time as whole UTC milliseconds (`event_rows.at_ms`, schema.TIMED_TABLE) instead
    # of 23 characters of text, in the table and its index: about 36 bytes less per event, and
    # whole-number comparisons for the window reads and the roll-up fold; the `events` view
    # shows the same text as before. The rows were converted before, in chunks that each commit
    # (convert_times); this converts what is left (all of a small database, or what an older
    # Nexus recorded since, again what it purged and recorded anew: upgrade.finish), then swaps
    # the tables, in the one transaction of the migrations.
    script(conn, schema.TIMED_TABLE)
    script(conn, schema.TIMED_INDEX)
    upgrade.finish(conn, upgrade.CONVERT, upgrade.convert_range, upgrade.convert_where)
    conn.execute("DROP VIEW events")  # and its triggers
    conn.execute("DROP TABLE event_rows")  # and its index
    conn.execute("ALTER TABLE event_rows_ms RENAME TO event_rows")
    script(conn, schema.TIMED_VIEWS)


def times_pending(conn: sqlite3.Connection) -> bool:
    """Whether m012_event_times is the migration to run next (the compact layout of m011)."""
    return migrations.version(conn) == COMPACTED_AT


def convert_times(conn: sqlite3.Connection, tick: progress.Tick) -> None:
    """Before m012_event_times, outside its transaction: convert the events into
    ``event_rows_ms`` in chunks (:func:`upgrade.in_chunks`, as :func:`copy_events` does for
    m011): until m012 runs the previous Nexus still reads and writes ``event_rows``."""
    script(conn, schema.TIMED_TABLE)  # autocommit: each statement commits
    script(conn, schema.TIMED_INDEX)
    upgrade.in_chunks(conn, tick, upgrade.CONVERT, upgrade.convert_range)


def copy_pending(conn: sqlite3.Connection) -> bool:
    """Whether m011_compact_events is still to run on a database with an ``events`` table."""
    if not 1 <= migrations.version(conn) < COMPACTED_AT:
        return False
    kind = conn.execute("SELECT type FROM sqlite_master WHERE name = 'events'").fetchone()
    return kind is not None and kind[0] == "table"


def m013_sync_marks_hashed(conn: sqlite3.Connection) -> None:
    # A sync mark was kept under the destination as configured, the URL's credentials in the
    # clear (and so in every `export --sql`): each key becomes its salted hash
    # (privacy.sync_mark_key), the old text overwritten on disk (secure_delete).
    conn.execute("PRAGMA secure_delete = ON")
    rows = conn.execute(
        "SELECT destination FROM sync_marks WHERE destination NOT LIKE ?",
        [f"{privacy.SYNC_MARK_PREFIX}%"],
    ).fetchall()
    for (destination,) in rows:
        conn.execute(
            "UPDATE OR REPLACE sync_marks SET destination = ? WHERE destination = ?",
            [privacy.sync_mark_key(str(destination)), destination],
        )
    conn.execute("PRAGMA secure_delete = OFF")


def m014_duration_times(conn: sqlite3.Connection) -> None:
    # rollup_durations keeps each bucket's first and last time as whole UTC milliseconds
    # (first_ms, last_ms), like event_rows.at_ms, instead of 23 characters of text each: the
    # fold no longer names two times per row it writes, and the rows are smaller. The rows are
    # converted in place; when one does not hold two valid times (a damaged table) the roll-ups
    # are dropped instead, and the next read builds them again (they are derived data). A
    # database m007 made in this version's shape has nothing to convert.
    columns = {row[1] for row in conn.execute("PRAGMA table_info(rollup_durations)")}
    if "first_ts" not in columns:
        return
    conn.execute("ALTER TABLE rollup_durations RENAME TO rollup_durations_text")
    script(conn, rollups.DURATIONS_TABLE)
    # A time converts when its milliseconds give that very text back (schema.ms_sql's check,
    # with the milliseconds computed once per row: a third of the cost).
    exact = " AND ".join(
        f"typeof({text}) = 'text' AND length({text}) = 23 AND {schema.text_sql(ms)} IS {text}"
        for text, ms in (("first_ts", "f"), ("last_ts", "l"))
    )
    conn.execute(
        "WITH c AS MATERIALIZED (SELECT *, "
        f"{schema.unchecked_ms_sql('first_ts')} AS f, {schema.unchecked_ms_sql('last_ts')} AS l "
        "FROM rollup_durations_text) "
        "INSERT INTO rollup_durations SELECT day, command, bucket, n, f, l, session_id, lo, hi "
        f"FROM c WHERE {exact}"
    )
    # (counted: sqlite3 gives no rowcount for a statement that begins with WITH)
    converted = conn.execute("SELECT count(*) FROM rollup_durations").fetchone()[0]
    total = conn.execute("SELECT count(*) FROM rollup_durations_text").fetchone()[0]
    conn.execute("DROP TABLE rollup_durations_text")
    if converted != total:
        rollups.clear(Db(conn, ""))


def copy_events(conn: sqlite3.Connection, tick: progress.Tick) -> None:
    """Before m011_compact_events, outside its transaction: copy the events into the compact
    tables in chunks, each its own transaction (:func:`upgrade.in_chunks`). Interrupted (Ctrl-C,
    SIGTERM, a crash), the chunks done stay done and the next open goes on from the last one;
    until m011 runs, the old ``events`` table is untouched, so the previous Nexus still reads
    and writes it (what it adds, deletes or purges and records anew meanwhile, m011 takes over)."""
    script(conn, schema.COMPACT_TABLES)  # autocommit: each statement commits
    script(conn, schema.COMPACT_INDEXES)
    upgrade.in_chunks(conn, tick, upgrade.COPY, upgrade.copy_range)


MIGRATIONS = (
    m001_base_schema,
    m002_events_window_index,
    m003_pattern_key,
    m004_sync_marks,
    m005_maintenance,
    m006_events_session_index,
    m007_rollups,
    m008_rollup_cache,
    m009_quarantine,
    m010_agent_usage,
    m011_compact_events,
    m012_event_times,
    m013_sync_marks_hashed,
    m014_duration_times,
)
COMPACTED_AT = 11  # m011_compact_events
TIMED_AT = 12  # m012_event_times: the last of the migrations after which free pages are given back
LATEST = len(MIGRATIONS)

# What sqlite-utils recorded, in the set "nexus-telemetry", for migrations 2 to 9 above (it ran
# them under these names; user_version 1 then meant the base schema). m008_quarantine was only
# ever applied by development builds.
SQLITE_UTILS_SET = "nexus-telemetry"
SQLITE_UTILS_NAMES = (
    "m001_events_window_index",
    "m002_pattern_key",
    "m003_sync_marks",
    "m004_maintenance",
    "m005_events_session_index",
    "m006_rollups",
    "m007_rollup_cache",
    "m008_quarantine",
)


def script(conn: sqlite3.Connection, script: str) -> None:
    """Run ``script``'s statements one by one (``executescript`` would commit the migration);
    SQLite itself says where each ends (a ``;`` in a comment does not)."""
    statement = ""
    for line in script.splitlines(keepends=True):
        statement += line
        if sqlite3.complete_statement(statement):
            conn.execute(statement)
            statement = ""
    if statement.strip():
        raise ValueError(f"incomplete SQL statement: {statement.strip()[:60]!r}")


def take_over_sqlite_utils_records(conn: sqlite3.Connection) -> None:
    """Count, in ``user_version``, the migrations sqlite-utils applied to this database."""
    if migrations.version(conn) > 1:
        return
    try:
        rows = conn.execute(
            "SELECT name FROM _sqlite_migrations WHERE migration_set = ?", [SQLITE_UTILS_SET]
        )
        applied = {row[0] for row in rows}
    except sqlite3.OperationalError:  # no such table: never migrated by sqlite-utils
        return
    done = 0
    for name in SQLITE_UTILS_NAMES:  # applied in order, each in its own transaction
        if name not in applied:
            break
        done += 1
    conn.execute(f"PRAGMA user_version = {1 + done}")
