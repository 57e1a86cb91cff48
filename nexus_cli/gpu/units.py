"""Human-readable durations, sizes and n/a values for GPU output."""

from __future__ import annotations

NA = "n/a"


def duration(seconds: float | None) -> str:
    """``6h 15m``, ``8m 3s``, ``12s``."""
    if seconds is None:
        return NA
    total = round(abs(seconds))
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    if hours:
        return f"{hours}h {minutes}m"
    if minutes:
        return f"{minutes}m {secs}s"
    if abs(seconds) < 10 and seconds != int(seconds):
        return f"{abs(seconds):.1f}s"
    return f"{secs}s"


def size(num_bytes: int | float | None) -> str:
    """``22.0 GiB``, ``512.0 MiB``, ``48 B``."""
    if num_bytes is None:
        return NA
    value = float(num_bytes)
    for unit in ("B", "KiB", "MiB", "GiB"):
        if value < 1024:
            return f"{int(value)} B" if unit == "B" else f"{value:.1f} {unit}"
        value /= 1024
    return f"{value:.1f} TiB"


def number(value: float | int | None, suffix: str = "", digits: int = 0) -> str:
    if value is None:
        return NA
    return f"{value:.{digits}f}{suffix}"
