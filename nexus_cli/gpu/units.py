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


WIDTH = 80  # the text reports fit an 80-column terminal
ELLIPSIS = "…"


def clip(text: str, width: int) -> str:
    """``text`` cut to ``width`` characters, ending in an ellipsis when anything was cut (a cut
    command line must never read as a different one: ``--epochs 10`` as ``--epochs 1``)."""
    if len(text) <= width:
        return text
    return text[: max(0, width - 1)] + ELLIPSIS


def clip_left(text: str, width: int) -> str:
    """``text`` cut from the left (a path keeps its file name), an ellipsis where it was cut."""
    if len(text) <= width:
        return text
    return ELLIPSIS + text[len(text) - max(0, width - 1) :]


_UNITS = {"s": 1.0, "m": 60.0, "h": 3600.0, "d": 86400.0}


def parse_seconds(text: str) -> float | None:
    """``90``, ``90s``, ``15m``, ``2h``, ``1d`` as seconds; None when it is not one of those."""
    value = text.strip().lower()
    scale = _UNITS.get(value[-1:])
    if scale is not None:
        value = value[:-1]
    try:
        number = float(value)
    except ValueError:
        return None
    if number < 0 or number != number or number == float("inf"):
        return None
    return number * (scale or 1.0)
