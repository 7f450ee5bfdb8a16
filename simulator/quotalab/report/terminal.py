"""The comparison table and verdict on a rich Console.

Names come from users (``--strategies my.module:factory:``): every piece of
run text is a ``Text``, never markup, so nothing turns into an emoji or a style.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from quotalab.report.projection_text import projection_lines
from quotalab.report.table import COMPACT_COLUMNS, failure_lines, headline, projection_note, rows
from quotalab.report.values import Report

MIN_PIPED_WIDTH = 120


def comparison_table(report: Report) -> Table:
    """The compact table; a figure column is never narrower than its widest figure."""
    table = Table(title=Text(headline(report)), title_justify="left", collapse_padding=True)
    # A built-in name stays whole (headings wrap first); a long own name folds.
    names = min(max((len(name) for name in report.strategies), default=8), 16)
    table.add_column("strategy", overflow="fold", min_width=names)
    simulated = any(f.projection.simulated for f in report.strategies.values())
    columns = tuple(c for c in COMPACT_COLUMNS if simulated or c.heading != "sim/day")
    body = rows(report, columns)
    for i, column in enumerate(columns):
        widest = max((len(cells[i]) for _, cells in body), default=1)
        table.add_column(
            column.heading, justify="right", min_width=widest, no_wrap=False, overflow="fold"
        )
    for name, cells in body:
        table.add_row(Text(name), *(Text(cell) for cell in cells))
    return table


def render_terminal(report: Report, console: Console) -> None:
    """Print the comparison table (report.md's key columns), failures and the verdict."""
    if not console.is_terminal and console.width < MIN_PIPED_WIDTH:
        # Piped output (CI logs) would otherwise be squeezed to 80 columns.
        console.width = MIN_PIPED_WIDTH
    console.print(comparison_table(report))
    failures = failure_lines(report)
    if failures:
        console.print(Text("Failed calls:", style="bold"))
        for line in failures:
            console.print(Text("  " + line))
    console.print(Text.assemble(("Verdict: ", "bold"), report.verdict))
    console.print(Text(projection_note(report), style="dim"))
    for line in projection_lines(report):
        console.print(Text("  " + line, style="dim"))
