"""Imports made without the cyclic collector, and frozen after (nexus_cli/long_lived.py)."""

from __future__ import annotations

import gc

import pytest

from nexus_cli import long_lived


def test_the_collector_is_off_inside_and_what_was_made_is_frozen() -> None:
    before = gc.get_freeze_count()
    kept = [[object()] for _ in range(100)]  # tracked containers, made inside
    with long_lived.imports():
        assert not gc.isenabled()
        kept += [[object()] for _ in range(100)]
    assert gc.isenabled()
    assert gc.get_freeze_count() >= before + 100
    gc.unfreeze()  # back to normal for the rest of the session's tests


def test_a_failed_import_turns_the_collector_on_again() -> None:
    with pytest.raises(ModuleNotFoundError), long_lived.imports():
        import nexus_cli_no_such_module  # type: ignore[import-not-found]  # noqa: F401
    assert gc.isenabled()
    gc.unfreeze()
