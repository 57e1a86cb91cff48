"""Telemetry the user owns, grouped by the data each part holds.

``journal`` (what each command appends; the recording path) -> ``db`` (``telemetry.db``: schema,
the one ``fold()``, roll-ups, retention, event classification) -> ``query`` (read-only figures)
-> ``present`` (HTML, reports, JSON); ``ship`` sends or exports what ``db`` holds. docs/telemetry.md
follows one event through them.
"""
