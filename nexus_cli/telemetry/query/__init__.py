"""Figures from ``telemetry.db``: windows, stats, insights, retries, the day cache, the
dashboard's data and ``telemetry status``. They never fold (``db.store.opened`` did); the only
rows they write are derived ones: detected ``patterns`` and the day cache's merged roll-ups."""
