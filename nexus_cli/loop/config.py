"""The ``loop:`` section: the default agent command and limits.

``loop.agent`` is a command that runs with your rights, so only *your* configuration
(``$NEXUS_CONFIG_HOME/config.yaml``, else ``~/.config/nexus/config.yaml``) or ``--agent`` can
choose it. The project's ``.nexus/config.yaml`` arrives with ``git pull``: its ``loop.agent`` is
never run on its own; it is shown in the "no agent command" error, so that you can pass it with
``--agent`` once you have read it. ``loop.max_iterations`` may come from either (yours wins).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli.config_yaml import config_section
from nexus_cli.errors import ConfigError
from nexus_cli.paths import user_config_dir
from nexus_cli.project import Project

DEFAULT_MAX_ITERATIONS = 10
USER_CONFIG = "config.yaml"


@dataclass(frozen=True)
class LoopSettings:
    agent: str | None = None  # from your own configuration only
    max_iterations: int = DEFAULT_MAX_ITERATIONS
    repository_agent: str | None = None  # the project's loop.agent: shown, never run on its own


def user_config_path() -> Path:
    return user_config_dir() / USER_CONFIG


def load_settings(project: Project) -> LoopSettings:
    """Read ``loop.agent`` and ``loop.max_iterations``; a bad value names the file and key."""
    mine_path = user_config_path()
    mine = config_section(mine_path, "loop", what="user configuration") or {}
    theirs = config_section(project.config_path, "loop", root=project.root) or {}
    limit = mine.get("max_iterations", theirs.get("max_iterations", DEFAULT_MAX_ITERATIONS))
    if isinstance(limit, bool) or not isinstance(limit, int) or limit < 1:
        where = mine_path if "max_iterations" in mine else project.config_path
        raise ConfigError(f"{where}: key 'loop.max_iterations' must be a whole number >= 1")
    return LoopSettings(
        agent=_agent(mine, mine_path),
        max_iterations=limit,
        repository_agent=_agent(theirs, project.config_path),
    )


def _agent(section: dict[str, Any], path: Path) -> str | None:
    agent = section.get("agent")
    if agent is not None and (not isinstance(agent, str) or not agent.strip()):
        raise ConfigError(f"{path}: key 'loop.agent' must be a shell command line")
    return agent
