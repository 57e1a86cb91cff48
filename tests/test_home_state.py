"""nexus_cli.home_state: private JSON documents in $NEXUS_HOME, read without following links,
updated under a lock, written 0600."""

from __future__ import annotations

import json
import os
import stat
import threading
from pathlib import Path

import pytest

from nexus_cli import home_state
from nexus_cli.errors import StateError
from nexus_cli.safe_path import LinkInPathError

KW = {"what": "test decisions", "hint": "move it aside"}


def _home() -> Path:
    return Path(os.environ["NEXUS_HOME"])


def test_a_missing_document_is_empty_and_an_update_writes_it_private() -> None:
    assert home_state.read("decisions", "p", "items", **KW) == {}
    with home_state.updating("decisions", "p", "items", header={"format": 1}, **KW) as items:
        items["a"] = "b"
    path = _home() / "decisions" / "p.json"
    assert json.loads(path.read_text()) == {"format": 1, "items": {"a": "b"}}
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert stat.S_IMODE(path.parent.stat().st_mode) == 0o700
    assert home_state.read("decisions", "p", "items", **KW) == {"a": "b"}


@pytest.mark.parametrize("text", ["not json", "[]", '{"items": []}', '{"other": {}}'])
def test_a_document_that_is_not_one_is_a_state_error_with_the_hint(text: str) -> None:
    folder = _home() / "decisions"
    folder.mkdir(parents=True)
    (folder / "p.json").write_text(text)
    with pytest.raises(StateError) as caught:
        home_state.read("decisions", "p", "items", **KW)
    assert caught.value.hint == "move it aside"
    assert "test decisions" in caught.value.message


def test_a_link_on_the_way_is_refused(tmp_path: Path) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir()
    (elsewhere / "p.json").write_text(json.dumps({"items": {"a": "planted"}}))
    _home().mkdir(parents=True, exist_ok=True)
    (_home() / "decisions").symlink_to(elsewhere)
    with pytest.raises(LinkInPathError):
        home_state.read("decisions", "p", "items", **KW)


def test_concurrent_updates_lose_nothing() -> None:
    def add(i: int) -> None:
        with home_state.updating("decisions", "p", "items", header={}, **KW) as items:
            items[str(i)] = i

    threads = [threading.Thread(target=add, args=(i,)) for i in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert home_state.read("decisions", "p", "items", **KW) == {str(i): i for i in range(8)}
