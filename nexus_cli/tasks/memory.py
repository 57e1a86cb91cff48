"""Project memory for agents: short facts that outlive the task that taught them.

``nexus remember TEXT`` (and the MCP tool ``remember``) records a fact with who and when;
``nexus forget ID`` takes one back; ``nexus prime`` shows the newest within a size budget. Facts
travel through git like tasks do, in ``.nexus/memory.jsonl``: an append-only log of ``add`` and
``forget`` records, one JSON object a line, merged by git's ``union`` driver (both sides' new
lines are kept; a fact forgotten on either side stays forgotten). The file is repository content
written by teammates: every line is checked on read, and one that is malformed, too long or from
the future is skipped and counted, never fatal.
"""

from __future__ import annotations

import hashlib
import os
import time
from dataclasses import dataclass
from typing import Any

from nexus_cli import fs, jsonio, safe_path, validate
from nexus_cli.errors import NotFoundError, UsageError
from nexus_cli.project import Project
from nexus_cli.tasks.identity import current_agent
from nexus_cli.tasks.model import now_iso

MEMORY_FILE = "memory.jsonl"
LOCK_FILE = "memory.lock"
ID_PREFIX = "mem-"
MAX_TEXT_CHARS = 1_000
MAX_FILE_BYTES = 8 * 1024 * 1024
PRIME_FACTS = 10  # at most this many facts in `nexus prime`
PRIME_CHARS = 2_000  # and at most this many characters of them


@dataclass(frozen=True, slots=True)
class Fact:
    id: str
    text: str
    by: str
    at: str
    task: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"id": self.id, "text": self.text, "by": self.by, "at": self.at, "task": self.task}


@dataclass(frozen=True, slots=True)
class Memory:
    facts: list[Fact]  # newest first
    skipped: int  # lines of memory.jsonl that could not be used

    def to_json(self) -> dict[str, Any]:
        return {"facts": [f.to_json() for f in self.facts], "skipped_lines": self.skipped}


def path_of(project: Project) -> str:
    return os.path.join(project.nexus_dir, MEMORY_FILE)


def check_text(text: str) -> str:
    """A fact: one line of plain text, 1 to :data:`MAX_TEXT_CHARS` characters."""
    cleaned = " ".join(text.split())
    if not cleaned:
        raise UsageError("a fact needs some text", hint='nexus remember "tests need Docker"')
    if len(cleaned) > MAX_TEXT_CHARS:
        raise UsageError(
            f"a fact is at most {MAX_TEXT_CHARS} characters (this one has {len(cleaned)})",
            hint="keep it to one short sentence; put long notes in docs/ or a task",
        )
    return validate.plain_text(cleaned, what="the fact")


def _new_id(text: str) -> str:
    seed = f"{text}\0{time.time_ns()}\0{os.getpid()}".encode() + os.urandom(16)
    return ID_PREFIX + hashlib.sha256(seed).hexdigest()[:8]


def _append(project: Project, record: dict[str, Any]) -> None:
    line = jsonio.dumps(record, compact=True) + "\n"
    state, root = project.state_dir, project.root  # opened folder by folder, links refused
    fs.require_directory(state, what="state folder", root=root)
    with fs.locked(state / LOCK_FILE, root=root):
        fd = safe_path.open_file(
            root, path_of(project), os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644
        )
        try:
            os.write(fd, line.encode("utf-8"))
        finally:
            os.close(fd)


def remember(
    project: Project, text: str, *, agent: str | None = None, task: str | None = None
) -> Fact:
    """Record a fact; returns it (with its new id)."""
    fact_text = check_text(text)
    task_id = None if task is None else validate.task_id(task)
    fact = Fact(_new_id(fact_text), fact_text, current_agent(agent), now_iso(), task_id)
    _append(project, {"op": "add", **fact.to_json()})
    return fact


def forget(project: Project, fact_id: str, *, agent: str | None = None) -> Fact:
    """Take a fact back (an appended ``forget`` record); returns the fact forgotten."""
    known = {fact.id: fact for fact in read(project).facts}
    if fact_id not in known:
        raise NotFoundError(f"no fact {fact_id!r}", hint="`nexus memory` lists the facts")
    _append(project, {"op": "forget", "id": fact_id, "by": current_agent(agent), "at": now_iso()})
    return known[fact_id]


def read(project: Project) -> Memory:
    """The facts not forgotten, newest first; bad lines skipped and counted."""
    path = path_of(project)
    try:
        fd = safe_path.open_file(project.root, path, os.O_RDONLY)
    except FileNotFoundError:
        return Memory([], 0)
    except OSError as exc:
        raise UsageError(f"{path}: cannot read the project's memory ({exc.strerror})") from None
    with os.fdopen(fd, "rb") as fh:
        data = fh.read(MAX_FILE_BYTES + 1)
    skipped = 1 if len(data) > MAX_FILE_BYTES else 0
    added: dict[str, Fact] = {}
    forgotten: set[str] = set()
    for raw in data[:MAX_FILE_BYTES].splitlines():
        record = _record(raw)
        if record is None:
            skipped += 1
        elif record["op"] == "forget":
            forgotten.add(record["id"])
        elif record["id"] not in added:
            added[record["id"]] = Fact(
                record["id"], record["text"], record["by"], record["at"], record.get("task")
            )
    facts = [fact for key, fact in added.items() if key not in forgotten]
    facts.sort(key=lambda fact: (fact.at, fact.id), reverse=True)
    return Memory(facts, skipped)


def _record(raw: bytes) -> dict[str, Any] | None:
    """One checked line, or None when it cannot be used."""
    if not raw.strip():
        return None
    try:
        record = jsonio.loads(raw)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(record, dict) or record.get("op") not in ("add", "forget"):
        return None
    strings = ("id", "by", "at") + (("text",) if record["op"] == "add" else ())
    if not all(isinstance(record.get(key), str) for key in strings):
        return None
    if not record["id"].startswith(ID_PREFIX) or len(record["id"]) > 40:
        return None
    if record["op"] == "add":
        task = record.get("task")
        try:
            check_text(record["text"])
            validate.plain_text(record["by"], what="by")
            if task is not None:
                validate.task_id(task)
        except (UsageError, ValueError):
            return None
        if record["text"] != " ".join(record["text"].split()) or len(record["by"]) > 200:
            return None
    return record


def briefing(project: Project) -> list[Fact]:
    """The newest facts that fit :data:`PRIME_FACTS` and :data:`PRIME_CHARS`, for prime."""
    chosen: list[Fact] = []
    used = 0
    for fact in read(project).facts[:PRIME_FACTS]:
        if used + len(fact.text) > PRIME_CHARS:
            break
        chosen.append(fact)
        used += len(fact.text)
    return chosen
