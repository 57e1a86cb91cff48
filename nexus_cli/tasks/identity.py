"""Who "me" is for `ready`, `claim` and history entries."""

from __future__ import annotations

import getpass
import os
from pathlib import Path

from nexus_cli import git


def current_agent(explicit: str | None = None, cwd: Path | None = None) -> str:
    """``--agent``, else ``NEXUS_AGENT``, else git ``user.name``, else ``$USER``."""
    if explicit:
        return explicit
    env = os.environ.get("NEXUS_AGENT", "").strip()
    if env:
        return env

    try:
        out = git.run(cwd or Path.cwd(), "config", "user.name", check=False)
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, git.GitError):
        pass
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
