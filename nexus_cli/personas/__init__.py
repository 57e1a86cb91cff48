"""Personas: role bundles (instructions, slash commands, permissions, scripts) for coding assistants.

:mod:`catalog` loads and validates ``persona.yaml`` files, :mod:`targets` says what each assistant
gets, :mod:`plan` computes every change against an in-memory snapshot and the lock, and
:mod:`installer` applies a conflict-free plan. Nothing here prints or knows about Click.
"""
