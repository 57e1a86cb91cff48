"""Delimited, idempotent blocks that Nexus owns inside a user's text file.

A block looks like::

    # >>> nexus:NAME >>>
    ...content...
    # <<< nexus:NAME <<<

with the comment syntax of the file (``#`` for shells, ``<!-- -->`` for Markdown). Text around a
block is never touched: removing a block restores the file byte for byte to what it was before
the block was inserted.
"""

from __future__ import annotations

import re


def markers(name: str, comment: str = "#") -> tuple[str, str]:
    if comment == "<!--":
        return f"<!-- >>> nexus:{name} >>> -->", f"<!-- <<< nexus:{name} <<< -->"
    return f"{comment} >>> nexus:{name} >>>", f"{comment} <<< nexus:{name} <<<"


def _span(text: str, name: str, comment: str) -> re.Match[str] | None:
    begin, end = markers(name, comment)
    return re.search(rf"{re.escape(begin)}\n(.*?){re.escape(end)}\n?", text, re.DOTALL)


def find_block(text: str, name: str, comment: str = "#") -> str | None:
    """The content of block ``name`` in ``text``, or None."""
    match = _span(text, name, comment)
    return match.group(1) if match else None


def upsert_block(text: str, name: str, content: str, comment: str = "#") -> str:
    """Return ``text`` with block ``name`` holding ``content``: replaced in place, or appended.

    When appended, the block is separated by one blank line from text that ends with a newline,
    and by a single newline from text that does not; :func:`remove_block` takes exactly that back.
    """
    begin, end = markers(name, comment)
    body = content if content.endswith("\n") or not content else content + "\n"
    block = f"{begin}\n{body}{end}\n"
    match = _span(text, name, comment)
    if match:
        return text[: match.start()] + block + text[match.end() :]
    if not text:
        return block
    return text + "\n" + block


def remove_block(text: str, name: str, comment: str = "#") -> str:
    """Return ``text`` without block ``name`` and the separator :func:`upsert_block` added."""
    match = _span(text, name, comment)
    if not match:
        return text
    start, end = match.start(), match.end()
    # The newline before the block is the separator upsert_block added, unless it ends a line
    # of the user's with a line of theirs right after the block (they took the blank line out,
    # then wrote below the block): removing it then would join their two lines.
    if start > 0 and text[start - 1] == "\n":
        blank_before = start == 1 or text[start - 2] == "\n"
        if blank_before or end == len(text) or text[end] == "\n":
            start -= 1
    return text[:start] + text[end:]
