"""The one way to the Docker engine: a short wait for the first answer, a long one for work."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from nexus_cli import engine
from nexus_cli.errors import DockerUnavailableError


@pytest.mark.docker
def test_calls_after_the_first_answer_may_take_long(docker_client: Any) -> None:
    """Regression: every call had the 5 s connect timeout, so creating a container on a busy
    machine failed with "unexpected ReadTimeout … this is a bug"."""
    client = engine.connect()
    assert client.api.timeout == engine.OPERATION_TIMEOUT_SECONDS >= 60


def test_no_engine_is_one_clear_error(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("DOCKER_HOST", f"unix://{tmp_path}/no.sock")
    with pytest.raises(DockerUnavailableError) as info:
        engine.connect()
    assert info.value.message.startswith(f"Docker engine unavailable at unix://{tmp_path}/no.sock")
