"""Multi-persona workflows: YAML files whose stages become a chain of gated tasks."""
