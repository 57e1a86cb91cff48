"""Shipping: exports, sync (NDJSON and OTLP) and scheduled reports."""
