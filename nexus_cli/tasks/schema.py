"""Schema of ``.nexus/tasks.db`` as sqlite-utils migrations.

Migration functions are numbered and NEVER renamed or edited once released: sqlite-utils records
applied migrations by function name, so a rename would run it again. Add a new function instead
and bump :data:`LATEST`, which is also stored in ``PRAGMA user_version`` so that an up-to-date
database is recognised without importing sqlite-utils at all (start-up time).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nexus_cli.project import Project

LATEST = 1


def _migrations() -> Any:
    from sqlite_utils.migrations import Migrations

    migrations = Migrations("nexus.tasks")

    @migrations()
    def m001_tasks(db: Any) -> None:
        db.execute(
            "CREATE TABLE tasks (id TEXT PRIMARY KEY, title TEXT NOT NULL, status TEXT NOT NULL,"
            " priority INTEGER NOT NULL, assignee TEXT, workspace TEXT, created_at TEXT NOT NULL,"
            " updated_at TEXT NOT NULL, doc TEXT NOT NULL)"
        )
        db.execute("CREATE INDEX ix_tasks_ready ON tasks(status, priority, created_at, id)")
        db.execute("CREATE INDEX ix_tasks_assignee ON tasks(assignee)")
        db.execute(
            "CREATE TABLE deps (task_id TEXT NOT NULL, depends_on TEXT NOT NULL,"
            " PRIMARY KEY (task_id, depends_on)) WITHOUT ROWID"
        )
        db.execute("CREATE INDEX ix_deps_depends_on ON deps(depends_on, task_id)")
        db.execute("CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT)")

    return migrations


def migrate(project: Project, path: Path) -> None:
    """Apply pending migrations under a file lock (two first runs must not race)."""
    from sqlite_utils import Database

    from nexus_cli import fs

    project.state_dir.mkdir(parents=True, exist_ok=True)
    with fs.locked(project.state_dir / "tasks-migrate.lock"):
        db = Database(path)
        try:
            _migrations().apply(db)
            db.execute(f"PRAGMA user_version = {LATEST}")
        finally:
            db.close()
