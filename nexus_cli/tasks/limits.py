"""Limits of the task operations, in a module of their own: command modules read them to show
defaults in ``--help`` without loading the task model (shell completion must stay cheap)."""

from __future__ import annotations

from nexus_cli.caller import Caller

# How many ready tasks a call lists unless it asks for another number (0: all). One of the few
# places where the front ends differ on purpose: an agent's context window is small.
READY_LIMIT = {Caller.PERSON: 50, Caller.AGENT: 20}

# How many tasks `task list` gives unless asked for another number (0: all): a person sees every
# task; an agent gets the first 100 (at 1,000 tasks a full listing is half a megabyte).
LIST_LIMIT = {Caller.PERSON: 0, Caller.AGENT: 100}

# The largest number a listing's limit may be (the CLI's IntRange, the MCP tool's schema and the
# core's check): a bigger one is refused with one line, never an overflow in SQLite.
MAX_LIMIT = 10_000
