"""Finding tasks by their words: ``task search`` (SQLite FTS5) and ``task duplicates``.

The user's text never reaches FTS5 as query syntax: each word becomes a quoted phrase (a ``"``
inside doubled) with a prefix star, and the phrases are ANDed, so ``AND``, ``NEAR``, ``-`` or a
stray ``"`` are searched for as words, never interpreted.

``duplicates`` finds titles that look alike by the Jaccard similarity of their character
trigrams. It compares only pairs that share a rare trigram: each title is indexed under the
prefix of its trigrams ordered from rarest to most common that any title at least ``threshold``
similar must share (prefix filtering, as in the AllPairs set-similarity join), so 10,000 titles
cost thousands of comparisons, not fifty million.
"""

from __future__ import annotations

import math
import re
from collections import Counter, defaultdict
from dataclasses import dataclass
from typing import Any

from nexus_cli.caller import Caller
from nexus_cli.errors import UsageError
from nexus_cli.project import Project
from nexus_cli.tasks.limits import LIST_LIMIT
from nexus_cli.tasks.listing import TaskListing, check_limit, check_status, opened
from nexus_cli.tasks.statuses import FINISHED

MAX_QUERY = 1_000
_WORD = re.compile(r"\w+", re.UNICODE)
DEFAULT_THRESHOLD = 0.6


def fts_query(text: str) -> str:
    """An FTS5 query matching every word of ``text`` (as a prefix), with no query syntax."""
    words = [w for w in text.split() if _WORD.search(w)]
    if not words:
        raise UsageError("search needs at least one word (letters or digits)")
    return " AND ".join('"' + w.replace('"', '""') + '"*' for w in words)


def search(
    project: Project,
    text: str,
    *,
    status: str | None = None,
    limit: int | None = None,
    caller: Caller = Caller.PERSON,
) -> TaskListing:
    """Tasks whose title, description or notes hold every word of ``text``, best first."""
    if len(text) > MAX_QUERY:
        raise UsageError(f"search text is longer than {MAX_QUERY} characters")
    limit = check_limit(LIST_LIMIT[caller] if limit is None else limit)
    check_status(status)
    match = fts_query(text)
    with opened(project) as store:
        return TaskListing(store.search_docs(match, limit, status=status))


# --- duplicates ----------------------------------------------------------------------------


def _grams(title: str) -> frozenset[str]:
    words = " ".join(_WORD.findall(title.lower()))
    padded = f" {words} "
    return frozenset(padded[i : i + 3] for i in range(len(padded) - 2))


@dataclass(frozen=True)
class Duplicate:
    first: tuple[str, str, str]  # id, title, status
    second: tuple[str, str, str]
    similarity: float

    def to_json(self) -> dict[str, Any]:
        return {
            "similarity": round(self.similarity, 3),
            "tasks": [
                {"id": i, "title": title, "status": status}
                for i, title, status in (self.first, self.second)
            ],
        }


@dataclass(frozen=True)
class Duplicates:
    threshold: float
    pairs: list[Duplicate]

    def to_json(self) -> dict[str, Any]:
        return {"threshold": self.threshold, "pairs": [p.to_json() for p in self.pairs]}


def similar_pairs(titles: list[tuple[str, str, str]], threshold: float) -> list[Duplicate]:
    """Pairs of ``titles`` (id, title, status) whose trigram Jaccard is >= ``threshold``."""
    sets = [_grams(t[1]) for t in titles]
    frequency: Counter[str] = Counter(g for s in sets for g in s)
    index: dict[str, list[int]] = defaultdict(list)
    found: list[Duplicate] = []
    for i in sorted(range(len(sets)), key=lambda n: len(sets[n])):
        grams = sorted(sets[i], key=lambda g: (frequency[g], g))
        if not grams:
            continue
        prefix = len(grams) - math.ceil(threshold * len(grams)) + 1
        candidates: set[int] = set()
        for gram in grams[:prefix]:
            candidates.update(index[gram])
            index[gram].append(i)
        for j in candidates:
            # Sets are visited by size: |j| <= |i|; Jaccard >= t needs |j| >= t * |i|.
            if len(sets[j]) < threshold * len(sets[i]):
                continue
            shared = len(sets[i] & sets[j])
            score = shared / (len(sets[i]) + len(sets[j]) - shared)
            if score >= threshold:
                a, b = sorted((titles[i], titles[j]))
                found.append(Duplicate(a, b, score))
    found.sort(key=lambda d: (-d.similarity, d.first[0], d.second[0]))
    return found


def duplicates(
    project: Project, *, threshold: float = DEFAULT_THRESHOLD, include_finished: bool = False
) -> Duplicates:
    """Pairs of tasks whose titles look alike (unfinished ones unless ``include_finished``)."""
    if not 0.3 <= threshold <= 1.0:
        raise UsageError(f"threshold must be between 0.3 and 1.0, not {threshold}")
    with opened(project) as store:
        rows = store.titles_only()
    if not include_finished:
        rows = [r for r in rows if r[2] not in FINISHED]
    return Duplicates(threshold, similar_pairs(sorted(rows), threshold))
