"""Who "me" is for `ready`, `claim` and history entries."""

from __future__ import annotations

import getpass
import os
import subprocess
from pathlib import Path


def current_agent(explicit: str | None = None, cwd: Path | None = None) -> str:
    """``--agent``, else ``NEXUS_AGENT``, else git ``user.name``, else ``$USER``."""
    if explicit:
        return explicit
    env = os.environ.get("NEXUS_AGENT", "").strip()
    if env:
        return env
    try:
        out = subprocess.run(
            ["git", "config", "user.name"], cwd=cwd, capture_output=True, text=True, timeout=5
        )
        if out.returncode == 0 and out.stdout.strip():
            return out.stdout.strip()
    except (OSError, subprocess.SubprocessError):
        pass
    try:
        return os.environ.get("USER") or getpass.getuser()
    except (KeyError, OSError):
        return "unknown"
