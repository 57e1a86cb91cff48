"""What one recorded invocation costs, each way it could be stored (the choice in docs/telemetry.md).

In one process, interleaved, N times each, with a fresh file handle or connection every time as a
new `nexus` process would have:
  * journal append        the recorder today: encode one entry, one O_APPEND write under the journal's flock
  * file per event        one new file per event (create, write, rename)
  * WAL, synchronous=NORMAL   the former recorder: open, BEGIN IMMEDIATE, session + event, COMMIT,
                          close (close checkpoints and deletes the WAL: two fsyncs)
  * WAL, synchronous=OFF  the same without fsyncs (the WAL is still created and deleted)
  * PERSIST journal, synchronous=OFF  rollback journal kept between processes, no fsyncs
Then what importing `sqlite3` and `json` costs on top of what `nexus --version` loads, and the
whole recording path as `nexus --version` pays it: the time `cli.main(["--version"])` takes inside
fresh processes with recording on, minus with it off (start-up noise stays out of it).
(Python 3.11's sqlite3 exposes neither SQLITE_FCNTL_PERSIST_WAL nor
SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, so a persistent WAL is out of reach without ctypes.)

    python benchmarks/recording.py [--runs 200]
"""

from __future__ import annotations

import os
import sqlite3
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

import harness


def _entry() -> dict[str, object]:
    from nexus_cli.telemetry.journal import invocation, recorder

    inv = invocation.Invocation(["--version"])
    return recorder.build_entry(inv, 0, time.time(), 3, main=True)


def journal_append(home: Path) -> None:
    from nexus_cli.telemetry.journal import entry, file

    file.append(entry.encode(_entry()))


def file_per_event(home: Path) -> None:
    from nexus_cli.telemetry.journal import entry

    folder = home / "per-event"
    folder.mkdir(exist_ok=True)
    uid = os.urandom(16).hex()
    tmp = folder / f".{uid}"
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    os.write(fd, entry.encode(_entry()))
    os.close(fd)
    os.rename(tmp, folder / uid)


def sqlite_insert(db: Path, synchronous: str, journal_mode: str) -> None:
    from nexus_cli import sqlite_open
    from nexus_cli.telemetry.db import fold, schema

    conn = sqlite_open.open_private(str(db), timeout=0.1)  # autocommit, as the recorder had it
    conn.execute(f"PRAGMA synchronous={synchronous}")
    if conn.execute("PRAGMA user_version").fetchone()[0] < 1:  # the former recorder's base
        conn.execute(f"PRAGMA journal_mode={journal_mode}")
        conn.executescript("BEGIN IMMEDIATE;" + schema.BASE_SCHEMA + "COMMIT;")
        conn.execute("PRAGMA user_version=1")
    conn.execute("BEGIN IMMEDIATE")
    fold._insert(conn, _entry())  # the former recorder's session lookup, event and upsert
    conn.execute("COMMIT")
    conn.close()


def import_cost(module: str, runs: int) -> float:
    """Median CPU ms of `import module` in a fresh interpreter that has loaded what `nexus
    --version` loads (so shared dependencies such as `re` are not counted), over `runs` runs."""
    code = (
        "import time, nexus_cli.cli; t = time.process_time(); "
        f"import {module}; print(time.process_time() - t)"
    )
    times = [
        float(subprocess.run([sys.executable, "-c", code], capture_output=True, text=True).stdout)
        for _ in range(runs)
    ]
    return statistics.median(times) * 1000


MAIN_TIMED = """
import contextlib, io, time
from nexus_cli import cli
start, cpu = time.perf_counter(), time.process_time()
with contextlib.redirect_stdout(io.StringIO()):
    cli.main(["--version"])
print((time.perf_counter() - start) * 1000, (time.process_time() - cpu) * 1000)
"""


def recording_path_cost(runs: int) -> tuple[float, float]:
    """Median (wall, CPU) ms that recording adds to `cli.main(["--version"])`, interleaved."""
    samples: dict[bool, list[tuple[float, float]]] = {True: [], False: []}
    with tempfile.TemporaryDirectory() as tmp:
        for counted in [False] + [True] * runs:
            for on in (True, False):
                env = harness.nexus_env(Path(tmp) / "home", recording_on=True)
                if not on:
                    env["NEXUS_TELEMETRY_DISABLED"] = "1"
                out = subprocess.run(
                    [sys.executable, "-c", MAIN_TIMED],
                    env=env,
                    cwd=tmp,  # not the repository: import the installed nexus_cli
                    capture_output=True,
                    text=True,
                    check=True,
                )
                if counted:
                    wall, cpu = out.stdout.split()
                    samples[on].append((float(wall), float(cpu)))

    def med(on: bool, index: int) -> float:
        return statistics.median(s[index] for s in samples[on])

    return med(True, 0) - med(False, 0), med(True, 1) - med(False, 1)


def main() -> int:
    args = harness.parser(__doc__, runs=200).parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        home = Path(tmp)
        os.environ["NEXUS_HOME"] = str(home)
        ways: dict[str, Callable[[], None]] = {
            "journal append (chosen)": lambda: journal_append(home),
            "file per event": lambda: file_per_event(home),
            "WAL, synchronous=NORMAL (before)": lambda: sqlite_insert(
                home / "a.db", "NORMAL", "WAL"
            ),
            "WAL, synchronous=OFF": lambda: sqlite_insert(home / "b.db", "OFF", "WAL"),
            "PERSIST journal, synchronous=OFF": lambda: sqlite_insert(
                home / "c.db", "OFF", "PERSIST"
            ),
        }
        samples: dict[str, list[float]] = {name: [] for name in ways}
        for counted in [False] + [True] * args.runs:
            for name, way in ways.items():
                start = time.perf_counter()
                way()
                if counted:
                    samples[name].append((time.perf_counter() - start) * 1000)
    harness.print_table(
        samples,
        ("one recorded invocation", 34),
        [
            harness.Column("median ms", harness.median, 10, 3),
            harness.Column("p90 ms", harness.p90, 8, 3),
        ],
    )
    print()
    for module in ("sqlite3", "json", "nexus_cli.telemetry.journal.entry"):
        cost = import_cost(module, max(20, args.runs // 5))
        print(f"import {module:<32} {cost:6.2f} CPU ms on top of nexus_cli.cli (median)")
    wall, cpu = recording_path_cost(max(20, args.runs // 5))
    print(f"recording path in `nexus --version`: +{wall:.2f} ms wall, +{cpu:.2f} CPU ms (median)")
    print(f"runs: {args.runs}; python {sys.version.split()[0]}, SQLite {sqlite3.sqlite_version}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
