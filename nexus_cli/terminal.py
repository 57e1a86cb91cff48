"""Making untrusted text safe to show on a terminal.

Task titles arrive from teammates through ``tasks.jsonl``, gate output from arbitrary programs,
process names from ``/proc`` and messages from collectors. Any of them may hold escape sequences
(clear the screen, set the window title, OSC 8 links) or Rich markup (``[link=…]``). Human output
passes such data through :func:`escape` (plain text) or :func:`escape_markup` (text that will be
printed through Rich with markup on); ``--json`` output keeps the raw strings.
"""

from __future__ import annotations

import re
import sys

# The patterns are compiled by `re` on first use and kept in its cache: every command imports this
# module (the CLI's error boundary), few of them print untrusted text.
# C0 controls except tab and newline, DEL, and the C1 range (which includes the 8-bit CSI/OSC).
_CONTROL = r"[\x00-\x08\x0b-\x1f\x7f-\x9f]"
_SURROGATE = r"[\ud800-\udfff]"
_MARKUP = r"(\\*)(\[)(?=[a-zA-Z/@#]|\])"


def _visible(match: re.Match[str]) -> str:
    char = match.group(0)
    code = ord(char)
    if code == 0x1B:
        return "^["
    if code < 0x20:
        return "^" + chr(code + 0x40)
    return f"\\x{code:02x}"


def escape(text: str, *, newlines: bool = True) -> str:
    """``text`` with control characters shown visibly (``^[`` for ESC, ``\\x9b`` for C1).

    Tabs are kept; newlines are kept unless ``newlines=False`` (then shown as ``⏎``), for data
    that must stay on one line such as a title in a table cell.
    """
    if not newlines:
        text = text.replace("\r\n", "⏎").replace("\n", "⏎")
    return re.sub(_SURROGATE, "\ufffd", re.sub(_CONTROL, _visible, text))


def escape_markup(text: str, *, newlines: bool = True) -> str:
    """:func:`escape` plus Rich markup escaped, for text printed by a Rich console with markup."""
    return re.sub(_MARKUP, lambda m: m.group(1) * 2 + "\\[", escape(text, newlines=newlines))


def has_controls(text: str) -> bool:
    """Whether ``text`` holds control characters other than tab and newline."""
    return re.search(_CONTROL, text) is not None


def warn(message: str) -> None:
    """``warning: message`` on stderr, escaped: for a domain module that must tell the person
    something and go on (a task line skipped on import) without a front end to return it to."""
    try:
        sys.stderr.write(f"warning: {escape(message, newlines=False)}\n")
        sys.stderr.flush()
    except (OSError, ValueError):  # stderr closed: the warning is also kept where it applies
        pass
