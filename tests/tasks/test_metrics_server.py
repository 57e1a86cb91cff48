"""`nexus telemetry serve --metrics`: a real server process, scraped over HTTP, stopped by Ctrl-C."""

from __future__ import annotations

import os
import signal
import subprocess
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from nexus_cli.errors import UsageError
from nexus_cli.tasks import metrics_server
from tests.conftest import nexus_exe, run_nexus


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("127.0.0.1:9464", ("127.0.0.1", 9464)),
        ("localhost:0", ("127.0.0.1", 0)),
        ("[::1]:80", ("::1", 80)),
    ],
)
def test_loopback_addresses_are_accepted(text: str, expected: tuple[str, int]) -> None:
    assert metrics_server.parse_address(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("0.0.0.0:9464", "only a loopback address"),
        ("192.168.1.5:9464", "only a loopback address"),
        ("127.0.0.1", "HOST:PORT"),
        ("127.0.0.1:99999", "HOST:PORT"),
        ("example.com:80", "an IP address"),
    ],
)
def test_other_addresses_are_refused(text: str, message: str) -> None:
    with pytest.raises(UsageError, match=message):
        metrics_server.parse_address(text)


def test_allow_remote_lets_another_address_through() -> None:
    assert metrics_server.parse_address("0.0.0.0:1", allow_remote=True) == ("0.0.0.0", 1)


def test_the_command_refuses_a_remote_address_with_one_line() -> None:
    result = run_nexus("telemetry", "serve", "--metrics", "0.0.0.0:9464")
    assert result.exit_code == 2 and "--allow-remote" in result.stderr
    assert "Traceback" not in result.stderr


def test_serves_parseable_metrics_until_ctrl_c(tmp_path: Path) -> None:
    run_nexus("version")
    proc = subprocess.Popen(
        [*nexus_exe(), "telemetry", "serve", "--metrics", "127.0.0.1:0"],
        cwd=tmp_path,
        env=dict(os.environ),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "serving metrics at http://127.0.0.1:" in line, line
        url = line.split(" at ", 1)[1].split(" ", 1)[0]
        with urllib.request.urlopen(url, timeout=30) as answer:
            assert answer.headers["Content-Type"].startswith("application/openmetrics-text")
            text = answer.read().decode()
        names = {f.name for f in text_string_to_metric_families(text)}
        assert {"nexus_invocations", "nexus_gate_runs", "nexus_tasks"} <= names
        with pytest.raises(urllib.error.HTTPError) as missing:
            urllib.request.urlopen(url.replace("/metrics", "/other"), timeout=30)
        assert missing.value.code == 404
        proc.send_signal(signal.SIGINT)
        assert proc.wait(timeout=30) == 0
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
