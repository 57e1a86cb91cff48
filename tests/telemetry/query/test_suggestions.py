"""Every fix an insight suggests names only commands and options that exist."""

from __future__ import annotations

import re
from collections import Counter

import pytest

from nexus_cli.telemetry.query import suggestions
from tests.conftest import run_nexus

SNIPPET = re.compile(r"`(nexus [^`]+)`")


def _all_texts() -> list[str]:
    texts = [*suggestions._SLOW.values(), *suggestions._ERRORS.values()]
    texts += [suggestions.REJECTION_FIX, suggestions.SHORT_LIVED_FIX]
    texts += [suggestions.for_slow_command("something else", 900, 300)]
    texts += [suggestions.for_port_conflict(Counter({5432: 3}))]
    texts += [suggestions.for_retry("task complete", c) for c in suggestions._ERRORS]
    return texts


def _snippets() -> list[str]:
    found = sorted({m for text in _all_texts() for m in SNIPPET.findall(text)})
    assert len(found) >= 6
    return found


@pytest.mark.parametrize("snippet", _snippets())
def test_suggested_commands_and_options_exist(snippet: str) -> None:
    words = snippet.split()[1:]
    plain = [w for w in words if not w.startswith("-") and not w.isupper()]
    # The longest prefix of the words that is a command (the rest are its arguments).
    for size in range(len(plain), 0, -1):
        path = words[:size]
        result = run_nexus(*path, "--help")
        if result.exit_code == 0 and f"Usage: nexus {' '.join(path)} [OPTIONS]" in result.stdout:
            break
    else:
        pytest.fail(f"`{snippet}` names no nexus command")
    for option in (w.split("=")[0] for w in words if w.startswith("--") and w != "--"):
        assert option in result.stdout, f"`{snippet}`: {option} is not an option of it"


def test_no_raw_milliseconds_in_slow_descriptions(project: object) -> None:
    from nexus_cli.telemetry.query.durations import human_ms

    assert human_ms(121062) == "2m 1s"
    assert human_ms(2500) == "2.5 s"


def test_insights_text_is_wrapped_with_hanging_indent(filled: object) -> None:
    result = run_nexus("insights", "--month")
    assert result.exit_code == 0, result.stderr
    lines = result.stdout.splitlines()
    assert lines and all(len(line) <= 80 for line in lines)
    assert all(line == line.rstrip() for line in lines)
    bullets = [line for line in lines if line.startswith("  • ")]
    assert bullets
    for line in lines:
        assert line == "" or line.startswith(("  • ", "    ", "  → "))
    assert not re.search(r"\b\d{4,} ms\b", result.stdout)  # durations are humanised
