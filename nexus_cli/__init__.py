"""Nexus: a local-first developer CLI."""

__version__ = "0.1.0"
