"""The dashboard as one self-contained HTML page: inline CSS and inline SVG, nothing external."""

from __future__ import annotations

import math
import re
from html import escape
from typing import Any

from nexus_cli.telemetry.present import html_tasks
from nexus_cli.telemetry.query.durations import human_ms

BLUE, ORANGE, RED, GREY = "#2563eb", "#f59e0b", "#dc2626", "#e5e7eb"
MUTED = "#6b7280"
# Charts are drawn in a 640-unit-wide viewBox and scale with the page (at most 960 px): at a 700 px
# window they are drawn at about 1:1, so 12-unit text stays 12 px; wider windows enlarge them.
WIDTH = 640
FONT = 12

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#111827;
background:#ffffff;max-width:1000px}h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.muted{color:#6b7280;font-size:13px}.tiles{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.tile{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:130px}
.tile b{display:block;font-size:22px}svg{display:block;width:100%;max-width:960px;height:auto}
li{margin:6px 0}.fix{color:#374151}code{background:#f3f4f6;border-radius:4px;padding:0 3px;
font-size:90%}@media (max-width:720px){body{margin:12px}}
"""

_CODE = re.compile(r"`([^`]+)`")


def _text(value: str) -> str:
    """Escaped ``value`` with `code` spans as ``<code>``."""
    return _CODE.sub(lambda m: f"<code>{m.group(1)}</code>", escape(value))


def _svg_open(chart_id: str, label: str, height: float) -> str:
    return (
        f'<svg id="{chart_id}" role="img" aria-label="{escape(label)}" '
        f'viewBox="0 0 {WIDTH} {height:.0f}" preserveAspectRatio="xMinYMin meet">'
    )


def _label(x: float, y: float, text: str, anchor: str = "start", fill: str = MUTED) -> str:
    return (
        f'<text x="{x:.1f}" y="{y:.1f}" font-size="{FONT}" fill="{fill}" '
        f'text-anchor="{anchor}">{escape(text)}</text>'
    )


def _bars_per_day(per_day: list[dict[str, Any]]) -> str:
    """Invocations per day (errors over them in red), with a y axis and dated x ticks."""
    left, top, plot_h = 44, 8, 170
    height = top + plot_h + 24
    peak = max((d["invocations"] for d in per_day), default=0) or 1
    step = (WIDTH - left) / max(len(per_day), 1)
    parts = [_svg_open("chart-per-day", "Invocations per day", height)]
    base = top + plot_h
    for fraction in (0, 0.5, 1):
        y = base - plot_h * fraction
        parts.append(
            f'<line x1="{left}" y1="{y:.1f}" x2="{WIDTH}" y2="{y:.1f}" stroke="{GREY}"/>'
            + _label(left - 6, y + 4, str(round(peak * fraction)), "end")
        )
    for i, d in enumerate(per_day):
        x = left + i * step
        h = plot_h * d["invocations"] / peak
        e = plot_h * d["errors"] / peak
        title = f"{d['day']}: {d['invocations']} invocations, {d['errors']} errors"
        bar_w = max(step - 1.5, 1)
        parts.append(
            f"<g><title>{escape(title)}</title>"
            f'<rect x="{x:.1f}" y="{base - h:.1f}" width="{bar_w:.1f}" height="{h:.1f}" '
            f'fill="{BLUE}"/><rect x="{x:.1f}" y="{base - e:.1f}" width="{bar_w:.1f}" '
            f'height="{e:.1f}" fill="{RED}"/></g>'
        )
    every = max(1, round(len(per_day) / 5))
    for i in range(0, len(per_day), every):
        x = left + i * step + step / 2
        parts.append(_label(x, base + 17, per_day[i]["day"][5:], "middle"))
    return "".join(parts) + "</svg>"


_TICKS = [
    (1, "1 ms"),
    (10, "10 ms"),
    (100, "100 ms"),
    (1_000, "1 s"),
    (10_000, "10 s"),
    (60_000, "1 min"),
    (600_000, "10 min"),
    (3_600_000, "1 h"),
]


def _log_durations(rows: list[dict[str, Any]]) -> str:
    """Median (blue) and p95 (orange) per command on a log scale, so 40 ms and 40 s both show."""
    name_w, right, row_h, top = 140, 112, 24, 22
    values = [v for c in rows for v in (c["median_ms"], c["p95_ms"]) if v]
    low = min([t for t, _ in _TICKS if t <= min(values, default=1)] or [1])
    high = max([t for t, _ in _TICKS if t >= max(values, default=1)] or [_TICKS[-1][0]])
    span = math.log10(high) - math.log10(low) or 1
    plot_w = WIDTH - name_w - right

    def x_of(value: float) -> float:
        value = min(max(value, low), high)
        return name_w + plot_w * (math.log10(value) - math.log10(low)) / span

    height = top + max(len(rows), 1) * row_h + 6
    parts = [_svg_open("chart-durations", "Duration per command, log scale", height)]
    for tick, text in _TICKS:
        if low <= tick <= high:
            x = x_of(tick)
            parts.append(
                f'<line x1="{x:.1f}" y1="{top - 6}" x2="{x:.1f}" y2="{height}" stroke="{GREY}"/>'
                + _label(x, top - 9, text, "middle")
            )
    for i, c in enumerate(rows):
        y = top + i * row_h
        parts.append(_label(0, y + 14, c["command"][:22], fill="#111827"))
        for value, colour in ((c["p95_ms"], ORANGE), (c["median_ms"], BLUE)):
            if value:
                w = max(x_of(value) - name_w, 1)
                parts.append(
                    f'<rect x="{name_w}" y="{y}" width="{w:.1f}" height="16" fill="{colour}">'
                    f"<title>{escape(c['command'])}: {human_ms(value)}</title></rect>"
                )
        caption = f"{human_ms(c['median_ms'])} / {human_ms(c['p95_ms'])}"
        parts.append(_label(WIDTH - right + 6, y + 14, caption, fill="#374151"))
    if not rows:
        parts.append(_label(0, top + 14, "nothing yet"))
    return "".join(parts) + "</svg>"


def _hbars(chart_id: str, label: str, rows: list[tuple[str, int]]) -> str:
    """Horizontal bars on a linear scale (counts), with each count written beside its bar."""
    name_w, right, row_h = 150, 60, 24
    peak = max((v for _, v in rows), default=0) or 1
    height = max(len(rows), 1) * row_h + 6
    parts = [_svg_open(chart_id, label, height)]
    for i, (name, value) in enumerate(rows):
        y = i * row_h + 4
        w = (WIDTH - name_w - right) * value / peak
        parts.append(
            _label(0, y + 14, name[:22], fill="#111827")
            + f'<rect x="{name_w}" y="{y}" width="{max(w, 1):.1f}" height="16" fill="{RED}"/>'
            + _label(name_w + w + 6, y + 14, str(value), fill="#374151")
        )
    if not rows:
        parts.append(_label(0, 18, "nothing yet"))
    return "".join(parts) + "</svg>"


def _ms(value: int | None) -> str:
    return human_ms(value)


def _tiles(s: dict[str, Any]) -> str:
    rate = "-" if s["success_rate"] is None else f"{s['success_rate'] * 100:.1f}%"
    tiles = [
        ("Invocations", s["invocations"]),
        ("Success rate", rate),
        ("Workspaces created", s["workspaces_created"]),
        ("Tasks completed", s["tasks_completed"]),
        ("Sessions", s["sessions"]),
        ("Avg session", _ms(s["avg_session_ms"])),
    ]
    return (
        '<div class="tiles">'
        + "".join(
            f'<div class="tile"><span class="muted">{escape(k)}</span><b>{escape(str(v))}</b></div>'
            for k, v in tiles
        )
        + "</div>"
    )


def render(data: dict[str, Any]) -> str:
    """The page. ``data`` is the dashboard's figures; with ``history`` (the task, gate and
    workflow figures) it adds their views, with ``cost`` (the ``stats --cost`` shape) the agent
    cost view."""
    s = data["stats"]
    history = data.get("history")
    task_views = html_tasks.task_views(history) if history is not None else ""
    error_rows = [(k, int(v)) for k, v in s["error_categories"].items()]
    templates = (
        "".join(f"<li>{escape(t['template'])}: {t['count']}</li>" for t in s["top_templates"])
        or '<li class="muted">none yet</li>'
    )
    insights = (
        "".join(
            f'<li><b>{_text(p["description"])}</b><br><span class="fix">'
            f"{_text(p['suggested_fix'])}</span></li>"
            for p in [*data["insights"], *(history or {}).get("insights", [])]
        )
        or '<li class="muted">no patterns detected</li>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        '<meta name="viewport" content="width=device-width, initial-scale=1">'
        "<title>Nexus dashboard</title>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<style>{_CSS}{html_tasks.CSS}</style></head><body>"
        f'<h1>Nexus dashboard</h1><div class="muted">last {data["days"]} days · generated '
        f"{escape(data['generated_at'])} · recorded locally, nothing sent</div>{_tiles(s)}"
        f"<h2>Invocations per day (errors in red)</h2>{_bars_per_day(data['per_day'])}"
        "<h2>Duration per command: median (blue) and p95 (orange), log scale</h2>"
        f"{_log_durations(data['timings'])}"
        f"<h2>Common issues (error categories)</h2>"
        f"{_hbars('chart-errors', 'Error categories', error_rows)}"
        f"{task_views}{html_tasks.cost_view(data.get('cost'))}"
        f"<h2>Top templates</h2><ul>{templates}</ul><h2>Insights</h2><ul>{insights}</ul>"
        "</body></html>\n"
    )
