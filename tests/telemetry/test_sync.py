"""`nexus sync` against a real HTTP collector on 127.0.0.1: exactly-once delivery, failures."""

from __future__ import annotations

import json
import os
import stat
import time

from nexus_cli import paths
from nexus_cli.telemetry import synthetic
from tests.conftest import run_nexus, run_process
from tests.telemetry.conftest import Receiver, db_rows


def _all_ids() -> list[int]:
    return [r[0] for r in db_rows("SELECT id FROM events ORDER BY id")]


def _record(n: int) -> None:
    for i in range(n):
        run_nexus("version") if i % 3 else run_nexus("no-such-command")


def test_otlp_delivers_every_event_once_with_semantic_attributes(receiver: Receiver) -> None:
    _record(6)
    setup = run_nexus("sync", "setup", receiver.url, "--header", "Authorization=Bearer s3cret")
    assert setup.exit_code == 0 and "s3cret" not in setup.stderr + setup.stdout
    result = run_nexus("--no-telemetry", "sync", "now", "--json")
    assert result.exit_code == 0, result.stderr
    ids = _all_ids()
    assert sorted(receiver.event_ids()) == ids and result.json()["sent"] == len(ids)
    path, headers, _ = receiver.accepted[0]
    assert path == "/v1/logs" and headers["Authorization"] == "Bearer s3cret"
    records = receiver.otlp_records()
    attrs = [{a["key"]: a["value"] for a in r["attributes"]} for r in records]
    assert {a["process.exit.code"]["intValue"] for a in attrs} == {"0", "2"}
    failed = [a for a in attrs if a["process.exit.code"]["intValue"] == "2"]
    assert all(a["error.type"]["stringValue"] == "usage" for a in failed)
    assert all("session.id" in a for a in attrs)
    assert all("error.type" not in a for a in attrs if a["process.exit.code"]["intValue"] == "0")
    again = run_nexus("--no-telemetry", "sync", "now", "--json")
    assert again.json()["sent"] == 0 and len(receiver.accepted) == 1


def test_a_receiver_failing_first_then_succeeding_gets_each_event_exactly_once(
    receiver: Receiver,
) -> None:
    synthetic.fill(str(paths.telemetry_db_path()), 1200, 3)
    run_nexus("sync", "setup", receiver.url)
    receiver.plan = [500]  # the first request fails, the retry succeeds
    first = run_nexus("--no-telemetry", "sync", "now", "--batch-size", "500")
    assert first.exit_code == 0, first.stderr
    assert receiver.refused == 1
    # a whole sync that fails part-way: batch 1 accepted, batch 2 refused on every attempt
    _record(3)
    synthetic.fill(str(paths.telemetry_db_path()), 700, 3, seed=3)
    receiver.plan = [200, 500, 500]
    failed = run_nexus("--no-telemetry", "sync", "now", "--batch-size", "500", "--retries", "1")
    assert failed.exit_code == 1
    assert len(failed.stderr.splitlines()) == 1
    assert failed.stderr.startswith(
        "error: sync failed: the collector answered HTTP 500; sent 500,"
    )
    status = run_nexus("sync", "status", "--json").json()
    assert status["pending"] == 203
    final = run_nexus("--no-telemetry", "sync", "now", "--batch-size", "500")
    assert final.exit_code == 0, final.stderr
    delivered = receiver.event_ids()
    assert sorted(delivered) == _all_ids() and len(delivered) == len(set(delivered))


def test_unreachable_collector_loses_nothing(receiver: Receiver) -> None:
    _record(2)
    run_nexus("sync", "setup", "http://127.0.0.1:9/collector")
    result = run_nexus("--no-telemetry", "sync", "now", "--retries", "0", "--timeout", "2")
    assert result.exit_code == 1
    assert result.stderr.startswith("error: sync failed: cannot reach http://127.0.0.1:9/collector")
    assert len(result.stderr.splitlines()) == 1
    assert run_nexus("--no-telemetry", "sync", "status", "--json").json()["pending"] == len(
        _all_ids()
    )
    run_nexus("--no-telemetry", "sync", "setup", receiver.url)
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    assert sorted(receiver.event_ids()) == _all_ids()


def test_json_protocol_posts_ndjson(receiver: Receiver) -> None:
    _record(4)
    run_nexus("sync", "setup", f"{receiver.url}/ingest", "--protocol", "json")
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    path, headers, body = receiver.accepted[0]
    assert path == "/ingest" and headers["Content-Type"] == "application/x-ndjson"
    lines = [json.loads(line) for line in body.decode().splitlines()]
    assert [line["id"] for line in lines] == _all_ids()


def test_settings_are_private_and_secrets_never_printed(receiver: Receiver) -> None:
    run_nexus("sync", "setup", receiver.url, "--header", "X-Api-Key=topsecret")
    config = paths.nexus_home() / "sync.json"
    assert stat.S_IMODE(config.stat().st_mode) == 0o600
    for args in (["sync", "status"], ["sync", "status", "--json"], ["telemetry", "status"]):
        result = run_nexus(*args)
        assert result.exit_code == 0, result.stderr
        assert "topsecret" not in result.stdout + result.stderr
    assert "X-Api-Key=<hidden>" in run_nexus("sync", "status").stdout
    bad = run_nexus("sync", "setup", "ftp://example.invalid")
    assert bad.exit_code == 2 and "not an http(s) URL" in bad.stderr
    assert run_nexus("sync", "setup", receiver.url, "--header", "novalue").exit_code == 2


def test_purged_ids_restart_and_are_still_sent(receiver: Receiver) -> None:
    _record(3)
    run_nexus("sync", "setup", receiver.url)
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    assert run_nexus("telemetry", "purge", "--yes").exit_code == 0
    _record(2)
    assert run_nexus("--no-telemetry", "sync", "now").exit_code == 0
    assert receiver.event_ids() == [1, 2, 3, 4, 1, 2]  # 3 + the setup event, then 2 new


def test_auto_sync_runs_in_the_background_after_a_command(receiver: Receiver) -> None:
    run_nexus("sync", "setup", receiver.url)
    assert run_nexus("--no-telemetry", "sync", "auto", "on", "--interval", "0").exit_code == 0
    started = time.perf_counter()
    done = run_process("version", env={"NEXUS_HOME": os.environ["NEXUS_HOME"]})
    elapsed = time.perf_counter() - started
    assert done.returncode == 0 and elapsed < 5
    deadline = time.time() + 20
    while time.time() < deadline and not receiver.accepted:
        time.sleep(0.1)
    assert sorted(receiver.event_ids()) == _all_ids() and receiver.event_ids()
    assert run_nexus("--no-telemetry", "sync", "auto", "off").exit_code == 0
    assert not (paths.nexus_home() / "sync.auto").exists()


def test_auto_and_now_need_a_destination() -> None:
    for args in (["sync", "auto", "on"], ["sync", "now"], ["sync", "status"]):
        result = run_nexus(*args)
        assert result.exit_code == 1, args
        assert result.stderr.splitlines()[0] == "error: sync is not set up"
    assert not (paths.nexus_home() / "sync.auto").exists()
