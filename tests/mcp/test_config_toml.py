"""Codex's config.toml through tomlkit: the user's text stays, Nexus's table comes and goes."""

from __future__ import annotations

import tomllib

import pytest

from nexus_cli import config_json
from nexus_cli.errors import ConfigError, ConflictError
from nexus_cli.mcp import config_toml

SERVER = {"command": "nexus", "args": ["mcp"]}
ENTRY = {"path": ["mcp_servers"], "key": "nexus", "value": SERVER}


@pytest.mark.parametrize(
    "text",
    [
        "",
        'model = "o3"\n',
        'model = "o3"',
        '# mine\nmodel = "o3"  # fav\n\n[mcp_servers]\nother = { command = "x" }\n\n[p.f]\nm = 1\n',
        '[mcp_servers.other]\ncommand = "x"\n\n[profiles.fast]\nmodel = "o3"\n',
        'mcp_servers = { other = { command = "x" } }\n',
        'mcp_servers.other.command = "x"\nmodel = "o3"\n',  # dotted keys: tomlkit alone errs
        "[mcp_servers]\n",
    ],
)
def test_add_keeps_the_users_data_and_comes_out_again(text: str) -> None:
    entries = config_toml.missing(text, [ENTRY], "f")
    after, inserts, created = config_toml.add(text, entries, "f")
    data = tomllib.loads(after)
    assert data["mcp_servers"]["nexus"] == SERVER
    before = tomllib.loads(text)
    assert {k: v for k, v in data.items() if k != "mcp_servers"} == {
        k: v for k, v in before.items() if k != "mcp_servers"
    }
    assert not config_toml.missing(after, [ENTRY], "f")
    if inserts is not None:
        assert config_json.undo(after, inserts) == text
    assert tomllib.loads(config_toml.remove(after, [ENTRY], created, "f")) == before


def test_a_present_entry_is_not_missing_and_a_different_one_conflicts() -> None:
    same = '[mcp_servers]\nnexus = { command = "nexus", args = ["mcp"] }\n'
    assert config_toml.missing(same, [ENTRY], "f") == []
    with pytest.raises(ConflictError):
        config_toml.missing('[mcp_servers.nexus]\ncommand = "/opt/nexus"\n', [ENTRY], "f")
    with pytest.raises(ConfigError, match="must be a table"):
        config_toml.missing("mcp_servers = 3\n", [ENTRY], "f")
    with pytest.raises(ConfigError, match="not valid TOML"):
        config_toml.missing("x = \n", [ENTRY], "f")
