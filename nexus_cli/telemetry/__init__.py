"""Telemetry the user owns: recording invocations locally and reading them back."""
