"""Counting words right in messages: ``1 network``, ``2 networks``, ``0 entries``."""

from __future__ import annotations


def plural(count: int, noun: str, nouns: str | None = None) -> str:
    """``count`` followed by ``noun`` (one) or ``nouns`` (any other count; ``noun + "s"``)."""
    return f"{count} {noun if count == 1 else (nouns or noun + 's')}"
