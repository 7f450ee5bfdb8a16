"""``quotalab gate``: fail a CI build when a report breaks its thresholds or regresses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from simulator.cli.app import app
from simulator.errors import InputError
from simulator.gate import check_thresholds, compare_baseline, junit_xml, load_thresholds
from simulator.report import load_report


@app.command()
def gate(
    report: Annotated[Path, typer.Argument(help="The run's report.json.")],
    thresholds: Annotated[
        Path, typer.Option("--thresholds", help="TOML file of per-strategy bounds.")
    ],
    baseline: Annotated[
        Path | None, typer.Option("--baseline", help="An earlier report.json to compare with.")
    ] = None,
    tolerance: Annotated[
        float, typer.Option("--tolerance", help="Relative worsening allowed against the baseline.")
    ] = 0.1,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write the checks as JUnit XML here.")
    ] = None,
) -> None:
    """Check a report against thresholds (and a baseline); exit 1 when any check fails.

    Exit 0: every check holds. 1: a bound or the baseline is violated. 2: an
    input is unusable (missing file, bad TOML, unknown key, other schema).

    Example: quotalab gate reports/latest/report.json --thresholds thresholds.toml
    --baseline main-report.json --tolerance 0.1 --junit gate.xml
    """
    document = load_report(report)
    bounds = load_thresholds(thresholds)
    results = check_thresholds(document, bounds)
    if baseline is not None:
        results += compare_baseline(document, load_report(baseline), tolerance)
    if junit is not None:
        try:
            junit.write_text(junit_xml(results), encoding="utf-8")
        except OSError as error:
            raise InputError(f"{junit}: cannot write JUnit XML ({error.strerror})") from None
    for result in results:
        typer.echo(f"{'ok  ' if result.passed else 'FAIL'} {result.message}")
    failed = sum(1 for result in results if not result.passed)
    typer.echo(f"gate: {len(results)} checks, {failed} failed")
    if failed:
        raise typer.Exit(1)
