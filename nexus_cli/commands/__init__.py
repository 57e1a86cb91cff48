"""Thin Click layers, one module per command group: parse, call the logic, render."""
