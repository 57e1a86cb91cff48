"""The ``loop:`` section of ``.nexus/config.yaml``: the default agent command and limits."""

from __future__ import annotations

from dataclasses import dataclass

from nexus_cli.config_yaml import config_section
from nexus_cli.errors import ConfigError
from nexus_cli.project import Project

DEFAULT_MAX_ITERATIONS = 10


@dataclass(frozen=True)
class LoopSettings:
    agent: str | None = None
    max_iterations: int = DEFAULT_MAX_ITERATIONS


def load_settings(project: Project) -> LoopSettings:
    """Read ``loop.agent`` and ``loop.max_iterations``; a bad value names the file and key."""
    path = project.config_path
    section = config_section(path, "loop")
    if section is None:
        return LoopSettings()
    agent = section.get("agent")
    if agent is not None and (not isinstance(agent, str) or not agent.strip()):
        raise ConfigError(f"{path}: key 'loop.agent' must be a shell command line")
    limit = section.get("max_iterations", DEFAULT_MAX_ITERATIONS)
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        raise ConfigError(f"{path}: key 'loop.max_iterations' must be a whole number >= 1")
    return LoopSettings(agent=agent, max_iterations=limit)
