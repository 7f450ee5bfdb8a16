"""Inline SVG charts drawn in Python, so report.html needs no script or network."""

from __future__ import annotations

import math
from collections.abc import Sequence
from html import escape

MAX_POINTS = 600
WIDTH = 320
HEIGHT = 150
PAD_LEFT = 48
PAD_RIGHT = 10
PAD_TOP = 22
PAD_BOTTOM = 22


def downsample(values: Sequence[float], limit: int = MAX_POINTS) -> list[float]:
    """Average consecutive groups so a day of per-second buckets stays drawable."""
    if len(values) <= limit:
        return list(values)
    size = math.ceil(len(values) / limit)
    return [
        sum(values[start : start + size]) / len(values[start : start + size])
        for start in range(0, len(values), size)
    ]


def _axis_label(value: float) -> str:
    return f"{value:,.0f}" if value >= 100 else f"{value:.3g}"


def line_chart(
    values: Sequence[float],
    *,
    title: str,
    series: str,
    color: str,
    bucket_s: float,
    top: float | None = None,
) -> str:
    """One series as an SVG line chart, y from 0 to ``top`` (default: its own maximum).

    A series with nothing in it gets no y scale at all (never "0 to 0"), only a note.
    """
    points = downsample(values)
    plot_w = WIDTH - PAD_LEFT - PAD_RIGHT
    plot_h = HEIGHT - PAD_TOP - PAD_BOTTOM
    if top is None:
        top = max(points, default=0.0)
    if points and top <= 0:
        return _note_chart(title, "none in this run")
    scale_top = top if top > 0 else 1.0
    parts = [
        f'<svg class="chart" width="{WIDTH}" '
        f'height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" role="img" '
        f'aria-label="{escape(title)}">',
        f'<text x="{PAD_LEFT}" y="14" class="title">{escape(title)}</text>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP + plot_h}" x2="{WIDTH - PAD_RIGHT}" '
        f'y2="{PAD_TOP + plot_h}" class="axis"/>',
        f'<line x1="{PAD_LEFT}" y1="{PAD_TOP}" x2="{PAD_LEFT}" y2="{PAD_TOP + plot_h}" '
        'class="axis"/>',
    ]
    if points:
        parts.append(
            f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + 4}" class="tick" text-anchor="end">'
            f"{_axis_label(top)}</text>"
            f'<text x="{PAD_LEFT - 4}" y="{PAD_TOP + plot_h}" class="tick" '
            'text-anchor="end">0</text>'
        )
        span_s = len(values) * bucket_s
        parts.append(
            f'<text x="{WIDTH - PAD_RIGHT}" y="{HEIGHT - 6}" class="tick" text-anchor="end">'
            f"{_axis_label(span_s)} s</text>"
        )
        step = plot_w / (len(points) - 1) if len(points) > 1 else 0.0
        coords = [
            (PAD_LEFT + i * step, PAD_TOP + plot_h - (value / scale_top) * plot_h)
            for i, value in enumerate(points)
        ]
        if len(coords) == 1:
            coords.append((PAD_LEFT + plot_w, coords[0][1]))
        path = " ".join(
            f"{'M' if i == 0 else 'L'}{x:.1f},{y:.1f}" for i, (x, y) in enumerate(coords)
        )
        parts.append(
            f'<path class="series" data-series="{escape(series)}" d="{path}" '
            f'fill="none" stroke="{color}" stroke-width="1.5"/>'
        )
    else:
        parts.append(
            f'<text x="{PAD_LEFT + plot_w / 2}" y="{PAD_TOP + plot_h / 2}" class="empty" '
            'text-anchor="middle">no samples</text>'
        )
    parts.append("</svg>")
    return "".join(parts)


def _note_chart(title: str, note: str) -> str:
    """A chart's frame with its title and a note in place of axes and a line."""
    return (
        f'<svg class="chart" width="{WIDTH}" height="{HEIGHT}" viewBox="0 0 {WIDTH} {HEIGHT}" '
        f'role="img" aria-label="{escape(title)}">'
        f'<text x="{PAD_LEFT}" y="14" class="title">{escape(title)}</text>'
        f'<text x="{WIDTH / 2}" y="{HEIGHT / 2}" class="empty" text-anchor="middle">'
        f"{escape(note)}</text></svg>"
    )


def bar_length(value: float, low: float, high: float, width: float) -> float:
    """A bar's length on a log scale from a decade below ``low`` to ``high``.

    Values 500x apart both stay readable: the smallest bar still has a tenth
    of a decade's worth of length, the largest fills ``width``. Zero gets the
    minimal 1 px bar.
    """
    if value <= 0 or high <= 0:
        return 1.0
    floor = math.log10(low) - 1
    span = math.log10(high) - floor
    return max(width * (math.log10(value) - floor) / span, 1.0) if span > 0 else width


def bar_chart(items: Sequence[tuple[str, float | None]], *, title: str, color: str) -> str:
    """Horizontal bars on a log scale, each labelled with its value and its factor.

    The factor is how many times the smallest non-zero value each bar is
    (``x500``), so a 500-fold spread reads at a glance. ``None`` values get a
    label but no bar.
    """
    row_h = 26
    label_w = 170
    bar_w = 380
    height = PAD_TOP + row_h * max(len(items), 1) + 8
    width = label_w + bar_w + 170
    positive = [value for _, value in items if value is not None and value > 0]
    low = min(positive, default=1.0)
    high = max(positive, default=1.0)
    parts = [
        f'<svg class="chart bars" width="{width}" '
        f'height="{height}" viewBox="0 0 {width} {height}" role="img" '
        f'aria-label="{escape(title)}" data-scale="log">',
        f'<text x="0" y="14" class="title">{escape(title)} (log scale)</text>',
    ]
    for i, (name, value) in enumerate(items):
        y = PAD_TOP + i * row_h
        parts.append(
            f'<text x="{label_w - 8}" y="{y + 16}" class="label" text-anchor="end">'
            f"{escape(name)}</text>"
        )
        if value is None:
            parts.append(f'<text x="{label_w}" y="{y + 16}" class="empty">no API calls</text>')
            continue
        length = bar_length(value, low, high, bar_w)
        factor = f" (x{value / low:,.3g})" if value > 0 and len(positive) > 1 else ""
        parts.append(
            f'<rect class="bar" x="{label_w}" y="{y + 4}" width="{length:.1f}" '
            f'height="{row_h - 8}" fill="{color}">'
            f"<title>{escape(name)}: {value:,.2f}</title></rect>"
        )
        parts.append(
            f'<text x="{label_w + length + 6:.1f}" y="{y + 16}" class="value">'
            f"{value:,.2f}{factor}</text>"
        )
    parts.append("</svg>")
    return "".join(parts)
