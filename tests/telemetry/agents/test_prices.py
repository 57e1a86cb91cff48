"""The price table: shipped with its sources and date, dated model names, the user's prices."""

from __future__ import annotations

from pathlib import Path

import pytest

from nexus_cli.errors import ConfigError
from nexus_cli.telemetry.agents import prices


def test_the_shipped_table_says_where_its_prices_come_from() -> None:
    table = prices.shipped()
    assert table.retrieved and all(s.startswith("https://") for s in table.sources)
    sonnet = table.of("claude-sonnet-4-5")
    assert sonnet is not None and sonnet.origin == "shipped"
    assert sonnet.cost(1_000_000, 1_000_000, 1_000_000, 1_000_000) == pytest.approx(
        3 + 15 + 3.75 + 0.3
    )


def test_a_dated_name_is_its_model_and_an_unknown_model_has_no_price() -> None:
    table = prices.shipped()
    assert table.of("claude-sonnet-4-5-20250929") == table.of("claude-sonnet-4-5")
    assert table.of("claude-sonnet-4-5-preview") is None
    assert table.of("claude-sonnet-9") is None and table.of("unknown") is None


def test_the_user_config_adds_and_replaces(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("NEXUS_CONFIG_HOME", str(isolated_home))
    (isolated_home / "config.yaml").write_text(
        "agent_prices:\n"
        "  claude-sonnet-4-5: {input: 1, output: 2, cache_write: 3, cache_read: 4}\n"
        "  local-llm: {input: 0, output: 0, cache_write: 0, cache_read: 0}\n"
    )
    table = prices.load()
    assert table.of("claude-sonnet-4-5-20250929") == prices.Price(1, 2, 3, 4, "config")
    assert table.of("local-llm") == prices.Price(0, 0, 0, 0, "config")


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ("{input: 1, output: 2}", "must set exactly"),
        ("{input: -1, output: 2, cache_write: 3, cache_read: 4}", "input must be from 0"),
        ("{input: yes, output: 2, cache_write: 3, cache_read: 4}", "input must be a number"),
        ("[1, 2, 3, 4]", "must set exactly"),
    ],
)
def test_a_bad_user_price_names_the_file_and_key(
    isolated_home: Path, monkeypatch: pytest.MonkeyPatch, entry: str, problem: str
) -> None:
    monkeypatch.setenv("NEXUS_CONFIG_HOME", str(isolated_home))
    (isolated_home / "config.yaml").write_text(f"agent_prices:\n  m1: {entry}\n")
    with pytest.raises(ConfigError) as caught:
        prices.load()
    assert (
        "config.yaml: agent_prices.m1:" in caught.value.message and problem in caught.value.message
    )
