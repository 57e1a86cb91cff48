"""Showing: the terminal dashboard, HTML, reports and the files they are written to."""
