"""What kind of event an event is: the one place that says which runs are interactive, which
failure counts as retried and which workspace as short-lived.

The roll-ups (:mod:`~nexus_cli.telemetry.db.rollup_fold`), the exact stats and the insights
all classify through this module, so the roll-ups and the raw-event paths always agree.
"""

from __future__ import annotations

import json
from typing import Any

# Always interactive, and interactive only with the given option (stored in raw_data.options):
# their duration is how long a person kept them open, so no speed figure counts them.
INTERACTIVE_COMMANDS = frozenset({"workspace shell", "gpu monitor"})
INTERACTIVE_WITH_OPTION = {"dashboard": "watch", "workspace logs": "follow"}
# A failure followed in its session by the same command within this many seconds is a retry.
RETRY_WITHIN_S = 120
# A workspace deleted younger than this many seconds is short-lived.
SHORT_LIVED_S = 600


def is_interactive(command: str | None, raw_data: str | None) -> bool:
    """Whether a run of ``command`` with the stored ``raw_data`` (JSON text) is interactive."""
    if command in INTERACTIVE_COMMANDS:
        return True
    option = INTERACTIVE_WITH_OPTION.get(command or "")
    if option is None or not raw_data:
        return False
    return option in json.loads(raw_data).get("options", [])


def is_interactive_data(command: str, data: dict[str, Any]) -> bool:
    """:func:`is_interactive` on raw data already parsed (a malformed option list: not)."""
    if command in INTERACTIVE_COMMANDS:
        return True
    option = INTERACTIVE_WITH_OPTION.get(command)
    options = data.get("options", [])
    return option is not None and isinstance(options, list) and option in options


def is_short_lived(age_s: float) -> bool:
    """Whether a workspace deleted at ``age_s`` seconds old was short-lived."""
    return age_s < SHORT_LIVED_S
