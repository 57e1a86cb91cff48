"""What a model's tokens cost: the price table shipped with Nexus, and the user's own prices.

The shipped table (``prices.json`` beside this module) says where its prices come from and when
they were read; prices are USD per million tokens, for input, output, cache writes and cache
reads. A user's ``agent_prices:`` section in ``$NEXUS_CONFIG_HOME/config.yaml`` adds models or
replaces shipped ones::

    agent_prices:
      my-model: {input: 3, output: 15, cache_write: 3.75, cache_read: 0.3}

A model is looked up by its exact name, then without a trailing ``-YYYYMMDD`` release date
(``claude-sonnet-4-5-20250929`` is ``claude-sonnet-4-5``). A model found in neither has no
price: its tokens are counted and its cost is unknown (``None``), never estimated from another.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from nexus_cli import jsonio
from nexus_cli.config_yaml import config_section, key_error
from nexus_cli.paths import user_config_dir

PRICES_FILE = Path(__file__).resolve().parent / "prices.json"
USER_CONFIG = "config.yaml"
SECTION = "agent_prices"
FIELDS = ("input", "output", "cache_write", "cache_read")
MAX_PRICE = 1_000_000.0  # USD per million tokens: anything above is a typing error
_DATED = re.compile(r"^(.+)-\d{8}$")


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cache_write: float
    cache_read: float
    origin: str  # "shipped" or "config"

    def cost(self, input: int, output: int, cache_write: int, cache_read: int) -> float:
        return (
            input * self.input
            + output * self.output
            + cache_write * self.cache_write
            + cache_read * self.cache_read
        ) / 1_000_000


@dataclass(frozen=True)
class PriceTable:
    prices: dict[str, Price]
    retrieved: str
    sources: list[str]

    def of(self, model: str) -> Price | None:
        found = self.prices.get(model)
        if found is None and (dated := _DATED.match(model)):
            found = self.prices.get(dated.group(1))
        return found


def _price(raw: object, origin: str) -> Price:
    if not isinstance(raw, dict) or set(raw) != set(FIELDS):
        raise ValueError(f"must set exactly {', '.join(FIELDS)}")
    values: list[float] = []
    for name in FIELDS:
        value = raw[name]
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{name} must be a number")
        if not 0 <= value <= MAX_PRICE:
            raise ValueError(f"{name} must be from 0 to {MAX_PRICE:,.0f}")
        values.append(float(value))
    return Price(values[0], values[1], values[2], values[3], origin)


def shipped() -> PriceTable:
    data: Any = jsonio.loads(PRICES_FILE.read_bytes())
    prices = {name: _price(raw, "shipped") for name, raw in data["models"].items()}
    return PriceTable(prices, str(data["retrieved"]), [str(s) for s in data["sources"]])


def user_config_path() -> Path:
    return user_config_dir() / USER_CONFIG


def load() -> PriceTable:
    """The shipped prices with the user's ``agent_prices`` on top; a bad entry in the user's
    file is a :class:`~nexus_cli.errors.ConfigError` naming the file and the key."""
    table = shipped()
    path = user_config_path()
    section = config_section(path, SECTION, what="user configuration") or {}
    prices = dict(table.prices)
    for model, raw in section.items():
        key = f"{SECTION}.{model}"
        if not isinstance(model, str) or not model or len(model) > 100:
            raise key_error(path, SECTION, "model names must be text of 1-100 characters")
        try:
            prices[model] = _price(raw, "config")
        except ValueError as exc:
            raise key_error(path, key, str(exc)) from None
    return PriceTable(prices, table.retrieved, table.sources)
