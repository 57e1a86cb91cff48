"""What coding agents (Claude Code, Codex) spent: token counts read from their own logs and
OpenTelemetry exports, stored as counts and hashes in ``telemetry.db`` (docs/telemetry.md)."""
