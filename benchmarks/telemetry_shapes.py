"""Shapes of telemetry history for benchmarks/telemetry.py, besides the synthetic generator's.

Each shape yields event rows (schema.EVENT_COLUMNS order) spread evenly over `days` ending now,
in sessions; rows are inserted with executemany in transactions of 500,000.

  * sessions: 7 commands, 20k-style long sessions of 40-50 events, uniform durations 10 ms-5 s,
    10% errors (many sessions, few commands)
  * skewed:   12 commands, Pareto durations (alpha 1.2, from 50 ms: a heavy tail), sessions of
    5-60 events, 8% errors
  * errors:   12 commands, log-normal durations, 30% errors (retries, port-conflict signals)
"""

from __future__ import annotations

import json
import random
import time
from collections.abc import Callable, Iterator
from typing import Any

SEVEN = ["workspace create", "workspace list", "task list", "task create", "stats", "doctor", "up"]
TWELVE = [*SEVEN, "task complete", "workspace delete", "gpu impact", "task approve", "persona add"]
CATEGORIES = ["port_conflict", "usage", "docker_unavailable", "gate_failed", "not_found"]
BATCH = 500_000


class Shape:
    def __init__(
        self,
        commands: list[str],
        duration: Callable[[random.Random], float],
        error_rate: float,
        session_len: tuple[int, int],
    ) -> None:
        self.commands, self.duration = commands, duration
        self.error_rate, self.session_len = error_rate, session_len


SHAPES = {
    "sessions": Shape(SEVEN, lambda r: r.uniform(10, 5000), 0.10, (40, 50)),
    "skewed": Shape(TWELVE, lambda r: 50 * r.paretovariate(1.2), 0.08, (5, 60)),
    "errors": Shape(TWELVE, lambda r: r.lognormvariate(6, 1.2), 0.30, (5, 60)),
}
PORT = json.dumps({"signals": [{"kind": "port_conflict", "port": 3000}]})


def _utc(ts: float) -> str:
    return time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime(ts)) + f".{int(ts * 1000) % 1000:03d}"


def rows(shape: Shape, events: int, days: float, seed: int = 5) -> Iterator[tuple[Any, ...]]:
    rng = random.Random(seed)
    end = time.time()
    ts, step = end - days * 86400, days * 86400 / max(events, 1)
    made, session = 0, 0
    while made < events:
        session += 1
        sid, previous = f"{shape.session_len[0]}-{session:08x}", None
        for _ in range(min(rng.randint(*shape.session_len), events - made)):
            if previous is not None and rng.random() < 0.4:
                command = previous  # retried right after a failure
            else:
                command = rng.choice(shape.commands)
            ok = rng.random() >= shape.error_rate
            category = None if ok else rng.choice(CATEGORIES)
            raw = PORT if category == "port_conflict" else None
            yield (
                _utc(ts), sid, "command", None, None, command, int(shape.duration(rng)), int(ok),
                category, None, None, None, raw, 0 if ok else 1, "bench",
            )  # fmt: skip
            previous = None if ok else command
            made += 1
            ts = min(ts + step, end - 1)


def fill(path: str, name: str, events: int, days: float) -> None:
    """Create ``path`` (every migration) and insert ``events`` of shape ``name``."""
    from nexus_cli import sqlite_open
    from nexus_cli.telemetry.db import store, synthetic

    with store.opened(path):
        pass
    conn = sqlite_open.open_private(path, timeout=5.0)
    conn.execute("PRAGMA synchronous=OFF")
    bulk = synthetic.BulkInsert(conn)  # events is a view: rows go straight into event_rows
    batch: list[tuple[Any, ...]] = []
    sessions: dict[str, list[str]] = {}
    for row in rows(SHAPES[name], events, days):
        batch.append(row)
        span = sessions.setdefault(row[1], [row[0], row[0]])
        span[1] = row[0]
        if len(batch) >= BATCH:
            conn.execute("BEGIN")
            bulk.insert(batch)
            conn.execute("COMMIT")
            batch = []
    conn.execute("BEGIN")
    bulk.insert(batch)
    conn.executemany(
        "INSERT OR IGNORE INTO sessions (session_id, shell_key, started_at, ended_at, duration_ms) "
        "VALUES (?, 'bench', ?, ?, ?)",
        ((sid, a, b, 60_000) for sid, (a, b) in sessions.items()),
    )
    conn.execute("COMMIT")
    conn.execute("ANALYZE")
    conn.close()
