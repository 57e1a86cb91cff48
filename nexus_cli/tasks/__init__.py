"""Tasks with verification gates: SQLite working store, ``.nexus/tasks.jsonl`` shared through git."""
