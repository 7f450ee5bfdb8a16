"""A finished comparison run as a quota report (report.json / .md / .html)."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from quotalab.clock import Clock
from quotalab.report import (
    Report,
    ReportPaths,
    RunMeta,
    StrategyMeasurements,
    build_report,
    generated_at,
    point_latest,
    run_directory,
    write_report,
)
from quotalab.report.counted import failures_of, measurements_from_counts
from quotalab.report.day_projection import Agreement, IssuanceObservation, project_day
from quotalab.run.live_measurements import Figures
from quotalab.run.orchestrate import RunResult
from quotalab.run.settings import RunSettings


@dataclass(frozen=True, slots=True)
class WrittenReport:
    """The report and where its files went."""

    report: Report
    paths: ReportPaths


def measurements_of(
    figures: Figures,
    observation: IssuanceObservation | None = None,
    simulated: Agreement | None = None,
) -> StrategyMeasurements:
    """The report's raw measurements of one strategy, with its day's projection rule."""
    measured = measurements_from_counts(
        figures.counts,
        duration_s=figures.duration_s,
        latency_histogram_ms=figures.latency_histogram,
        series=figures.series,
        failures=failures_of(figures.counts, figures.throttled_flows, figures.first_messages),
    )
    day = None if observation is None else project_day(observation)
    return dataclasses.replace(measured, day=day, simulated=simulated)


def meta_of(settings: RunSettings, clock: Clock) -> RunMeta:
    """Which settings produced the run, recorded in the report."""
    return RunMeta(
        mode="live",
        profile=settings.profile,
        scenario=settings.scenario.name,
        generated_at=generated_at(clock),
        settings={
            "strategies": ",".join(settings.strategies),
            "users": settings.users,
            "rate_per_user": settings.rate,
            "duration_s": settings.duration_s,
            "processes": settings.processes,
            "workers": None if settings.master is None else settings.master.expect_workers,
            "target": settings.target,
            "tls": settings.tls,  # the local mock over HTTPS (a throwaway CA)
            "config": None if settings.config is None else str(settings.config),
            "load_generator": "locust",
            "token_lifetime_s": settings.token_lifetime_s or settings.scenario.token_lifetime_s,
            "simulated_day": settings.simulate,
        },
    )


def report_of(
    result: RunResult, clock: Clock, simulated: Mapping[str, Agreement] | None = None
) -> Report:
    """Build the report of ``result`` (strategies in the order they ran)."""
    agreements = simulated or {}
    measured = {
        figures.strategy: measurements_of(
            figures,
            result.observations.get(figures.strategy),
            agreements.get(figures.strategy),
        )
        for figures in result.figures
    }
    return build_report(meta_of(result.settings, clock), measured, result.plan)


def new_run_directory(settings: RunSettings, clock: Clock) -> Path:
    """``<out>/<timestamp>-<scenario>/``, created."""
    return run_directory(settings.out_dir, settings.scenario.name, clock)


def write_run_report(
    result: RunResult,
    run_dir: Path,
    clock: Clock,
    simulated: Mapping[str, Agreement] | None = None,
) -> WrittenReport:
    """Write the report into ``run_dir`` and point ``latest`` at it."""
    report = report_of(result, clock, simulated)
    paths = write_report(report, run_dir)
    point_latest(run_dir)
    return WrittenReport(report, paths)
