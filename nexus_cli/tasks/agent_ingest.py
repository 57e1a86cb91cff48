"""``nexus telemetry ingest claude|codex``: agents' logs into ``telemetry.db``, incrementally.

For each ``*.jsonl`` file under the agent's folder (no symbolic link followed), only what was
appended since the last ingest is read (:mod:`nexus_cli.telemetry.agents.logfile`); each line is
strict JSON (:mod:`nexus_cli.jsonio`) or counted as bad and skipped; each usage record is
attributed to a task (:mod:`nexus_cli.tasks.agent_attribution`) and stored with the file's new
offset in one transaction, so an interrupted ingest leaves the file to be read again and the
records' keys keep anything from being counted twice.
"""

from __future__ import annotations

import os
import time
from dataclasses import dataclass, field
from typing import Any

from nexus_cli import jsonio
from nexus_cli.errors import UsageError
from nexus_cli.tasks.agent_attribution import Attributor
from nexus_cli.telemetry.agents import claude, codex, logfile
from nexus_cli.telemetry.agents.claude import Found
from nexus_cli.telemetry.agents.records import (
    BadRecord,
    Hasher,
    UsageRecord,
    sealed,
    task_id_or_none,
    text_id,
)
from nexus_cli.telemetry.db import agent_usage
from nexus_cli.telemetry.db import store as telemetry_store
from nexus_cli.telemetry.db.agent_usage import Mark
from nexus_cli.telemetry.db.handle import Db
from nexus_cli.telemetry.journal.invocation import note

AGENTS = ("claude", "codex")
BATCH = 2000  # records stored (with the offset read up to) per transaction
# A line without one of these words is not parsed: it cannot hold what is read from it.
MARKERS = {"claude": (b'"usage"',), "codex": (b"session_meta", b"turn_context", b"token_count")}


@dataclass
class IngestResult:
    agent: str
    folder: str
    files: int = 0
    files_skipped: int = 0
    lines: int = 0
    bad_lines: int = 0
    oversized_lines: int = 0
    records: int = 0
    new_records: int = 0
    attributed: int = 0
    tasks: set[str] = field(default_factory=set)

    def to_json(self) -> dict[str, Any]:
        return {
            "agent": self.agent,
            "folder": self.folder,
            "files": self.files,
            "files_skipped": self.files_skipped,
            "lines": self.lines,
            "bad_lines": self.bad_lines,
            "oversized_lines": self.oversized_lines,
            "records": self.records,
            "new_records": self.new_records,
            "attributed": self.attributed,
            "unattributed": self.records - self.attributed,
            "tasks": sorted(self.tasks),
        }


def default_folder(agent: str) -> str:
    return claude.default_root() if agent == "claude" else codex.default_root()


def ingest(agent: str, path: str | None = None, *, db_path: str | None = None) -> IngestResult:
    """Read what is new in ``agent``'s logs under ``path`` (default: the agent's own folder)."""
    if agent not in AGENTS:
        raise UsageError(f"unknown agent {agent!r}", hint=f"choose one of: {', '.join(AGENTS)}")
    folder = os.path.abspath(os.path.expanduser(path or default_folder(agent)))
    result = IngestResult(agent, folder)
    note(event_type="telemetry")
    if not os.path.isdir(folder):
        if path is not None:
            raise UsageError(f"{folder} is not a folder", hint="--path takes the logs' folder")
        return result  # this agent has not written any log here: nothing to read
    hasher = Hasher()
    attributor = Attributor(hasher)
    with telemetry_store.migrated(db_path) as db:
        for file in logfile.iter_logs(folder):
            _ingest_file(db, agent, file, hasher, attributor, result)
    return result


def _ingest_file(
    db: Db, agent: str, file: str, hasher: Hasher, attributor: Attributor, result: IngestResult
) -> None:
    file_hash = hasher(file, kind="agent-log")
    mark = agent_usage.mark(db, file_hash)
    if agent == "codex" and mark is not None and not _unchanged(file, mark):
        mark = None  # a turn's model and session are in earlier lines: read it from its start
    try:
        with logfile.opened(file, mark) as reading:
            result.files += 1
            context = codex.Context()
            batch: list[Found] = []
            for line, end in reading.lines():
                result.lines += 1
                if not any(marker in line for marker in MARKERS[agent]):
                    continue  # cannot hold usage (or, for Codex, a session or model): not parsed
                try:
                    doc = jsonio.loads(line, max_bytes=logfile.MAX_LINE_BYTES)
                    if agent == "claude":
                        item = claude.parse(doc, hasher)
                    else:
                        item = codex.parse(doc, context, hasher)
                except (jsonio.JSONError, BadRecord):
                    result.bad_lines += 1
                    continue
                if item is not None:
                    batch.append(item)
                if len(batch) >= BATCH:
                    where = Mark(reading.device, reading.inode, end)
                    _store(db, file_hash, batch, where, hasher, attributor, result)
                    batch = []
            result.oversized_lines += reading.oversized
            _store(db, file_hash, batch, reading.mark, hasher, attributor, result)
    except logfile.NotALog:
        result.files_skipped += 1


def _store(
    db: Db,
    file_hash: str,
    found: list[Found],
    mark: Mark,
    hasher: Hasher,
    attributor: Attributor,
    result: IngestResult,
) -> None:
    """Store a batch of records with the offset read up to, in one transaction."""
    records = [sealed(_attributed(item, attributor), hasher) for item in found]
    unique = {r.key: r for r in records}  # a response written as several lines is one record
    with db.atomic():
        result.new_records += len(unique.keys() - agent_usage.existing(db, unique))
        agent_usage.put(db, records)
        agent_usage.set_mark(db, file_hash, mark, int(time.time() * 1000))
    result.records += len(unique)
    for record in unique.values():
        if record.task_id is not None:
            result.attributed += 1
            result.tasks.add(record.task_id)


def _attributed(item: Found, attributor: Attributor) -> UsageRecord:
    record = item.record
    record.task_id, record.project_hash = attributor.attribute(
        item.cwd, record.at_ms, record.task_id
    )
    return record


def _unchanged(file: str, mark: agent_usage.Mark) -> bool:
    try:
        info = os.stat(file, follow_symlinks=False)
    except OSError:
        return False
    return (info.st_dev, info.st_ino, info.st_size) == (mark.device, mark.inode, mark.offset)


def name_session(session_id: object, task_id: object, *, db_path: str | None = None) -> bool:
    """Record that agent session ``session_id`` was started for task ``task_id`` (the
    session-start hook, with ``NEXUS_TASK_ID`` from ``nexus loop``), so its usage goes to that
    task wherever it ran. Both are hashed; False when either is not a valid value."""
    task = task_id_or_none(task_id)
    try:
        session = text_id(session_id, "session_id")
    except BadRecord:
        return False
    if task is None:
        return False
    hasher = Hasher()
    with telemetry_store.migrated(db_path) as db, db.atomic():
        agent_usage.name_session(
            db,
            hasher(session, kind="agent-session"),
            hasher(task, kind="task"),
            int(time.time() * 1000),
        )
    return True
