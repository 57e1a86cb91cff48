from __future__ import annotations

from nexus_cli.plural import plural


def test_one_is_singular_and_other_counts_plural() -> None:
    assert plural(1, "network") == "1 network"
    assert plural(2, "network") == "2 networks"
    assert plural(0, "volume") == "0 volumes"
    assert plural(1, "entry", "entries") == "1 entry"
    assert plural(3, "entry", "entries") == "3 entries"
