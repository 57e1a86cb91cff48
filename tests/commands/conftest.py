"""Fixtures for command tests that need a real terminal."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli import paths
from nexus_cli.telemetry.db import synthetic
from tests.tmux_terminal import require_tmux


@pytest.fixture
def filled_telemetry(isolated_home: Path) -> Path:
    """A telemetry database with 30 days of synthetic events (5,000), and tmux present."""
    require_tmux()
    db = paths.telemetry_db_path()
    db.parent.mkdir(parents=True, exist_ok=True)
    synthetic.fill(str(db), 5000, 30)
    return db
