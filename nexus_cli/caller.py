"""Who is calling a core operation: a person at the command line or an agent over MCP.

Front ends (the CLI, the MCP server) pass this to the domain functions they wrap. The core is
the only place that may act on it: where the two deliberately differ, the difference is one
documented line in the core function, never a rule in a front end (ADR 0007).
"""

from __future__ import annotations

from enum import Enum


class Caller(Enum):
    PERSON = "person"  # `nexus ...` on the command line (also scripts and hooks)
    AGENT = "agent"  # a coding agent through `nexus mcp`
