"""How a duration reads as text: insight descriptions hold it, and every front end shows it."""

from __future__ import annotations


def human_ms(value: float | None) -> str:
    """``85 ms``, ``2.5 s``, ``4m 10s``, ``2h 14m`` (``-`` for no value)."""
    if value is None:
        return "-"
    if value < 1000:
        return f"{int(value)} ms"
    if value < 60_000:
        return f"{value / 1000:.1f} s"
    minutes, seconds = divmod(int(value // 1000), 60)
    return f"{minutes}m {seconds}s" if minutes < 60 else f"{minutes // 60}h {minutes % 60}m"
