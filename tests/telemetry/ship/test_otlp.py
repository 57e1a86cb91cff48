"""OTLP encoding, checked with the official protobuf schema (opentelemetry-proto)."""

from __future__ import annotations

import json
import time
from typing import Any

from google.protobuf import json_format
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

from nexus_cli.telemetry.ship import otlp


def _event(**overrides: Any) -> dict[str, Any]:
    event = {
        "id": 7,
        "timestamp": "2026-11-30 17:59:00.436",
        "session_id": "sess-1",
        "event_type": "command",
        "command": "workspace create",
        "duration_ms": 1200,
        "success": 0,
        "exit_code": 1,
        "error_category": "docker_unavailable",
        "workspace_hash": "ab" * 8,
        "raw_data": json.dumps({"steps": {"worktree": 12, "services": 800}, "retries": 2}),
    }
    event.update(overrides)
    return event


def _attributes(record: Any) -> dict[str, Any]:
    return {a.key: a.value for a in record.attributes}


def test_protobuf_parses_with_the_official_schema() -> None:
    before = time.time_ns()
    data = otlp.logs_payload([_event(), _event(id=8, success=1, exit_code=0)], "protobuf")
    request = ExportLogsServiceRequest.FromString(data)
    resource = request.resource_logs[0]
    service = {a.key: a.value.string_value for a in resource.resource.attributes}
    assert service["service.name"] == "nexus-cli"
    records = resource.scope_logs[0].log_records
    assert len(records) == 2
    first = records[0]
    assert first.time_unix_nano == 1796061540436000000  # 2026-11-30 17:59:00.436 UTC
    assert first.observed_time_unix_nano >= before
    assert first.observed_time_unix_nano != first.time_unix_nano
    assert first.severity_text == "ERROR"
    attrs = _attributes(first)
    assert attrs["process.exit.code"].int_value == 1
    assert attrs["error.type"].string_value == "docker_unavailable"
    assert attrs["session.id"].string_value == "sess-1"
    assert attrs["nexus.command"].string_value == "workspace create"
    assert attrs["nexus.command.group"].string_value == "workspace"
    steps = {kv.key: kv.value.int_value for kv in attrs["nexus.data.steps"].kvlist_value.values}
    assert steps == {"worktree": 12, "services": 800}
    assert attrs["nexus.data.retries"].int_value == 2
    assert "nexus.raw_data" not in attrs


def test_json_encoding_is_the_same_message() -> None:
    events = [_event(raw_data=None, error_category=None, success=1, exit_code=0)]
    as_json = json.loads(otlp.logs_payload(events, "json"))
    message = json_format.ParseDict(as_json, ExportLogsServiceRequest())
    record = message.resource_logs[0].scope_logs[0].log_records[0]
    assert record.severity_text == "INFO"
    assert "error.type" not in _attributes(record)
    assert not any(k.startswith("nexus.data") for k in _attributes(record))


def test_values_of_every_kind() -> None:
    value = otlp._value({"f": 1.5, "b": True, "l": [1, "x", None], "n": None})
    assert value == {
        "kvlistValue": {
            "values": [
                {"key": "f", "value": {"doubleValue": 1.5}},
                {"key": "b", "value": {"boolValue": True}},
                {
                    "key": "l",
                    "value": {"arrayValue": {"values": [{"intValue": "1"}, {"stringValue": "x"}]}},
                },
            ]
        }
    }
    assert otlp._data_attributes("not json") == [otlp._attr("nexus.data", "not json")]
    assert otlp._data_attributes(None) == []
