"""The ``tasks:`` section of ``.nexus/config.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_cli.config_yaml import config_section
from nexus_cli.errors import ConfigError
from nexus_cli.project import Project
from nexus_cli.tasks.lease import DEFAULT_LEASE_S, MAX_LEASE_S

DEFAULT_COMPACT_AFTER_DAYS = 90
MAX_COMPACT_AFTER_DAYS = 36_500


@dataclass(frozen=True)
class TaskSettings:
    require_gate: bool = False
    require_review: bool = False
    lease_seconds: int = DEFAULT_LEASE_S  # how long a claim lasts without a heartbeat
    # `nexus task compact` summarises tasks closed longer ago than this (nexus_cli.tasks.compaction)
    compact_after_days: int = DEFAULT_COMPACT_AFTER_DAYS


def load_settings(project: Project) -> TaskSettings:
    """Read ``tasks.require_gate`` / ``tasks.require_review`` / ``tasks.lease_seconds`` /
    ``tasks.compact_after_days``; a bad file names file and key."""
    path = project.config_path
    section = config_section(path, "tasks", root=project.root)
    if section is None:
        return TaskSettings()
    values: dict[str, bool] = {}
    for key in ("require_gate", "require_review"):
        value = section.get(key, False)
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: key 'tasks.{key}' must be true or false, not {value!r:.40}")
        values[key] = value
    lease_s = section.get("lease_seconds", DEFAULT_LEASE_S)
    if isinstance(lease_s, bool) or not isinstance(lease_s, int) or not 0 < lease_s <= MAX_LEASE_S:
        raise ConfigError(
            f"{path}: key 'tasks.lease_seconds' must be 1-{MAX_LEASE_S} seconds, not {lease_s!r:.40}"
        )
    days = section.get("compact_after_days", DEFAULT_COMPACT_AFTER_DAYS)
    if (
        isinstance(days, bool)
        or not isinstance(days, int)
        or not 0 <= days <= MAX_COMPACT_AFTER_DAYS
    ):
        raise ConfigError(
            f"{path}: key 'tasks.compact_after_days' must be 0-{MAX_COMPACT_AFTER_DAYS} days, "
            f"not {days!r:.40}"
        )
    return TaskSettings(values["require_gate"], values["require_review"], lease_s, days)
