"""report.html: one self-contained page (inline CSS and SVG) that opens offline.

The charts are SVG drawn in Python; the only script is a few lines that count
the series the browser actually laid out (``data-rendered-series`` on
``<body>``), which the browser test reads.
"""

from __future__ import annotations

from html import escape

from quotalab.report.projection_text import projection_lines
from quotalab.report.svg import bar_chart, downsample, line_chart
from quotalab.report.table import COLUMNS, failure_lines, headline, projection_note, rows
from quotalab.report.values import Report, StrategyFigures

METRICS: tuple[tuple[str, str, str], ...] = (
    ("token_requests_per_s", "token requests/s", "#d9480f"),
    ("throttled_per_s", "throttled/s", "#c2255c"),
    ("api_ok_per_s", "API successes/s", "#2b8a3e"),
)

STYLE = """
body{font-family:system-ui,sans-serif;margin:2rem;color:#222;max-width:1200px}
table{border-collapse:collapse;font-size:.85rem}
th,td{border:1px solid #ccc;padding:.25rem .5rem;text-align:right}
th:first-child,td:first-child{text-align:left}
.charts{display:flex;flex-wrap:wrap;gap:.75rem}
svg .title{font-size:12px;font-weight:600}
svg .tick,svg .value,svg .label,svg .empty{font-size:10px;fill:#555}
svg .axis{stroke:#999;stroke-width:1}
.verdict{font-size:1.1rem;font-weight:600}
.note{color:#555;font-size:.9rem}
"""

# Counts the chart marks the browser laid out; viewing the report does not need it.
RENDER_CHECK = """
(function(){
  function drawn(selector){
    var n=0;
    document.querySelectorAll(selector).forEach(function(el){
      var box=el.getBBox(); if(box.width>0||box.height>0){n++;}
    });
    return n;
  }
  document.body.setAttribute('data-rendered-series', String(drawn('svg path.series')));
  document.body.setAttribute('data-rendered-bars', String(drawn('svg rect.bar')));
})();
"""


def _table(report: Report) -> str:
    head = "".join(f"<th>{escape(c.heading)}</th>" for c in COLUMNS)
    body = "".join(
        f"<tr><td>{escape(name)}</td>" + "".join(f"<td>{escape(v)}</td>" for v in cells) + "</tr>"
        for name, cells in rows(report)
    )
    return f"<table><thead><tr><th>strategy</th>{head}</tr></thead><tbody>{body}</tbody></table>"


def _values(figures: StrategyFigures) -> dict[str, tuple[float, ...]]:
    series = figures.series
    return {
        "token_requests_per_s": series.token_requests_per_s,
        "throttled_per_s": series.throttled_per_s,
        "api_ok_per_s": series.api_ok_per_s,
    }


def _projection_list(report: Report) -> str:
    lines = projection_lines(report)
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f'<ul class="note projections">{items}</ul>'


def _strategy_charts(report: Report) -> str:
    """Each strategy's charts; one y scale per metric, shared by every strategy."""
    tops = {
        key: max(
            (max(downsample(_values(f)[key]), default=0.0) for f in report.strategies.values()),
            default=0.0,
        )
        for key, _, _ in METRICS
    }
    sections = []
    for name, figures in report.strategies.items():
        values = _values(figures)
        charts = "".join(
            line_chart(
                values[key],
                title=title,
                series=key,
                color=color,
                bucket_s=figures.series.bucket_s,
                top=tops[key],
            )
            for key, title, color in METRICS
        )
        sections.append(
            f'<section class="strategy"><h3>{escape(name)}</h3>'
            f'<div class="charts">{charts}</div></section>'
        )
    return "".join(sections)


def _failures(report: Report) -> str:
    lines = failure_lines(report)
    if not lines:
        return ""
    items = "".join(f"<li>{escape(line)}</li>" for line in lines)
    return f"<h2>Failed calls</h2><ul>{items}</ul>"


def _settings(report: Report) -> str:
    meta = report.meta
    items = [("generated at", meta.generated_at), ("mode", meta.mode), ("profile", meta.profile)]
    items += [(key, str(meta.settings[key])) for key in sorted(meta.settings)]
    return "<ul>" + "".join(f"<li>{escape(k)}: {escape(v)}</li>" for k, v in items) + "</ul>"


def render_html(report: Report) -> str:
    """The whole report.html text; every piece of text from the run is escaped."""
    bars = bar_chart(
        [(name, f.token_requests_per_1k_calls) for name, f in report.strategies.items()],
        title="token requests per 1,000 API calls",
        color="#1c7ed6",
    )
    return (
        "<!DOCTYPE html>\n"
        '<html lang="en"><head><meta charset="utf-8">'
        f"<title>quotalab report: {escape(report.meta.scenario)}</title>"
        f"<style>{STYLE}</style></head><body>"
        f"<h1>quotalab report: {escape(report.meta.scenario)}</h1>"
        f"<p>{escape(headline(report))}</p>"
        f'<p class="verdict">{escape(report.verdict)}</p>'
        f"{_table(report)}"
        f"{_failures(report)}"
        f'<p class="note">{escape(projection_note(report))}</p>'
        f"{_projection_list(report)}"
        f"<h2>Token requests per 1,000 API calls</h2>{bars}"
        "<h2>Over time</h2>"
        '<p class="note">Each metric has one y scale shared by every strategy, so '
        "heights compare across strategies.</p>"
        f"{_strategy_charts(report)}"
        f"<h2>Settings</h2>{_settings(report)}"
        f"<script>{RENDER_CHECK}</script>"
        "</body></html>\n"
    )
