"""Quota reports: measurements in, figures out, rendered as JSON, Markdown, HTML and rich.

Producers build ``StrategyMeasurements`` per strategy and call ``build_report``;
``write_report`` writes report.json/md/html; ``render_terminal`` prints the table.
"""

from quotalab.report.document import (
    SCHEMA_VERSION,
    dumps_report,
    load_report,
    report_schema,
    to_document,
    validate_document,
)
from quotalab.report.figures import build_report
from quotalab.report.html import render_html
from quotalab.report.markdown import render_markdown
from quotalab.report.output import (
    ReportPaths,
    generated_at,
    point_latest,
    run_directory,
    write_report,
)
from quotalab.report.terminal import render_terminal
from quotalab.report.values import (
    ChartSeries,
    FailedCalls,
    LatencyPercentiles,
    Projection,
    QuotaPlan,
    Report,
    RunMeta,
    StrategyFigures,
    StrategyMeasurements,
    TimeSeries,
)

__all__ = [
    "SCHEMA_VERSION",
    "ChartSeries",
    "FailedCalls",
    "LatencyPercentiles",
    "Projection",
    "QuotaPlan",
    "Report",
    "ReportPaths",
    "RunMeta",
    "StrategyFigures",
    "StrategyMeasurements",
    "TimeSeries",
    "build_report",
    "dumps_report",
    "generated_at",
    "load_report",
    "point_latest",
    "render_html",
    "render_markdown",
    "render_terminal",
    "report_schema",
    "run_directory",
    "to_document",
    "validate_document",
    "write_report",
]
