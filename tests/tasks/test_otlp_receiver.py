"""`nexus telemetry receive`: a real receiver process, real HTTP posts of OTLP exports, the
usage attributed to its task in a real telemetry.db; garbage refused; stopped by a signal."""

from __future__ import annotations

import gzip
import http.client
import json
import os
import signal
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.telemetry.present.html_tasks import dollars_text
from tests.conftest import nexus_exe, run_nexus
from tests.tasks.conftest import new_task, ok


def _attrs(**values: Any) -> list[dict[str, Any]]:
    out = []
    for key, value in values.items():
        kind = (
            "intValue"
            if isinstance(value, int)
            else "doubleValue"
            if isinstance(value, float)
            else "stringValue"
        )
        out.append(
            {
                "key": key.replace("__", "."),
                "value": {kind: str(value) if kind == "intValue" else value},
            }
        )
    return out


def metrics_export(
    task: str | None, session: str, temporality: int = 1, scale: int = 1, start: int = 0
) -> dict[str, Any]:
    """What Claude Code sends to /v1/metrics (OTLP/JSON), with ``nexus.task.id`` on the
    resource as `nexus loop` sets it."""
    now = time.time_ns()
    start = start or now - 60 * 10**9
    resource = _attrs(service__name="claude-code", **({"nexus__task__id": task} if task else {}))
    points = [
        {
            "attributes": _attrs(
                type=kind,
                model="claude-sonnet-4-5",
                session__id=session,
                user__email="SECRET-EMAIL",
            ),
            "startTimeUnixNano": str(start),
            "timeUnixNano": str(now),
            "asDouble": float(n * scale),
        }
        for kind, n in (
            ("input", 1000),
            ("output", 200),
            ("cacheRead", 5000),
            ("cacheCreation", 300),
        )
    ]
    cost = {
        "attributes": _attrs(model="claude-sonnet-4-5", session__id=session),
        "startTimeUnixNano": str(start),
        "timeUnixNano": str(now),
        "asDouble": 0.0123 * scale,
    }
    return {
        "resourceMetrics": [
            {
                "resource": {"attributes": resource},
                "scopeMetrics": [
                    {
                        "scope": {"name": "com.anthropic.claude_code", "version": "2.0.50"},
                        "metrics": [
                            {
                                "name": "claude_code.token.usage",
                                "unit": "tokens",
                                "sum": {
                                    "aggregationTemporality": temporality,
                                    "isMonotonic": True,
                                    "dataPoints": points,
                                },
                            },
                            {
                                "name": "claude_code.cost.usage",
                                "unit": "USD",
                                "sum": {
                                    "aggregationTemporality": temporality,
                                    "isMonotonic": True,
                                    "dataPoints": [cost],
                                },
                            },
                            {
                                "name": "claude_code.lines_of_code.count",
                                "sum": {"dataPoints": [{"asInt": "7", "timeUnixNano": str(now)}]},
                            },
                        ],
                    }
                ],
            }
        ]
    }


def logs_export(task: str, session: str) -> dict[str, Any]:
    now = time.time_ns()
    event = {
        "timeUnixNano": str(now),
        "body": {"stringValue": "claude_code.api_request"},
        "attributes": _attrs(
            event__name="api_request",
            event__timestamp=datetime.now(UTC).isoformat().replace("+00:00", "Z"),
            session__id=session,
            model="claude-sonnet-4-5",
            input_tokens=10,
            output_tokens=20,
            cache_read_tokens=30,
            cache_creation_tokens=40,
            cost_usd=0.001,
            duration_ms=900,
        ),
    }
    prompt = {
        "timeUnixNano": str(now),
        "attributes": _attrs(
            event__name="user_prompt", prompt="SECRET-PROMPT-TEXT", session__id=session
        ),
    }
    return {
        "resourceLogs": [
            {
                "resource": {"attributes": _attrs(nexus__task__id=task)},
                "scopeLogs": [{"logRecords": [event, prompt]}],
            }
        ]
    }


@pytest.fixture
def receiver(tasks_project: Path) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [*nexus_exe(), "telemetry", "receive", "--listen", "127.0.0.1:0"],
        cwd=tasks_project,
        env=dict(os.environ),
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        line = proc.stderr.readline()
        assert "receiving OTLP at http://127.0.0.1:" in line, line
        yield line.split(" at ", 1)[1].split(" ", 1)[0], proc
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


def post(
    url: str, body: bytes, content_type: str = "application/json", **headers: str
) -> tuple[int, Any]:
    request = urllib.request.Request(
        url, data=body, method="POST", headers={"Content-Type": content_type, **headers}
    )
    try:
        with urllib.request.urlopen(request, timeout=30) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as exc:
        return exc.code, json.loads(exc.read() or b"{}")


def cost_now() -> dict[str, Any]:
    tomorrow = (datetime.now(UTC) + timedelta(days=1)).strftime("%Y-%m-%d")
    result = run_nexus("stats", "--cost", "--since", "1d", "--until", tomorrow, "--json")
    assert result.exit_code == 0, result.stderr
    return dict(result.json()["cost"])


def test_an_export_posted_to_the_receiver_is_attributed_to_its_task(
    receiver: tuple[str, subprocess.Popen[str]],
) -> None:
    url, proc = receiver
    task = new_task("Exported")
    ok("task", "claim", task)
    export = json.dumps(metrics_export(task, "sess-1")).encode()
    assert post(url + "/v1/metrics", export) == (200, {})
    assert post(url + "/v1/metrics", export) == (200, {})  # a retried export: counted once
    cost = cost_now()
    [row] = cost["tasks"]
    assert (row["task_id"], row["tokens"], row["outcome"]) == (task, 6500, "in_progress")
    assert row["reported_cost_usd"] == pytest.approx(0.0123)
    # shipped price of claude-sonnet-4-5: 1000*3 + 200*15 + 300*3.75 + 5000*0.3 per million
    assert row["cost_usd"] == pytest.approx((3000 + 3000 + 1125 + 1500) / 1e6)
    proc.send_signal(signal.SIGTERM)  # stops cleanly: the summary, then the exit code of SIGTERM
    assert proc.wait(timeout=30) == 143
    assert proc.stderr is not None and "received 2 exports" in proc.stderr.read()


def test_a_cumulative_series_replaces_its_running_total(
    receiver: tuple[str, subprocess.Popen[str]],
) -> None:
    url, _ = receiver
    task = new_task("Cumulative")
    start = time.time_ns() - 10**9  # a cumulative series keeps its start time
    for scale in (1, 3):
        export = metrics_export(task, "sess-c", temporality=2, scale=scale, start=start)
        body = json.dumps(export).encode()
        assert post(url + "/v1/metrics", body)[0] == 200
    assert cost_now()["tasks"][0]["tokens"] == 3 * 6500


def test_log_events_and_gzip_bodies_are_read_and_only_counts_kept(
    receiver: tuple[str, subprocess.Popen[str]], isolated_home: Path
) -> None:
    url, _ = receiver
    task = new_task("Logged")
    body = gzip.compress(json.dumps(logs_export(task, "sess-l")).encode())
    assert post(url + "/v1/logs", body, **{"Content-Encoding": "gzip"}) == (200, {})
    row = cost_now()["tasks"][0]
    assert (row["task_id"], row["tokens"], row["reported_cost_usd"]) == (task, 100, 0.001)
    stored = b"".join(p.read_bytes() for p in (isolated_home / "nexus-home").glob("telemetry.db*"))
    assert b"SECRET-PROMPT-TEXT" not in stored and b"sess-l" not in stored


def test_a_record_with_a_bad_value_is_left_out_and_the_rest_kept(
    receiver: tuple[str, subprocess.Popen[str]],
) -> None:
    """OTLP's partial success: one record with a negative token count does not lose the
    batch it came in (Claude Code batches records, and no OTLP client retries a 400)."""
    url, _ = receiver
    task = new_task("Partly")
    export = logs_export(task, "sess-p")
    records = export["resourceLogs"][0]["scopeLogs"][0]["logRecords"]
    bad = json.loads(json.dumps(records[0]))
    for attribute in bad["attributes"]:
        if attribute["key"] == "input_tokens":
            attribute["value"] = {"intValue": -100}
    records.append(bad)
    status, answer = post(url + "/v1/logs", json.dumps(export).encode())
    assert status == 200
    assert answer == {
        "partialSuccess": {
            "rejectedLogRecords": 1,
            "errorMessage": "input_tokens is not a token count",
        }
    }
    assert cost_now()["tasks"][0]["tokens"] == 100  # the good record is kept


def test_a_log_record_time_of_zero_is_unknown_not_1970(
    receiver: tuple[str, subprocess.Popen[str]],
) -> None:
    """OTLP: a ``timeUnixNano`` of 0 is unknown: ``observedTimeUnixNano`` stands in for it."""
    url, _ = receiver
    task = new_task("Observed")
    export = logs_export(task, "sess-o")
    record = export["resourceLogs"][0]["scopeLogs"][0]["logRecords"][0]
    record["observedTimeUnixNano"], record["timeUnixNano"] = record["timeUnixNano"], "0"
    assert post(url + "/v1/logs", json.dumps(export).encode()) == (200, {})
    assert cost_now()["tasks"][0]["tokens"] == 100  # counted today, not on 1970-01-01


def test_protobuf_exports_are_read_when_opentelemetry_proto_is_installed(
    receiver: tuple[str, subprocess.Popen[str]],
) -> None:
    json_format = pytest.importorskip("google.protobuf.json_format")
    service = pytest.importorskip("opentelemetry.proto.collector.metrics.v1.metrics_service_pb2")
    url, _ = receiver
    task = new_task("Protobuf")
    message = json_format.ParseDict(
        metrics_export(task, "sess-p"), service.ExportMetricsServiceRequest()
    )
    status, _ = post(url + "/v1/metrics", message.SerializeToString(), "application/x-protobuf")
    assert status == 200
    assert cost_now()["tasks"][0]["tokens"] == 6500


@pytest.mark.parametrize(
    ("path", "body", "content_type", "status"),
    [
        ("/v1/metrics", b"{not json", "application/json", 400),
        ("/v1/metrics", b'{"resourceMetrics": "nope"}', "application/json", 400),
        ("/v1/metrics", b'{"something": "else"}', "application/json", 400),
        ("/v1/metrics", b'{"a": NaN}', "application/json", 400),
        ("/v1/logs", b"\x00\x01garbage", "application/x-protobuf", 400),
        ("/v1/metrics", b"{}", "text/plain", 415),
        ("/v1/traces", b"{}", "application/json", 404),
    ],
)
def test_garbage_is_refused_and_nothing_stored(
    receiver: tuple[str, subprocess.Popen[str]],
    path: str,
    body: bytes,
    content_type: str,
    status: int,
) -> None:
    url, proc = receiver
    code, answer = post(url + path, body, content_type)
    assert code == status and answer["error"]
    assert cost_now()["total"]["tokens"] == 0
    assert proc.poll() is None  # still serving


def test_a_body_too_large_is_refused_before_it_is_read(
    receiver: tuple[str, subprocess.Popen[str]],
) -> None:
    url, proc = receiver
    host, port = url.removeprefix("http://").split(":")
    connection = http.client.HTTPConnection(host, int(port), timeout=30)
    connection.putrequest("POST", "/v1/metrics")
    connection.putheader("Content-Type", "application/json")
    connection.putheader("Content-Length", str(64 * 1024 * 1024))
    connection.endheaders()  # the body is never sent: the answer comes first
    assert connection.getresponse().status == 413
    connection.close()
    bomb = gzip.compress(b"[" * (6 * 1024 * 1024))
    code, _ = post(url + "/v1/metrics", bomb, **{"Content-Encoding": "gzip"})
    assert code == 413
    assert proc.poll() is None


@pytest.mark.parametrize("address", ["0.0.0.0:4318", "192.168.1.5:4318", "example.com:4318"])
def test_only_a_loopback_address_is_accepted(tasks_project: Path, address: str) -> None:
    result = run_nexus("telemetry", "receive", "--listen", address)
    assert result.exit_code == 2 and "Traceback" not in result.stderr
    assert "--listen" in result.stderr or "loopback" in result.stderr
    assert "9464" not in result.stderr  # serve --metrics's port; the receiver's is 4318


def test_an_amount_under_a_cent_shows_its_first_figures() -> None:
    assert dollars_text({"cost_usd": 0.0036, "cost_complete": True}) == "$0.0036"
    assert dollars_text({"cost_usd": 0.0, "cost_complete": True}) == "$0.00"
    assert dollars_text({"cost_usd": 4.5, "cost_complete": False}) == "$4.50 + unknown"
