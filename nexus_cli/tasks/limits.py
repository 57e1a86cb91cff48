"""Limits of the task operations, in a module of their own: command modules read them to show
defaults in ``--help`` without loading the task model (shell completion must stay cheap)."""

from __future__ import annotations

from nexus_cli.caller import Caller

# How many ready tasks a call lists unless it asks for another number (0: all). One of the few
# places where the front ends differ on purpose: an agent's context window is small.
READY_LIMIT = {Caller.PERSON: 50, Caller.AGENT: 20}
