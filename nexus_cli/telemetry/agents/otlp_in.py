"""Claude Code's OpenTelemetry export (OTLP, JSON encoding) read into usage records.

Read from a metrics export (``ExportMetricsServiceRequest``): the data points of
``claude_code.token.usage`` (attribute ``type``: ``input``, ``output``, ``cacheRead``,
``cacheCreation``) and ``claude_code.cost.usage`` (USD), each with its ``model`` and
``session.id`` attributes, its interval (``startTimeUnixNano``, ``timeUnixNano``) and the sum's
``aggregationTemporality``. A delta point is keyed by its series and interval; a cumulative
point by its series and start, so a later running total replaces the earlier one.

Read from a logs export (``ExportLogsServiceRequest``): ``api_request`` events
(``event.name``), with ``model``, ``input_tokens``, ``output_tokens``, ``cache_read_tokens``,
``cache_creation_tokens``, ``cost_usd``, ``session.id`` and ``event.timestamp``. Any other
metric or event, and every other attribute (prompts, tool input, user ids, paths), is skipped.

A ``nexus.task.id`` attribute (on the resource or the point: ``nexus loop`` puts it in
``OTEL_RESOURCE_ATTRIBUTES``) names the task; otherwise the session's task is found later from
the transcripts of the same session.

Names: https://code.claude.com/docs/en/monitoring-usage (Metrics, Events), read 2026-12-06.
"""

from __future__ import annotations

import time
from collections.abc import Iterator
from typing import Any

from nexus_cli.telemetry.agents.records import (
    BadRecord,
    Hasher,
    UsageRecord,
    count,
    model_name,
    task_id_or_none,
    text_id,
)

TOKEN_METRIC = "claude_code.token.usage"
COST_METRIC = "claude_code.cost.usage"
API_EVENTS = ("api_request", "claude_code.api_request")
TOKEN_TYPES = {
    "input": "input_tokens",
    "output": "output_tokens",
    "cacheRead": "cache_read_tokens",
    "cacheCreation": "cache_write_tokens",
}
TASK_ATTRIBUTES = ("nexus.task.id", "nexus.task_id")
DELTA, CUMULATIVE = 1, 2
MAX_POINTS = 100_000  # per export; Claude Code sends a few dozen


def _list(value: object, what: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise BadRecord(f"{what} is not a list")
    return value


def _value(raw: object) -> object:
    if not isinstance(raw, dict):
        return None
    for kind in ("stringValue", "intValue", "doubleValue", "boolValue"):
        if kind in raw:
            return raw[kind]
    return None


def attributes(raw: object) -> dict[str, object]:
    """OTLP ``KeyValue`` list as a mapping of the scalar values."""
    found: dict[str, object] = {}
    for item in _list(raw, "attributes"):
        if isinstance(item, dict) and isinstance(item.get("key"), str):
            found[item["key"]] = _value(item.get("value"))
    return found


def _nanos(value: object, what: str) -> int:
    if isinstance(value, str) and value.isdigit() and len(value) <= 20:
        value = int(value)
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value < 2**63:
        raise BadRecord(f"{what} is not a time in nanoseconds")
    return value


def _task(*sources: dict[str, object]) -> str | None:
    for attrs in sources:
        for name in TASK_ATTRIBUTES:
            if (task := task_id_or_none(attrs.get(name))) is not None:
                return task
    return None


def _cost(value: object) -> float:
    if isinstance(value, str):
        try:
            value = float(value)
        except ValueError:
            raise BadRecord("cost is not a number") from None
    if isinstance(value, bool) or not isinstance(value, int | float) or not 0 <= value < 1e9:
        raise BadRecord("cost is not a number of dollars")
    return float(value)


def metrics(doc: Any, hasher: Hasher, rejected: list[str]) -> Iterator[UsageRecord]:
    """The usage records in an OTLP/JSON metrics export; :class:`BadRecord` when its shape is
    not OTLP's. A data point with a value that is not a count or an amount (a negative token
    count, a time of 0) is left out and why appended to ``rejected``: the export's other
    points are kept (OTLP's partial success)."""
    if not isinstance(doc, dict) or "resourceMetrics" not in doc:
        raise BadRecord("not an OTLP metrics export (no resourceMetrics)")
    points = 0
    for resource in _list(doc["resourceMetrics"], "resourceMetrics"):
        if not isinstance(resource, dict):
            raise BadRecord("a resourceMetrics entry is not an object")
        res = attributes((resource.get("resource") or {}).get("attributes"))
        for scope in _list(resource.get("scopeMetrics"), "scopeMetrics"):
            for metric in _list((scope or {}).get("metrics"), "metrics"):
                if not isinstance(metric, dict) or metric.get("name") not in (
                    TOKEN_METRIC,
                    COST_METRIC,
                ):
                    continue
                body = metric.get("sum") or metric.get("gauge") or {}
                if not isinstance(body, dict):
                    raise BadRecord("a metric's sum is not an object")
                temporality = body.get("aggregationTemporality", DELTA)
                for point in _list(body.get("dataPoints"), "dataPoints"):
                    points += 1
                    if points > MAX_POINTS:
                        raise BadRecord(f"more than {MAX_POINTS} data points")
                    try:
                        found = _point(metric["name"], temporality, point, res, hasher)
                    except BadRecord as exc:
                        rejected.append(str(exc))
                        continue
                    if found is not None:
                        yield found


def _point(
    name: str, temporality: object, point: object, res: dict[str, object], hasher: Hasher
) -> UsageRecord | None:
    if not isinstance(point, dict):
        raise BadRecord("a data point is not an object")
    attrs = {**res, **attributes(point.get("attributes"))}
    session = text_id(attrs.get("session.id"), "session.id")
    model = model_name(attrs.get("model"))
    end = _nanos(point.get("timeUnixNano"), "timeUnixNano")
    if end == 0:  # OTLP: 0 is "unknown", which a data point's time may not be
        raise BadRecord("timeUnixNano is 0 (unknown)")
    start = _nanos(point.get("startTimeUnixNano", 0), "startTimeUnixNano")
    raw = point.get("asInt", point.get("asDouble"))
    record = UsageRecord(
        key="",
        source="otlp-metric",
        session_hash=hasher(session, kind="agent-session"),
        model=model,
        at_ms=end // 1_000_000,
        task_id=_task(attrs),
    )
    if name == TOKEN_METRIC:
        field = TOKEN_TYPES.get(str(attrs.get("type")))
        if field is None:
            return None
        setattr(record, field, count(raw, "token count"))
        series = f"{name}\0{session}\0{model}\0{attrs.get('type')}"
    else:
        record.reported_cost_usd = _cost(raw)
        series = f"{name}\0{session}\0{model}"
    interval = f"{start}" if temporality == CUMULATIVE else f"{start}\0{end}"
    record.key = hasher(f"otlp\0{series}\0{interval}", kind="agent-usage")
    return record


def logs(doc: Any, hasher: Hasher, rejected: list[str]) -> Iterator[UsageRecord]:
    """The usage records (``api_request`` events) in an OTLP/JSON logs export; a record with a
    bad value is left out, why appended to ``rejected`` (as :func:`metrics`)."""
    if not isinstance(doc, dict) or "resourceLogs" not in doc:
        raise BadRecord("not an OTLP logs export (no resourceLogs)")
    seen = 0
    for resource in _list(doc["resourceLogs"], "resourceLogs"):
        if not isinstance(resource, dict):
            raise BadRecord("a resourceLogs entry is not an object")
        res = attributes((resource.get("resource") or {}).get("attributes"))
        for scope in _list(resource.get("scopeLogs"), "scopeLogs"):
            for entry in _list((scope or {}).get("logRecords"), "logRecords"):
                seen += 1
                if seen > MAX_POINTS:
                    raise BadRecord(f"more than {MAX_POINTS} log records")
                try:
                    found = _api_request(entry, res, hasher)
                except BadRecord as exc:
                    rejected.append(str(exc))
                    continue
                if found is not None:
                    yield found


def _api_request(entry: object, res: dict[str, object], hasher: Hasher) -> UsageRecord | None:
    if not isinstance(entry, dict):
        raise BadRecord("a log record is not an object")
    attrs = {**res, **attributes(entry.get("attributes"))}
    body = _value(entry.get("body"))
    if attrs.get("event.name") not in API_EVENTS and body not in API_EVENTS:
        return None
    session = text_id(attrs.get("session.id"), "session.id")
    # OTLP: a time of 0 is unknown; the time observed stands in for it, else the time received
    end = (
        _nanos(entry.get("timeUnixNano", 0), "timeUnixNano")
        or _nanos(entry.get("observedTimeUnixNano", 0), "observedTimeUnixNano")
        or time.time_ns()
    )
    counts = [
        count(attrs.get(k), k)
        for k in ("input_tokens", "output_tokens", "cache_creation_tokens", "cache_read_tokens")
    ]
    model = model_name(attrs.get("model"))
    cost = attrs.get("cost_usd")
    stamp = attrs.get("event.timestamp") if isinstance(attrs.get("event.timestamp"), str) else end
    unique = f"{session}\0{model}\0{str(stamp)[:64]}\0{counts}"
    return UsageRecord(
        key=hasher(f"otlp-log\0{unique}", kind="agent-usage"),
        source="otlp-log",
        session_hash=hasher(session, kind="agent-session"),
        model=model,
        at_ms=end // 1_000_000,
        input_tokens=counts[0],
        output_tokens=counts[1],
        cache_write_tokens=counts[2],
        cache_read_tokens=counts[3],
        reported_cost_usd=None if cost is None else _cost(cost),
        task_id=_task(attrs),
    )
