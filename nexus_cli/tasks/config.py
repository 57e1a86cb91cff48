"""The ``tasks:`` section of ``.nexus/config.yaml``."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_cli.config_yaml import config_section
from nexus_cli.errors import ConfigError
from nexus_cli.project import Project


@dataclass(frozen=True)
class TaskSettings:
    require_gate: bool = False
    require_review: bool = False


def load_settings(project: Project) -> TaskSettings:
    """Read ``tasks.require_gate`` / ``tasks.require_review``; a bad file names file and key."""
    path = project.config_path
    section = config_section(path, "tasks")
    if section is None:
        return TaskSettings()
    values: dict[str, bool] = {}
    for key in ("require_gate", "require_review"):
        value = section.get(key, False)
        if not isinstance(value, bool):
            raise ConfigError(f"{path}: key 'tasks.{key}' must be true or false, not {value!r}")
        values[key] = value
    return TaskSettings(**values)
