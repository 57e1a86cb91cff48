"""Realistic synthetic telemetry, for the benchmark, the tests and the demo's sample history.

    python -m nexus_cli.telemetry.db.synthetic --events 1000000 --days 365 [--db PATH]

Events come in sessions of a few dozen commands; durations follow log-normal distributions per
command (``workspace create`` slows down over the period); about 8% fail with realistic error
categories and signals (port conflicts on 3000, rejected tasks, short-lived workspaces,
retries right after a failure). Everything is written with one ``executemany`` per table in a
single transaction.
"""

from __future__ import annotations

import argparse
import json
import random
import sqlite3
import time
from collections.abc import Iterable, Iterator
from typing import Any

from nexus_cli import __version__, sqlite_open
from nexus_cli.telemetry.db import schema, store

# command: (weight, median ms, spread, event_type, error categories)
COMMANDS: dict[str, tuple[int, float, float, str, tuple[str, ...]]] = {
    "workspace create": (6, 6000, 0.5, "workspace", ("port_conflict", "docker_unavailable")),
    "workspace up": (5, 2500, 0.4, "workspace", ("port_conflict", "health_timeout")),
    "workspace list": (12, 90, 0.3, "workspace", ("docker_unavailable",)),
    "workspace delete": (4, 1200, 0.4, "workspace", ("not_found",)),
    "workspace shell": (5, 600000, 1.0, "workspace", ("docker_unavailable",)),
    "workspace logs": (3, 400, 0.5, "workspace", ("not_found",)),
    "task create": (6, 150, 0.3, "task", ("usage",)),
    "task complete": (6, 45000, 0.6, "task", ("gate_failed",)),
    "task list": (8, 80, 0.3, "task", ()),
    "task approve": (3, 200, 0.3, "task", ("not_found",)),
    "persona add": (2, 120, 0.3, "persona", ("config_invalid",)),
    "gpu monitor": (2, 900000, 0.8, "gpu", ()),
    "gpu impact": (2, 300, 0.5, "gpu", ()),
    "stats": (4, 140, 0.3, "telemetry", ("usage",)),
    "dashboard": (2, 200, 0.3, "telemetry", ()),
    "doctor": (2, 700, 0.3, "command", ()),
    "version": (3, 40, 0.2, "command", ()),
}
TEMPLATES = ("node-postgres", "python-postgres", "go-postgres", "bare")
REASONS = ("a1b2c3d4e5f6a7b8", "0f9e8d7c6b5a4938", "77aa88bb99cc00dd")


def _raw(command: str, ok: bool, category: str | None, rng: random.Random) -> str | None:
    data: dict[str, Any] = {}
    signals: list[dict[str, Any]] = []
    if category == "port_conflict":
        signals.append({"kind": "port_conflict", "port": rng.choice((3000, 3000, 3000, 5432))})
    if command == "task complete":
        signals.append(
            {
                "kind": "gate_run",
                "passed": ok,
                "exit_code": 0 if ok else 1,
                "duration_ms": rng.randint(2000, 40000),
                "timed_out": False,
            }
        )
    if command == "task approve" and ok:
        if rng.random() < 0.3:
            signals.append({"kind": "task_rejected", "reason_hash": rng.choice(REASONS)})
        else:
            signals.append(
                {"kind": "task_transition", "from_status": "review", "to_status": "done"}
            )
            data["counts"] = {"tasks_completed": 1}
    if command == "workspace delete" and ok:
        age = rng.choice((rng.randint(30, 590), rng.randint(3600, 864000)))
        signals.append({"kind": "workspace_deleted", "age_s": age})
    if command == "workspace create" and ok:
        data["counts"] = {"workspaces_created": 1}
    if command == "workspace logs" and rng.random() < 0.5:
        data["options"] = ["follow"]
    if signals:
        data["signals"] = signals
    return json.dumps(data, separators=(",", ":"), sort_keys=True) if data else None


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def generate(
    events: int, days: float, seed: int = 7, now: float | None = None
) -> Iterator[tuple[tuple[Any, ...] | None, tuple[Any, ...] | None]]:
    """Yield ``(event_row, None)`` per event and ``(None, session_row)`` per finished session."""
    rng = random.Random(seed)
    names = list(COMMANDS)
    weights = [COMMANDS[n][0] for n in names]
    end = now or time.time()
    start = end - days * 86400
    gap = days * 86400 / max(events, 1)
    ts, made, session_n = start, 0, 0
    while made < events:
        session_n += 1
        sid, first, count, errors, created, done = f"syn{seed}-{session_n:x}", ts, 0, 0, 0, 0
        previous: tuple[str, bool] | None = None
        for _ in range(min(rng.randint(5, 60), events - made)):
            if previous and not previous[1] and rng.random() < 0.4:
                command = previous[0]  # retried right after a failure
            else:
                command = rng.choices(names, weights)[0]
            _, median, spread, etype, categories = COMMANDS[command]
            growth = 1 + (ts - start) / (end - start) if command == "workspace create" else 1
            duration = int(rng.lognormvariate(0, spread) * median * growth)
            ok = not categories or rng.random() > 0.08
            category = None if ok else rng.choice(categories)
            raw = _raw(command, ok, category, rng)
            template = rng.choice(TEMPLATES) if command == "workspace create" else None
            yield (
                (
                    _utc(ts),
                    sid,
                    etype,
                    None,
                    None,
                    command,
                    duration,
                    int(ok),
                    category,
                    template,
                    None,
                    None,
                    raw,
                    0 if ok else 1,
                    __version__,
                ),
                None,
            )
            made, count, errors = made + 1, count + 1, errors + (not ok)
            created += int(ok and command == "workspace create")
            done += int(raw is not None and "tasks_completed" in raw)
            previous = (command, ok)
            ts = min(ts + rng.expovariate(2 / gap), end - 1)
        last = ts
        yield (
            None,
            (
                sid,
                "synthetic",
                _utc(first),
                _utc(last),
                int((last - first) * 1000),
                count,
                created,
                done,
                errors,
            ),
        )
        ts = min(ts + gap * count * 0.5, end - 1)


class BulkInsert:
    """Inserts many ``events`` rows (:data:`schema.EVENT_COLUMNS` tuples) straight into
    ``event_rows``, interning their strings in Python: what the view's INSERT trigger does one
    row at a time, for a bulk load (the benchmark, the demo history)."""

    def __init__(self, conn: sqlite3.Connection) -> None:
        self.conn = conn
        self.ids: dict[Any, int] = {v: i for i, v in conn.execute("SELECT id, value FROM strings")}
        self.next_id = max(self.ids.values(), default=0) + 1
        self.interned = [c in schema.INTERNED for c in schema.EVENT_COLUMNS]
        self.interned[0] = False  # the timestamp: stored as whole milliseconds

    def _id(self, value: Any) -> int | None:
        if value is None:
            return None
        found = self.ids.get(value)
        if found is None:
            found = self.ids[value] = self.next_id
            self.conn.execute("INSERT INTO strings (id, value) VALUES (?, ?)", (found, value))
            self.next_id += 1
        return found

    def rows(self, events: Iterable[tuple[Any, ...]]) -> Iterator[tuple[Any, ...]]:
        for event in events:
            yield (
                schema.ms_of(event[0]),
                *(
                    self._id(v) if interned else v
                    for v, interned in zip(event[1:], self.interned[1:], strict=True)
                ),
            )

    def insert(self, events: Iterable[tuple[Any, ...]]) -> None:
        marks = ", ".join("?" for _ in schema.ROW_COLUMNS)
        self.conn.executemany(
            f"INSERT INTO event_rows ({', '.join(schema.ROW_COLUMNS)}) VALUES ({marks})",
            self.rows(events),
        )


def fill(path: str, events: int, days: float, seed: int = 7, now: float | None = None) -> None:
    """Create (with every migration) and fill ``path`` in one transaction."""
    with store.opened(path):
        pass
    conn = sqlite_open.open_private(path, timeout=5.0)
    conn.execute("PRAGMA synchronous=OFF")
    sessions: list[tuple[Any, ...]] = []

    def event_rows() -> Iterator[tuple[Any, ...]]:
        for event, session in generate(events, days, seed, now):
            if event is not None:
                yield event
            elif session is not None:
                sessions.append(session)

    with sqlite_open.transaction(conn, "DEFERRED"):
        BulkInsert(conn).insert(event_rows())
        conn.executemany(
            "INSERT OR IGNORE INTO sessions (session_id, shell_key, started_at, ended_at, "
            "duration_ms, commands_executed, workspaces_created, tasks_completed, "
            "errors_encountered) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
            sessions,
        )
    conn.execute("ANALYZE")
    conn.close()


def main() -> None:
    parser = argparse.ArgumentParser(description="Fill a telemetry database with sample history.")
    parser.add_argument("--events", type=int, default=5000)
    parser.add_argument("--days", type=float, default=30)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--db", help="database path (default: $NEXUS_HOME/telemetry.db)")
    args = parser.parse_args()
    fill(args.db or store.database_path(), args.events, args.days, args.seed)


if __name__ == "__main__":
    main()
