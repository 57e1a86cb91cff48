"""Storage: the SQLite schema, migrations, roll-ups and retention."""
