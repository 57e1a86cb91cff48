""" "Did you mean …?" for names a user typed that match nothing: one rule for personas, templates,
workflows and workspaces."""

from __future__ import annotations

import difflib
from collections.abc import Iterable

_SHORTEST_PREFIX = 3  # characters typed before a prefix counts as a match


def close_matches(word: str, candidates: Iterable[str], limit: int = 3) -> list[str]:
    """The known names most like ``word``, best first: a typo, or the start of the name or of one
    of its hyphenated parts (``architect`` for ``software-architect``, ``feat`` for
    ``feature-development``)."""
    names = sorted(set(candidates))
    found = difflib.get_close_matches(word, names, n=limit, cutoff=0.6)
    if len(word) >= _SHORTEST_PREFIX:
        for name in names:
            if len(found) < limit and name not in found and _starts_a_part(name, word):
                found.append(name)
    return found


def _starts_a_part(name: str, word: str) -> bool:
    parts = name.split("-")
    return any("-".join(parts[i:]).startswith(word) for i in range(len(parts)))


def did_you_mean(word: str, candidates: Iterable[str]) -> str | None:
    """A hint such as ``did you mean 'developer'?``, or None when nothing is close."""
    found = close_matches(word, candidates)
    if not found:
        return None
    return "did you mean " + " or ".join(repr(name) for name in found) + "?"
