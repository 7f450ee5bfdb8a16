"""The comparison table and verdict on a rich Console."""

from __future__ import annotations

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from quotalab.report.table import COMPACT_COLUMNS, headline, projection_note, rows
from quotalab.report.values import Report

MIN_PIPED_WIDTH = 120


def render_terminal(report: Report, console: Console) -> None:
    """Print the comparison table (report.md's key columns) and the verdict."""
    table = Table(title=escape(headline(report)), title_justify="left")
    table.add_column("strategy", no_wrap=True)
    for column in COMPACT_COLUMNS:
        table.add_column(column.heading, justify="right")
    for name, cells in rows(report, COMPACT_COLUMNS):
        table.add_row(escape(name), *cells)
    if not console.is_terminal and console.width < MIN_PIPED_WIDTH:
        # Piped output (CI logs) would otherwise be cut to 80 columns, eliding figures.
        console.width = MIN_PIPED_WIDTH
    console.print(table)
    console.print(f"[bold]Verdict:[/bold] {escape(report.verdict)}")
    console.print(escape(projection_note(report)), style="dim")
