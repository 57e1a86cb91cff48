"""One unit of agent usage as Nexus keeps it: :class:`UsageRecord`, and the salted hashes.

A record holds counts (input, output, cache write and cache read tokens), the model's name (an
identifier checked against :data:`MODEL_PATTERN`, else ``unknown``), a moment (epoch
milliseconds), the salted hash of the agent's session id and, once attributed, the salted hashes
of the task id and of the project's folder. Nothing else read from an agent's log is kept: no prompt or
answer text, no tool input, no path.

Its ``key`` (a salted hash of what makes the unit unique: an API message id and request id for a
transcript, the series and interval for an OTLP data point) is the table's primary key, so the
same unit read twice (a file re-read after it was replaced, a resumed session that copies its
history, a retried export) is stored once.
"""

from __future__ import annotations

import hashlib
import re
from datetime import datetime

from nexus_cli import validate
from nexus_cli.telemetry.db.agent_usage import UsageRecord as UsageRecord  # made here
from nexus_cli.telemetry.journal import privacy

MODEL_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._:@/+-]{0,99}$")
UNKNOWN_MODEL = "unknown"
MAX_TOKENS = 10**12  # a count larger than this in one record is not a count: the record is bad
SOURCES = ("claude", "codex", "otlp-log", "otlp-metric")


class BadRecord(ValueError):
    """A log line or data point that holds usage in a shape Nexus does not accept."""


class Hasher:
    """Salted SHA-256, as :func:`privacy.hash_name`, with the salt read once for a whole run."""

    def __init__(self) -> None:
        self._salt = privacy.salt()

    def __call__(self, name: str, *, kind: str) -> str:
        digest = hashlib.sha256()
        digest.update(self._salt)
        digest.update(f"\0{kind}\0".encode())
        digest.update(name.encode("utf-8", "surrogatepass"))
        return digest.hexdigest()


def sealed(record: UsageRecord, hasher: Hasher) -> UsageRecord:
    """``record`` with the salted hash of its task id, the form in which the task is stored."""
    record.task_hash = None if record.task_id is None else hasher(record.task_id, kind="task")
    return record


def count(value: object, what: str) -> int:
    """A token count: a whole number from 0 to :data:`MAX_TOKENS` (missing = 0)."""
    if value is None:
        return 0
    if isinstance(value, str) and value.isdigit() and len(value) <= 13:
        value = int(value)  # OTLP/JSON writes 64-bit integers as strings
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= MAX_TOKENS:
        raise BadRecord(f"{what} is not a token count")
    return value


def model_name(value: object) -> str:
    """The model's identifier as the agent wrote it, or ``unknown`` for anything else."""
    if isinstance(value, str) and MODEL_PATTERN.match(value):
        return value
    return UNKNOWN_MODEL


def moment_ms(value: object) -> int:
    """Epoch milliseconds of an ISO 8601 timestamp with a zone (``2026-12-06T09:00:00.123Z``)."""
    if not isinstance(value, str) or len(value) > 40:
        raise BadRecord("timestamp is missing or not text")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00").replace("z", "+00:00"))
    except ValueError:
        raise BadRecord("timestamp is not ISO 8601") from None
    if moment.tzinfo is None:
        raise BadRecord("timestamp has no time zone")
    return int(moment.timestamp() * 1000)


def task_id_or_none(value: object) -> str | None:
    """A task id given by an agent's data (``NEXUS_TASK_ID``, ``nexus.task.id``) when valid."""
    if isinstance(value, str) and validate.is_valid(validate.task_id, value.strip()):
        return value.strip()
    return None


def text_id(value: object, what: str, limit: int = 256) -> str:
    """An identifier (session id, message id) as text of at most ``limit`` characters."""
    if not isinstance(value, str) or not value or len(value) > limit:
        raise BadRecord(f"{what} is missing or not an identifier")
    return value
