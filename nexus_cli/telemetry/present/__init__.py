"""Rendering: the HTML dashboard, Markdown and JSON reports, the ``--json`` shapes, and the
files they are written to."""
