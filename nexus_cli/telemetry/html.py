"""The dashboard as one self-contained HTML page: inline CSS and inline SVG, nothing external."""

from __future__ import annotations

from html import escape
from typing import Any

from nexus_cli.telemetry.report import human_ms

BLUE, ORANGE, RED, GREY = "#2563eb", "#f59e0b", "#dc2626", "#e5e7eb"

_CSS = """
body{font-family:system-ui,-apple-system,'Segoe UI',sans-serif;margin:24px;color:#111827;
background:#ffffff}h1{font-size:22px;margin:0 0 4px}h2{font-size:16px;margin:28px 0 8px}
.muted{color:#6b7280;font-size:13px}.tiles{display:flex;flex-wrap:wrap;gap:12px;margin-top:16px}
.tile{border:1px solid #e5e7eb;border-radius:8px;padding:10px 14px;min-width:150px}
.tile b{display:block;font-size:22px}svg{display:block;max-width:100%}
li{margin:6px 0}.fix{color:#374151}
"""


def _bars_per_day(per_day: list[dict[str, Any]]) -> str:
    width, height, pad = 960, 200, 30
    peak = max((d["invocations"] for d in per_day), default=0) or 1
    step = (width - pad) / max(len(per_day), 1)
    parts = [
        f'<svg id="chart-per-day" role="img" aria-label="Invocations per day" '
        f'width="{width}" height="{height + 20}" viewBox="0 0 {width} {height + 20}">',
        f'<line x1="{pad}" y1="{height}" x2="{width}" y2="{height}" stroke="#9ca3af"/>',
        f'<text x="0" y="12" font-size="11" fill="#6b7280">{peak}</text>',
    ]
    for i, d in enumerate(per_day):
        x = pad + i * step
        h = (height - 10) * d["invocations"] / peak
        e = (height - 10) * d["errors"] / peak
        title = f"{d['day']}: {d['invocations']} invocations, {d['errors']} errors"
        parts.append(
            f"<g><title>{escape(title)}</title>"
            f'<rect x="{x:.1f}" y="{height - h:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{h:.1f}" fill="{BLUE}"/>'
            f'<rect x="{x:.1f}" y="{height - e:.1f}" width="{max(step - 2, 1):.1f}" '
            f'height="{e:.1f}" fill="{RED}"/></g>'
        )
    if per_day:
        parts.append(
            f'<text x="{pad}" y="{height + 15}" font-size="11" fill="#6b7280">'
            f'{per_day[0]["day"]}</text><text x="{width}" y="{height + 15}" '
            f'font-size="11" fill="#6b7280" text-anchor="end">{per_day[-1]["day"]}</text>'
        )
    return "".join(parts) + "</svg>"


def _hbars(chart_id: str, label: str, rows: list[tuple[str, list[tuple[float, str]], str]]) -> str:
    """Horizontal bars: each row is (name, [(value, colour)...] drawn over each other, caption)."""
    width, row_h, name_w = 960, 26, 260
    peak = max((v for _, values, _ in rows for v, _ in values), default=0) or 1
    height = max(len(rows), 1) * row_h + 6
    parts = [
        f'<svg id="{chart_id}" role="img" aria-label="{escape(label)}" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}">'
    ]
    for i, (name, values, caption) in enumerate(rows):
        y = i * row_h + 4
        parts.append(f'<text x="0" y="{y + 15}" font-size="12">{escape(name[:36])}</text>')
        for value, colour in sorted(values, key=lambda vc: -vc[0]):
            w = (width - name_w - 120) * value / peak
            parts.append(
                f'<rect x="{name_w}" y="{y}" width="{max(w, 1):.1f}" height="18" fill="{colour}"/>'
            )
        parts.append(
            f'<text x="{width - 115}" y="{y + 15}" font-size="12" fill="#374151">'
            f"{escape(caption)}</text>"
        )
    if not rows:
        parts.append('<text x="0" y="18" font-size="12" fill="#6b7280">nothing yet</text>')
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
    s = data["stats"]
    timing_rows = [
        (
            c["command"],
            [(c["p95_ms"], ORANGE), (c["median_ms"], BLUE)],
            f"{_ms(c['median_ms'])} / {_ms(c['p95_ms'])}",
        )
        for c in data["timings"]
    ]
    error_rows = [(k, [(v, RED)], str(v)) for k, v in s["error_categories"].items()]
    templates = (
        "".join(f"<li>{escape(t['template'])}: {t['count']}</li>" for t in s["top_templates"])
        or '<li class="muted">none yet</li>'
    )
    insights = (
        "".join(
            f'<li><b>{escape(p["description"])}</b><br><span class="fix">'
            f"{escape(p['suggested_fix'])}</span></li>"
            for p in data["insights"]
        )
        or '<li class="muted">no patterns detected</li>'
    )
    return (
        '<!DOCTYPE html><html lang="en"><head><meta charset="utf-8">'
        "<title>Nexus dashboard</title>"
        '<meta http-equiv="Content-Security-Policy" content="default-src \'none\'; '
        "style-src 'unsafe-inline'; img-src data:\">"
        f"<style>{_CSS}</style></head><body>"
        f'<h1>Nexus dashboard</h1><div class="muted">last {data["days"]} days · generated '
        f"{escape(data['generated_at'])} · recorded locally, nothing sent</div>{_tiles(s)}"
        f"<h2>Invocations per day (errors in red)</h2>{_bars_per_day(data['per_day'])}"
        "<h2>Duration per command: median (blue) and p95 (orange)</h2>"
        f"{_hbars('chart-durations', 'Duration percentiles per command', timing_rows)}"
        f"<h2>Common issues (error categories)</h2>"
        f"{_hbars('chart-errors', 'Error categories', error_rows)}"
        f"<h2>Top templates</h2><ul>{templates}</ul><h2>Insights</h2><ul>{insights}</ul>"
        "</body></html>\n"
    )
