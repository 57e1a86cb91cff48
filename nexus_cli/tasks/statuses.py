"""Task statuses, in a module of their own: the task database's queries need them at import, and
shell completion should not pay for the task model (dataclasses, datetime) to complete an ID."""

from __future__ import annotations

STATUSES = ("open", "in_progress", "verifying", "review", "done", "rejected", "cancelled")
FINISHED = ("done", "cancelled")
