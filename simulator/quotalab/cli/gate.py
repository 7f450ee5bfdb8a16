"""``quotalab gate``: fail a CI build when a report breaks its thresholds or regresses."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from quotalab.cli.entry import app
from quotalab.errors import InputError
from quotalab.gate import echo_results, gate_files, parse_figure_tolerance

DEFAULT_TOLERANCE = 0.1


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
        float | None,
        typer.Option("--tolerance", help="Relative worsening allowed against the baseline (0.1)."),
    ] = None,
    figure_tolerance: Annotated[
        list[str] | None,
        typer.Option(
            "--figure-tolerance",
            help="FIGURE=TOLERANCE for one figure (repeatable), e.g. success_ratio=0.01; "
            "also compares a figure not compared by default (p95_ms=0.5).",
        ),
    ] = None,
    compare_latency: Annotated[
        bool,
        typer.Option(
            "--compare-latency", help="Compare p95/p99 latency with the baseline too (noisy)."
        ),
    ] = False,
    junit: Annotated[
        Path | None, typer.Option("--junit", help="Also write the checks as JUnit XML here.")
    ] = None,
) -> None:
    """Check a report against thresholds (and a baseline); exit 1 when any check fails.

    Exit 0: every check holds. 1: a bound or the baseline is violated. 2: an
    input is unusable (missing file, bad TOML, unknown key, other schema).

    Example: quotalab gate reports/latest/report.json --thresholds thresholds.toml
    --baseline main-report.json --tolerance 0.1 --figure-tolerance success_ratio=0.01
    --junit gate.xml
    """
    if baseline is None:
        given = [
            name
            for name, value in (
                ("--tolerance", tolerance is not None),
                ("--figure-tolerance", bool(figure_tolerance)),
                ("--compare-latency", compare_latency),
            )
            if value
        ]
        if given:
            raise InputError(f"{given[0]} needs --baseline (it tunes the baseline comparison)")
    tolerances = dict(parse_figure_tolerance(text) for text in figure_tolerance or ())
    results = gate_files(
        report,
        thresholds,
        baseline=baseline,
        tolerance=DEFAULT_TOLERANCE if tolerance is None else tolerance,
        tolerances=tolerances,
        compare_latency=compare_latency,
        junit=junit,
    )
    if echo_results(results, typer.echo):
        raise typer.Exit(1)
