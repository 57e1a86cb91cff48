"""Waiting for a container on the real engine: a health wait wakes on the engine's event, and
the thread that reads the events ends with the wait."""

from __future__ import annotations

import threading
import time
from typing import Any

import pytest

from nexus_cli.workspaces import container_waits

pytestmark = pytest.mark.docker


def test_a_health_wait_wakes_on_the_engine_s_event(
    docker_client: Any, test_image: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a poll this long, only the engine's health_status event can end the wait early.
    monkeypatch.setattr(container_waits, "HEALTH_POLL_S", 60.0)
    container = docker_client.containers.run(
        test_image,
        ["sh", "-c", "sleep 1; touch /ready; exec sleep 600"],
        detach=True,
        labels={"dev.nexus.test": "health-event"},
        healthcheck={
            "test": ["CMD-SHELL", "test -f /ready"],
            "interval": 100_000_000,  # ns
            "retries": 600,
        },
    )
    try:
        started = time.monotonic()
        container_waits.wait_healthy(container, "db", timeout_s=60)
        assert time.monotonic() - started < 30
        container.reload()
        assert container.attrs["State"]["Health"]["Status"] == "healthy"
        deadline = time.monotonic() + 10
        while any(t.name == "engine-events" for t in threading.enumerate()):
            assert time.monotonic() < deadline, "the event stream's thread was left running"
            time.sleep(0.05)
    finally:
        container.remove(force=True)
