"""``telemetry.db``: its schema and migrations, the fold of the journal, roll-ups, retention, event
classification and synthetic history."""
