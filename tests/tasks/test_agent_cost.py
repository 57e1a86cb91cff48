"""`nexus stats --cost`: usage stored in a real telemetry.db, tasks with real histories (a
verified one with receipts, one done without, one cancelled, one still claimed), real prices."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from nexus_cli.project import find_project
from nexus_cli.tasks import agent_cost, otlp_receiver
from nexus_cli.tasks.agent_attribution import project_hash
from nexus_cli.telemetry.agents.records import Hasher, UsageRecord, sealed
from tests.conftest import run_nexus
from tests.tasks.conftest import approve_all, new_task, ok

SONNET = "claude-sonnet-4-5-20250929"


def usage(
    key: str,
    task: str | None,
    model: str = SONNET,
    *,
    source: str = "otlp-log",
    session: str = "s1",
    project: str | None = None,
    tokens: tuple[int, int, int, int] = (1000, 100, 0, 0),
) -> UsageRecord:
    record = UsageRecord(
        key=key,
        source=source,
        session_hash=session,
        model=model,
        at_ms=int(time.time() * 1000) - 60_000,
        input_tokens=tokens[0],
        output_tokens=tokens[1],
        cache_write_tokens=tokens[2],
        cache_read_tokens=tokens[3],
        task_id=task,
        project_hash=project,
    )
    return sealed(record, Hasher())


def cost() -> dict[str, Any]:
    result = run_nexus("stats", "--cost", "--json")
    assert result.exit_code == 0, result.stderr
    return dict(result.json()["cost"])


@pytest.fixture
def tasks(tasks_project: Path) -> dict[str, str]:
    verified = new_task("Verified", "--gate", "true", "--label", "persona:reviewer")
    approve_all(tasks_project, verified)
    ok("task", "start", verified)
    ok("task", "complete", verified)
    unverified = new_task("Closed without gates")
    ok("task", "start", unverified)
    ok("task", "complete", unverified)
    dropped = new_task("Dropped", "--label", "persona:reviewer")
    ok("task", "claim", dropped)
    ok("task", "cancel", dropped, "--reason", "not needed")
    working = new_task("Still working")
    ok("task", "claim", working)
    return {"verified": verified, "unverified": unverified, "dropped": dropped, "working": working}


def test_cost_per_verified_task_versus_abandoned_work(tasks: dict[str, str]) -> None:
    mine = project_hash(Hasher(), find_project())
    otlp_receiver.store(
        [
            usage("a", tasks["verified"], tokens=(1_000_000, 100_000, 0, 0)),
            usage("b", tasks["unverified"]),
            usage("c", tasks["dropped"], tokens=(0, 0, 0, 2_000_000)),
            usage("d", tasks["working"], "mystery-model-1"),
            usage("e", "nx-zzzz9999", project=mine),  # a task this history lacks
            usage("f", None, project=mine),
            usage("g", None, project="another-project"),
        ]
    )
    found = cost()
    outcomes = found["outcomes"]
    assert {k: v["tasks"] for k, v in outcomes.items()} == {
        "verified": 1,
        "done_unverified": 1,
        "abandoned": 1,
        "in_progress": 1,
        "unknown": 1,
    }
    # claude-sonnet-4-5: $3 per million input, $15 output, $0.30 cache read (shipped table)
    assert outcomes["verified"]["cost_usd"] == pytest.approx(3 + 1.5)
    assert outcomes["verified"]["per_task"]["cost_usd"] == pytest.approx(4.5)
    assert outcomes["abandoned"]["cost_usd"] == pytest.approx(0.6)
    assert outcomes["in_progress"]["cost_complete"] is False  # an unpriced model: no guess
    assert (
        outcomes["in_progress"]["cost_usd"] == 0
        and outcomes["in_progress"]["unpriced_tokens"] == 1100
    )
    assert outcomes["verified"]["wall_ms"] >= 0 and outcomes["verified"]["wall_ms"] is not None
    by_task = {t["task_id"]: t for t in found["tasks"]}
    assert by_task[tasks["verified"]]["outcome"] == "verified"
    assert by_task[tasks["verified"]]["persona"] == "reviewer"
    unknown = [t for t in found["tasks"] if t["outcome"] == "unknown"]
    assert [(t["task_id"], t["status"]) for t in unknown] == [(None, None)]
    assert "nx-zzzz9999" not in str(found)  # stored and shown as its hash only
    personas = {p["persona"]: p["tasks"] for p in found["personas"]}
    assert personas == {"reviewer": 2, "none": 3}
    models = {m["model"]: m for m in found["models"]}
    assert models["mystery-model-1"]["priced"] is False and models[SONNET]["priced"] is True
    assert found["unattributed"]["tokens"] == 1100
    assert found["outside_project"]["tokens"] == 1100  # another project's usage is not mixed in
    assert found["total"]["cost_complete"] is False


def test_user_prices_replace_and_add_models(
    tasks: dict[str, str], isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = isolated_home / "config-home"
    config.mkdir()
    (config / "config.yaml").write_text(
        "agent_prices:\n"
        "  mystery-model-1: {input: 10, output: 100, cache_write: 0, cache_read: 0}\n"
    )
    monkeypatch.setenv("NEXUS_CONFIG_HOME", str(config))
    otlp_receiver.store([usage("d", tasks["working"], "mystery-model-1")])
    working = cost()["outcomes"]["in_progress"]
    assert working["cost_complete"] is True
    assert working["cost_usd"] == pytest.approx((1000 * 10 + 100 * 100) / 1e6)


def test_a_bad_price_in_the_user_config_is_one_line(
    tasks_project: Path, isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    config = isolated_home / "config-home"
    config.mkdir()
    (config / "config.yaml").write_text(
        "agent_prices:\n  m: {input: -1, output: 1, cache_write: 1, cache_read: 1}\n"
    )
    monkeypatch.setenv("NEXUS_CONFIG_HOME", str(config))
    result = run_nexus("stats", "--cost")
    assert (
        result.exit_code != 0
        and "agent_prices.m" in result.stderr
        and "Traceback" not in result.stderr
    )


def test_a_session_ingested_and_exported_is_counted_once(tasks: dict[str, str]) -> None:
    task = tasks["working"]
    otlp_receiver.store(
        [
            usage("t", task, source="claude", session="both"),
            usage("l", task, source="otlp-log", session="both"),
            usage("m", task, source="otlp-metric", session="both"),
            usage("n", task, source="otlp-metric", session="metrics-only"),
        ]
    )
    [row] = cost()["tasks"]
    assert row["tokens"] == 2 * 1100 and row["sessions"] == 2


def test_the_table_names_outcomes_and_unknown_costs(tasks: dict[str, str]) -> None:
    otlp_receiver.store(
        [usage("a", tasks["verified"]), usage("d", tasks["working"], "mystery-model-1")]
    )
    result = run_nexus("stats", "--cost")
    assert result.exit_code == 0, result.stderr
    assert "verified" in result.stdout and "unknown" in result.stdout
    assert tasks["verified"] in result.stdout


def test_wall_time_is_the_time_claimed() -> None:
    from nexus_cli.tasks.model import Task

    start = datetime.now(UTC) - timedelta(hours=3)
    at = [
        (start + timedelta(minutes=m)).isoformat().replace("+00:00", "Z") for m in (0, 30, 60, 90)
    ]
    task = Task(
        id="nx-abcd",
        title="t",
        status="in_progress",
        history=[
            {"action": "transition", "from": "open", "to": "in_progress", "at": at[0]},
            {"action": "transition", "from": "in_progress", "to": "open", "at": at[1]},
            {"action": "transition", "from": "open", "to": "in_progress", "at": at[2]},
            {"action": "transition", "from": "in_progress", "to": "verifying", "at": at[3]},
        ],
    )
    now_ms = int((start + timedelta(minutes=120)).timestamp() * 1000)
    assert agent_cost.wall_ms(task, now_ms) == (30 + 60) * 60_000
