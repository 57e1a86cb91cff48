"""What `nexus doctor` says about the telemetry fold and the caches, and what ``--fix`` repairs.

Roll-ups and caches are disposable (the readers rebuild them when they fail to parse), and the
fold puts aside the records it cannot take (:mod:`nexus_cli.telemetry.db.quarantine`); these
checks say so before a command stumbles on them:

* ``telemetry:quarantine`` — records and events kept aside, per reason (nothing to repair: they
  are kept for a person to look at; ``nexus telemetry purge`` deletes them with the rest);
* ``telemetry:rollups`` — roll-up marks that are not numbers, roll-up or cache rows of the wrong
  shape; ``--fix`` rebuilds the roll-ups from the events and empties their cache;
* ``cache:yaml`` — YAML cache entries that do not parse (or are not files); ``--fix`` removes
  them (the next read parses the YAML again).

Every check reads only (the telemetry database read-only); none raises.
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import sqlite3
import stat
from collections.abc import Callable
from typing import TypeVar

from nexus_cli import paths, sqlite_open
from nexus_cli.doctor.result import Check
from nexus_cli.errors import NexusError
from nexus_cli.plural import plural
from nexus_cli.telemetry.db import quarantine, rollup_marks, rollups, store
from nexus_cli.terminal import escape

T = TypeVar("T")
FIX = "run `nexus doctor --fix`"
# Rows of each roll-up table that are not of the shape the fold writes.
_BAD_ROLLUP_ROWS = {
    "rollup_commands": "NOT (typeof(n) = 'integer' AND typeof(ok) = 'integer' "
    "AND typeof(failed) = 'integer' AND typeof(created) = 'integer' "
    "AND typeof(completed) = 'integer')",
    "rollup_durations": "NOT (typeof(n) = 'integer' AND typeof(bucket) = 'integer' "
    "AND typeof(first_ms) = 'integer' AND typeof(last_ms) = 'integer' "
    "AND typeof(session_id) = 'text' AND typeof(lo) IN ('integer', 'real') "
    "AND typeof(hi) IN ('integer', 'real'))",
    "rollup_seen": "NOT (typeof(n) = 'integer' AND typeof(first_ts) = 'text' "
    "AND typeof(last_ts) = 'text' AND json_valid(sessions) "
    "AND CASE WHEN json_valid(sessions) THEN json_type(sessions) = 'array' ELSE 0 END)",
    "rollup_cache": "NOT json_valid(value)",
}


def _telemetry_db() -> str:
    return os.path.join(paths.nexus_home_str(), paths.TELEMETRY_DB)


def _read(path: str, read: Callable[[sqlite3.Connection], T]) -> T | None:
    """``read(conn)`` on the database read-only; None when there is none (or it cannot be read:
    the ``db:telemetry`` check reports that)."""
    if not os.path.exists(path):
        return None
    try:
        conn = sqlite_open.open_read_only(path)
    except (sqlite3.Error, OSError, NexusError):
        return None
    try:
        return read(conn)
    except sqlite3.Error:
        return None
    finally:
        conn.close()


def check_quarantine() -> Check:
    def read(conn: sqlite3.Connection) -> Check:
        found = quarantine.summary(conn)
        if not found["total"]:
            return Check("telemetry:quarantine", "ok", "no record put aside", False)
        reasons = "; ".join(
            f"{escape(r['reason'])} ({r['source']}) {r['count']}" for r in found["reasons"]
        )
        return Check(
            "telemetry:quarantine",
            "warn",
            f"{plural(found['total'], 'record')} the fold could not take, skipped and kept "
            f"aside ({found['kept']} whole in the quarantine table): {reasons}",
            False,
            "nothing to repair: every other record was stored; look at them with "
            f"`sqlite3 {_telemetry_db()} 'SELECT * FROM quarantine'`; "
            "`nexus telemetry purge` deletes them with the rest",
        )

    return _read(_telemetry_db(), read) or _unread("telemetry:quarantine", "no record put aside")


def rollup_problems(conn: sqlite3.Connection) -> list[str]:
    """What is wrong with the roll-ups of ``conn`` (empty: nothing)."""
    names = {r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type = 'table'")}
    problems = []
    if "maintenance" in names:
        for key in (rollup_marks.MARK_KEY, rollup_marks.GENERATION_KEY):
            row = conn.execute("SELECT value FROM maintenance WHERE key = ?", [key]).fetchone()
            try:
                int(row[0]) if row else 0
            except (TypeError, ValueError):
                problems.append(f"the {key} mark is not a number")
    for table, bad in _BAD_ROLLUP_ROWS.items():
        if table in names:
            count = conn.execute(f"SELECT count(*) FROM {table} WHERE {bad}").fetchone()[0]
            if count:
                problems.append(f"{plural(count, 'damaged row')} in {table}")
    return problems


def check_rollups() -> Check:
    def read(conn: sqlite3.Connection) -> Check:
        problems = rollup_problems(conn)
        if not problems:
            return Check("telemetry:rollups", "ok", "roll-ups and their cache parse", False)
        return Check(
            "telemetry:rollups",
            "warn",
            "; ".join(problems) + " (reads rebuild them; they are rebuilt from the events)",
            False,
            f"{FIX} (rebuilds the roll-ups from the events)",
        )

    return _read(_telemetry_db(), read) or _unread("telemetry:rollups", "no telemetry database yet")


def _unread(name: str, nothing: str) -> Check:
    """The check of a database :func:`_read` found nothing in: there is none yet (``nothing``),
    or it cannot be read, which ``db:telemetry`` reports (not said twice, nor as "none yet")."""
    if os.path.exists(_telemetry_db()):
        return Check(
            name, "ok", "not looked at: the database cannot be read (see db:telemetry)", False
        )
    return Check(name, "ok", nothing, False)


def _yaml_dir() -> str:
    return os.path.join(paths.cache_dir_str(), "yaml")


def damaged_yaml_entries() -> list[str]:
    """The YAML cache entries that are not regular files holding one JSON object with data."""
    folder = _yaml_dir()
    try:
        names = sorted(os.listdir(folder))
    except OSError:
        return []
    bad = []
    for name in names:
        path = os.path.join(folder, name)
        try:
            if not stat.S_ISREG(os.lstat(path).st_mode):
                bad.append(path)
                continue
            with open(path, encoding="utf-8") as fh:
                entry = json.load(fh)
        except (OSError, ValueError, RecursionError):
            bad.append(path)
            continue
        if not isinstance(entry, dict) or "data" not in entry or "mac" not in entry:
            bad.append(path)
    return bad


def check_yaml_cache() -> Check:
    bad = damaged_yaml_entries()
    if not bad:
        return Check("cache:yaml", "ok", _yaml_dir(), False)
    return Check(
        "cache:yaml",
        "warn",
        f"{plural(len(bad), 'damaged entry', 'damaged entries')} in {_yaml_dir()} (a miss: the "
        "YAML is parsed again)",
        False,
        f"{FIX} (removes them)",
    )


CHECKS: list[Callable[[], Check]] = [check_quarantine, check_rollups, check_yaml_cache]


def repair() -> list[str]:
    """Repair what can be: rebuild damaged roll-ups, remove damaged cache entries. Returns one
    line per repair made; a repair that fails is said in its line, never raised."""
    done = []
    if _read(_telemetry_db(), rollup_problems):
        try:
            with store.migrated() as db:
                with db.atomic():
                    db.execute("DELETE FROM rollup_cache")
                    db.execute(
                        "DELETE FROM maintenance WHERE key IN (?, ?)",
                        [rollup_marks.MARK_KEY, rollup_marks.GENERATION_KEY],
                    )
                result = rollups.rebuild(db)
            done.append(f"telemetry:rollups: rebuilt from {plural(result['events'], 'event')}")
        except NexusError as exc:
            done.append(f"telemetry:rollups: not rebuilt: {exc.message}")
    removed = 0
    for path in damaged_yaml_entries():
        with contextlib.suppress(OSError):
            if os.path.isdir(path) and not os.path.islink(path):
                shutil.rmtree(path)
            else:
                os.unlink(path)
            removed += 1
    if removed:
        done.append(f"cache:yaml: removed {plural(removed, 'damaged entry', 'damaged entries')}")
    return done
