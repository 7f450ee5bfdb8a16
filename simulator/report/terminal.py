"""The comparison table and verdict on a rich Console."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from simulator.report.model import Report
from simulator.report.table import COMPACT_COLUMNS, headline, rows


def render_terminal(report: Report, console: Console) -> None:
    """Print the comparison table (report.md's key columns) and the verdict."""
    table = Table(title=escape(headline(report)), title_justify="left")
    table.add_column("strategy", no_wrap=True)
    for column in COMPACT_COLUMNS:
        table.add_column(column.heading, justify="right")
    for name, cells in rows(report, COMPACT_COLUMNS):
        table.add_row(escape(name), *cells)
    console.print(table)
    console.print(f"[bold]Verdict:[/bold] {escape(report.verdict)}")
