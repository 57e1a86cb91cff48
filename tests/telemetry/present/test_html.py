"""`nexus dashboard`: terminal, JSON, live --watch, and the HTML page in a real headless Chromium."""

from __future__ import annotations

import os
import re
import signal
import struct
import subprocess
import time
import zlib
from pathlib import Path

import pytest

from tests.conftest import nexus_exe, run_nexus
from tests.telemetry.conftest import chromium_binary


def test_terminal_dashboard_shows_the_seed_figures(filled: Path) -> None:
    result = run_nexus("dashboard", "--days", "14")
    assert result.exit_code == 0, result.stderr
    for heading in (
        "Workspaces created",
        "Tasks completed",
        "Avg session",
        "Success rate",
        "Top templates",
        "Common issues",
        "Insights",
    ):
        assert heading in result.stdout
    data = run_nexus("dashboard", "--json", "--days", "14").json()
    assert len(data["per_day"]) == 14
    assert data["stats"]["invocations"] == sum(d["invocations"] for d in data["per_day"])


def test_piped_dashboard_fits_80_columns_unless_width_says(filled: Path) -> None:
    piped = run_nexus("dashboard", "--days", "14")
    assert piped.exit_code == 0, piped.stderr
    lines = piped.stdout.splitlines()
    assert max(len(line) for line in lines) == 80  # panels are drawn to the full width
    wide = run_nexus("dashboard", "--days", "14", "--width", "160")
    assert wide.exit_code == 0, wide.stderr
    assert max(len(line) for line in wide.stdout.splitlines()) == 160
    assert "Insights" in wide.stdout and "Top templates" in wide.stdout
    narrow = run_nexus("dashboard", "--width", "20")
    assert narrow.exit_code == 2 and "--width" in narrow.stderr


def test_piped_dashboard_in_a_real_process_ignores_columns(filled: Path) -> None:
    out = subprocess.run(
        [*nexus_exe(), "dashboard", "--days", "7"],
        env={**os.environ, "COLUMNS": "300"},
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert out.returncode == 0, out.stderr
    assert max(len(line) for line in out.stdout.splitlines()) == 80


def test_html_is_one_self_contained_file(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "dash.html"
    result = run_nexus("dashboard", "--html", str(out))
    assert result.exit_code == 0, result.stderr
    html = out.read_text()
    for chart in ("chart-per-day", "chart-durations", "chart-errors"):
        assert f'id="{chart}"' in html
    assert len(re.findall(r"<rect ", html)) > 60
    assert not re.search(r"(src|href)=|https?://|@import|url\(", html)
    again = run_nexus("dashboard", "--html", str(out))
    assert again.exit_code == 1 and "already exists" in again.stderr


def _png_pixels(png: bytes) -> tuple[int, int, list[bytes]]:
    """Decode an 8-bit RGB/RGBA non-interlaced PNG (what Chromium writes) with zlib only."""
    assert png[:8] == b"\x89PNG\r\n\x1a\n"
    pos, idat, width = 8, b"", 0
    while pos < len(png):
        length, kind = struct.unpack(">I4s", png[pos : pos + 8])
        chunk = png[pos + 8 : pos + 8 + length]
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", chunk[:10])
            assert depth == 8 and colour in (2, 6)
            bpp = 3 if colour == 2 else 4
        elif kind == b"IDAT":
            idat += chunk
        pos += 12 + length
    raw, stride, rows, prev = zlib.decompress(idat), width * bpp, [], bytearray(width * bpp)
    for y in range(height):
        kind, line = (
            raw[y * (stride + 1)],
            bytearray(raw[y * (stride + 1) + 1 : (y + 1) * (stride + 1)]),
        )
        for i in range(stride):
            a = line[i - bpp] if i >= bpp else 0
            b, c = prev[i], prev[i - bpp] if i >= bpp else 0
            if kind == 1:
                line[i] = (line[i] + a) & 255
            elif kind == 2:
                line[i] = (line[i] + b) & 255
            elif kind == 3:
                line[i] = (line[i] + (a + b) // 2) & 255
            elif kind == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[i] = (line[i] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, bpp, rows


def _screenshot(page: Path, shot: Path, profile: Path, size: str) -> None:
    """A headless Chromium screenshot of ``page`` at ``size`` (``"W,H"``), offline."""
    browser = chromium_binary()
    assert browser is not None
    subprocess.run(
        [
            browser,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--hide-scrollbars",
            f"--user-data-dir={profile}",
            f"--screenshot={shot}",
            f"--window-size={size}",
            page.as_uri(),
        ],
        capture_output=True,
        timeout=120,
        check=False,
    )


@pytest.mark.chromium
def test_headless_chromium_renders_the_charts(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "dash.html"
    assert run_nexus("dashboard", "--html", str(out)).exit_code == 0
    shot = tmp_path / "shot.png"
    _screenshot(out, shot, tmp_path / "profile", "1280,2000")
    assert shot.exists() and shot.stat().st_size > 10_000
    width, bpp, rows = _png_pixels(shot.read_bytes())
    counts = {"blue": 0, "orange": 0, "red": 0}
    targets = {"blue": (37, 99, 235), "orange": (245, 158, 11), "red": (220, 38, 38)}
    for row in rows:
        for x in range(0, width * bpp, bpp):
            pixel = row[x : x + 3]
            for name, rgb in targets.items():
                if all(abs(pixel[i] - rgb[i]) <= 6 for i in range(3)):
                    counts[name] += 1
    # bars per day (blue), p95 bars (orange), errors (red): each a real area on screen
    assert counts["blue"] > 5000 and counts["orange"] > 2000 and counts["red"] > 1000, counts


def test_watch_refreshes_until_ctrl_c(filled: Path) -> None:
    proc = subprocess.Popen(
        [*nexus_exe(), "dashboard", "--watch", "--interval", "0.3", "--days", "7"],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env={**os.environ, "NO_COLOR": "1"},
    )
    assert proc.stdout is not None
    shown = b""
    deadline = time.monotonic() + 120  # generous: only a refresh that never comes fails this
    while shown.count(b"Nexus dashboard") < 2 and time.monotonic() < deadline:
        chunk = proc.stdout.read1(65536)
        if not chunk:
            break
        shown += chunk
    assert shown.count(b"Nexus dashboard") >= 2, shown.decode(errors="replace")
    proc.send_signal(signal.SIGINT)
    _, err = proc.communicate(timeout=60)
    assert proc.returncode == 0, err  # Ctrl-C ends the watch cleanly: no traceback, exit 0
    assert b"Traceback" not in err and b"KeyboardInterrupt" not in err


def test_html_scales_with_the_page_and_uses_a_log_axis(filled: Path, tmp_path: Path) -> None:
    out = tmp_path / "dash.html"
    assert run_nexus("dashboard", "--html", str(out)).exit_code == 0
    html = out.read_text()
    svgs = re.findall(r"<svg [^>]*>", html)
    assert len(svgs) == 3
    for svg in svgs:
        assert 'viewBox="0 0 640 ' in svg and " width=" not in svg and " height=" not in svg
    assert 'name="viewport"' in html
    sizes = {int(s) for s in re.findall(r'font-size="(\d+)"', html)}
    assert min(sizes) >= 12  # a 640-wide viewBox at a 700 px window: about 1:1, so 12 px text
    durations = html[html.index('id="chart-durations"') :].split("</svg>")[0]
    for tick in ("10 ms", "100 ms", "1 s", "10 s"):
        assert f">{tick}</text>" in durations
    per_day = html[html.index('id="chart-per-day"') :].split("</svg>")[0]
    assert len(re.findall(r'text-anchor="middle">\d\d-\d\d</text>', per_day)) >= 4
    assert "<code>nexus task verify ID</code>" in html
    assert "`" not in html.split("<h2>Insights</h2>")[1]


@pytest.mark.chromium
def test_chromium_at_700_px_shows_every_chart_without_overflow(
    filled: Path, tmp_path: Path
) -> None:
    out = tmp_path / "dash.html"
    assert run_nexus("dashboard", "--html", str(out)).exit_code == 0
    shot = tmp_path / "narrow.png"
    _screenshot(out, shot, tmp_path / "profile", "700,2400")
    width, bpp, rows = _png_pixels(shot.read_bytes())
    assert width == 700
    blue = (37, 99, 235)
    columns = [
        x // bpp
        for row in rows
        for x in range(0, width * bpp, bpp)
        if all(abs(row[x + i] - blue[i]) <= 6 for i in range(3))
    ]
    assert len(columns) > 5000
    # The per-day bars span most of the page width: the charts scale up, not down to slivers.
    assert max(columns) - min(columns) > 550
