"""The JSON contract (docs/json.md): every ``--json`` command has a schema in docs/schemas/v1,
and what it really prints validates against it; exports and sync payloads too.

The commands run for real once per module (``tests/json_runs.py``); each is then checked here.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import click
import pytest

from nexus_cli.mcp.schemas import errors as _errors  # the check nexus mcp uses too
from tests.conftest import REPO_ROOT
from tests.json_runs import Collector, Outputs, Runs, every_json_command

SCHEMAS = REPO_ROOT / "docs" / "schemas" / "v1"
# Schemas of outputs that are not a --json command (exports, sync payloads, MCP tool results
# without a --json twin), and the shared definitions.
NOT_COMMANDS = {"common", "export", "export-ndjson", "sync-ndjson", "mcp-task-context"}
RFC3339_Z = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d{1,9})?Z$")


def _walk(command: click.Command, path: list[str], ctx: click.Context) -> Iterator[str]:
    if any("--json" in getattr(p, "opts", []) for p in command.params):
        yield " ".join(path)
    if isinstance(command, click.Group):
        for name in command.list_commands(ctx):
            sub = command.get_command(ctx, name)
            if sub is not None and not sub.hidden:
                yield from _walk(sub, [*path, name], ctx)


def json_commands() -> list[str]:
    """Every command (leaf or group) that takes ``--json``, e.g. ``task list``."""
    from nexus_cli.cli import cli

    with click.Context(cli) as ctx:
        return sorted(_walk(cli, [], ctx))


def schema_file(command: str) -> Path:
    return SCHEMAS / f"{command.replace(' ', '-')}.schema.json"


@pytest.fixture(scope="module")
def ran(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[Outputs, Runs, Collector]]:
    with every_json_command(tmp_path_factory.mktemp("json-contract")) as found:
        yield found


def test_every_json_command_has_a_schema_and_every_schema_a_command() -> None:
    commands = json_commands()
    assert len(commands) > 40 and "task list" in commands and "insights" in commands
    missing = [c for c in commands if not schema_file(c).is_file()]
    assert missing == [], f"--json commands without a schema in {SCHEMAS}: {missing}"
    names = {p.name.removesuffix(".schema.json") for p in SCHEMAS.glob("*.schema.json")}
    orphans = names - NOT_COMMANDS - {c.replace(" ", "-") for c in commands}
    assert orphans == set(), f"schemas for no command: {sorted(orphans)}"


@pytest.mark.parametrize("path", sorted(SCHEMAS.glob("*.schema.json")), ids=lambda p: p.name)
def test_schemas_are_valid_versioned_and_strict(path: Path) -> None:
    from jsonschema import Draft202012Validator

    schema = json.loads(path.read_text())
    Draft202012Validator.check_schema(schema)
    assert schema["x-nexus-contract"] == 1 and schema["title"]
    loose = []

    def walk(node: Any, where: str) -> None:
        if isinstance(node, dict):
            if "properties" in node and "additionalProperties" not in node:
                loose.append(where)
            for key, value in node.items():
                walk(value, f"{where}/{key}")
        elif isinstance(node, list):
            for i, value in enumerate(node):
                walk(value, f"{where}/{i}")

    walk(schema, "")
    assert loose == [], f"objects that do not say whether other keys may appear: {loose}"


def test_the_timestamp_definition_requires_z() -> None:
    definition = {"$ref": "common.schema.json#/$defs/timestamp"}
    for good in ("2026-11-30T17:59:00.436Z", "2026-11-30T17:59:12.865163Z", "2026-11-30T17:59:00Z"):
        assert RFC3339_Z.match(good)
        assert _errors_for(definition, good) == []
    for bad in ("2026-11-30 17:59:00.436", "2026-11-30T17:59:00+00:00", "2026-11-30T17:59:00"):
        assert _errors_for(definition, bad) != [], bad


def _errors_for(schema: dict[str, Any], value: Any) -> list[str]:
    from jsonschema import Draft202012Validator
    from referencing import Registry, Resource

    common = json.loads((SCHEMAS / "common.schema.json").read_text())
    registry: Registry[Any] = Registry().with_resource(
        "common.schema.json", Resource.from_contents(common)
    )
    return [e.message for e in Draft202012Validator(schema, registry=registry).iter_errors(value)]


def test_every_json_command_was_run(ran: tuple[Outputs, Runs, Collector]) -> None:
    outputs, _, _ = ran
    assert sorted(outputs) == json_commands()


@pytest.mark.parametrize("command", json_commands())
def test_output_validates_against_its_schema(
    command: str, ran: tuple[Outputs, Runs, Collector]
) -> None:
    outputs, _, _ = ran
    assert outputs.get(command), f"{command} --json was not run"
    for document in outputs[command]:
        assert _errors(command.replace(" ", "-"), document) == []


def _timestamps(node: Any, key: str = "") -> Iterator[tuple[str, Any]]:
    """Every value whose key says it is a moment (``*_at``, ``time``, ``since``...)."""
    moments = {
        "at",
        "time",
        "timestamp",
        "since",
        "until",
        "oldest",
        "newest",
        "first_seen",
        "last_seen",
    }
    if isinstance(node, dict):
        for k, v in node.items():
            label = key == "work_lost" and k == "since"  # "last checkpoint": what, not when
            if (k in moments or k.endswith("_at")) and not label and not isinstance(v, dict | list):
                yield k, v
            else:
                yield from _timestamps(v, k)
    elif isinstance(node, list):
        for v in node:
            yield from _timestamps(v, key)


def test_every_timestamp_in_json_output_is_rfc3339_utc(
    ran: tuple[Outputs, Runs, Collector],
) -> None:
    outputs, run, _ = ran
    report = json.loads(run.texts["insights-report"])  # insights --report --format json
    assert report["insights"] and RFC3339_Z.match(report["generated_at"])
    seen = 0
    for command, documents in [*outputs.items(), ("insights --report", [report])]:
        for key, value in _timestamps(documents):
            if value is not None:
                assert isinstance(value, str) and RFC3339_Z.match(value), (command, key, value)
                seen += 1
    assert seen > 100


def test_exports_validate_and_events_are_the_default(
    ran: tuple[Outputs, Runs, Collector],
) -> None:
    _, run, _ = ran
    everything = json.loads(run.texts["export"])
    assert set(everything) == {"events", "sessions", "patterns"}
    assert _errors("export", everything) == []
    assert everything["patterns"] and everything["events"][0]["raw_data"]["options"] == ["as_json"]
    assert isinstance(everything["patterns"][0]["affected_sessions"], list)
    assert set(json.loads(run.texts["export-events"])) == {"events"}
    lines = [json.loads(line) for line in run.texts["export-ndjson"].splitlines()]
    assert {line["table"] for line in lines} == {"events", "sessions", "patterns"}
    for line in lines:
        assert _errors("export-ndjson", line) == []


def test_sync_ndjson_payload_validates(ran: tuple[Outputs, Runs, Collector]) -> None:
    _, _, collector = ran
    events = [json.loads(line) for body in collector.bodies for line in body.splitlines()]
    assert len(events) > 50
    for event in events:
        assert _errors("sync-ndjson", event) == []
        assert RFC3339_Z.match(event["timestamp"]) and isinstance(event["success"], bool)
    assert all(isinstance(e["raw_data"], dict | None) for e in events)
